"""Mini-CNN study: hand-derived gradients equal jax.grad; the tiny preset runs end to end."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import mini_cnn_gradients as study
from jaxml.study.config import ConfigError

N_CHECK = study.get_config("tiny").n_check    # the tiny preset's size: its compiled check is reused
DTYPES = {"float64": jnp.float64, "float32": jnp.float32}


# First: the end-to-end run compiles the gradient check that the unit tests below reuse.
def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    assert summary["gradcheck"]["float64"]["max_abs_diff"] < 1e-6
    assert summary["train"]["trajectory_max_diff"] < 1e-5
    cfg = study.get_config("tiny")
    assert len(summary["train"]["weights"]) == len(cfg.seeds)
    for name in ("results.md", "summary.json", "gradcheck/hand_vs_autodiff.png", "train/loss.png",
                 "train/metrics.jsonl"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    assert "## Gradient check" in text and "## SGD on a toy set" in text


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hand_gradients_equal_jax_grad(dtype):
    with jax.enable_x64(dtype == "float64"):
        hand, auto, stats = study.gradient_differences(jax.random.PRNGKey(1), N_CHECK, DTYPES[dtype])
    assert hand.dtype == np.dtype(dtype) and hand.shape == (N_CHECK, 4)
    # Both ReLU regimes occur (some components exactly zero, most not), so the check covers H(a).
    assert 0.05 < stats["fraction_dead_pairs"] < 0.9
    tol = 1e-6 if dtype == "float64" else 1e-6 * (1.0 + np.abs(auto))
    assert np.all(np.abs(hand - auto) <= tol)
    # The check can fail: a wrong sign in the common factor is caught.
    assert np.abs(-hand - auto).max() > 1e-2


def test_hand_gradients_of_a_batch_match_grad_of_the_mean_loss():
    with jax.enable_x64(True):
        rng = np.random.default_rng(3)
        x = jnp.asarray(rng.standard_normal((20, 3)))
        y = jnp.asarray(np.where(rng.random(20) > 0.5, 1.0, -1.0))
        w, v = jnp.asarray(rng.standard_normal(2)), jnp.asarray(rng.standard_normal(2))
        dw, dv = jax.jit(study.hand_gradients)(w, v, x, y)

        def mean_loss(w, v):
            return study.logistic_loss(study.MODEL.apply({"params": study.mini_cnn_params(w, v)}, x), y).mean()

        gw, gv = jax.jit(jax.grad(mean_loss, argnums=(0, 1)))(w, v)
        np.testing.assert_allclose(np.asarray(dw.mean(0)), np.asarray(gw), atol=1e-12)
        np.testing.assert_allclose(np.asarray(dv.mean(0)), np.asarray(gv), atol=1e-12)


def test_hand_step_updates_like_the_jax_grad_step_and_ignores_padding():
    """One step of ``hand_step`` on a batch with two padded rows equals the default (jax.grad) step."""
    from jaxml.train import create_state, make_optimizer, make_train_step

    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    y = np.where(rng.random(6) > 0.5, 1.0, -1.0).astype(np.float32)
    x[4:] = 100.0                                           # padding rows: huge, must not count
    batch = {"x": jnp.asarray(x), "y": jnp.asarray(y), "mask": jnp.array([1, 1, 1, 1, 0, 0], jnp.float32)}
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.5})
    state = create_state(study.MODEL, tx, jax.random.key(0), x[:1])
    by_hand, m_hand = jax.jit(study.hand_step)(state, batch, jax.random.key(1))
    by_grad, m_grad = jax.jit(make_train_step(study.per_example_loss))(state, batch, jax.random.key(1))
    for a, b in zip(study.mini_cnn_weights(by_hand.params), study.mini_cnn_weights(by_grad.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert not np.allclose(np.asarray(study.mini_cnn_weights(by_hand.params)[0]),
                           np.asarray(study.mini_cnn_weights(state.params)[0]))   # the step moved w
    assert {k: float(v) for k, v in m_hand.items()} == pytest.approx({k: float(v) for k, v in m_grad.items()})
    assert float(m_hand["count"]) == 4.0


def test_invalid_config_is_named(run_tiny):
    with pytest.raises(ConfigError, match="batch_size"):
        run_tiny(study, "--config.batch_size=1000")
    with pytest.raises(ConfigError, match="teacher_w"):
        run_tiny(study, "--config.teacher_w=(1.0,2.0,3.0)")
