"""A new objective is a new step handed to the one driver: a denoising autoencoder trained through the
public `fit`, seeds vmapped, interrupted and resumed, equal to the uninterrupted run."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.train import fit, make_runs


class AutoEncoder(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        return nn.Dense(6)(nn.tanh(nn.Dense(3)(x)))


def denoise_step(state, batch, rng):
    """Reconstruct x from x + noise; sums over the real (unmasked) rows."""
    x, mask = batch["x"], batch["mask"]
    noisy = x + 0.3 * jax.random.normal(rng, x.shape)
    def loss(params):
        err_B = jnp.mean((state.apply_fn({"params": params}, noisy) - x) ** 2, axis=-1)
        return jnp.sum(err_B * mask) / jnp.maximum(jnp.sum(mask), 1.0), err_B
    grads, err_B = jax.grad(loss, has_aux=True)(state.params)
    return state.apply_gradients(grads=grads), {"mse_sum": jnp.sum(err_B * mask), "count": jnp.sum(mask)}


def clean_eval(state, batch):
    err_B = jnp.mean((state.apply_fn({"params": state.params}, batch["x"]) - batch["x"]) ** 2, axis=-1)
    return {"mse_sum": jnp.sum(err_B * batch["mask"]), "count": jnp.sum(batch["mask"])}


def test_denoising_objective_with_vmapped_seeds_and_resume(tmp_path):
    x = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32) @ np.ones((6, 6), np.float32) / 3
    runs = make_runs(AutoEncoder(), optax.adam(1e-2), x[:1], seeds=[0, 1])
    kw = dict(batch_size=32, train_step=denoise_step, eval_step=clean_eval, eval_sets={"val": {"x": x[:20]}},
              progress=False)
    whole = fit(runs, {"x": x}, epochs=4, **kw)
    val_mse = whole.curve("val_mse")
    assert val_mse.shape == (2, 4) and (val_mse[:, -1] < 0.7 * val_mse[:, 0]).all()
    fit(runs, {"x": x}, epochs=2, workdir=tmp_path, **kw)
    resumed = fit(runs, {"x": x}, epochs=4, workdir=tmp_path, **kw)
    assert resumed.resumed_from == 2
    np.testing.assert_array_equal(resumed.curve("train_mse"), whole.curve("train_mse"))
