"""The LSTM's hand-written backward pass (jaxml.models.lstm_scan) against jax.grad through the plain scan.

The plain ("autodiff") path is itself checked against flax's LSTMCell in test_rnn.py.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.lstm_scan import LSTM_IMPLS, choose_lstm_impl, lstm_scan
from jaxml.models.rnn import Recurrent, SequenceClassifier

CONFIGS = [dict(return_sequences=False), dict(return_sequences=True),
           dict(return_sequences=False, dropout=0.25, recurrent_dropout=0.4),
           dict(return_sequences=True, recurrent_dropout=0.4, unroll=2)]


def _loss(layer, params, x, key):
    y = layer.apply({"params": params}, x, train=True, rngs={"dropout": key})
    weights = jnp.cos(jnp.arange(y.size, dtype=y.dtype)).reshape(y.shape)  # every output matters, unequally
    return jnp.sum(y * weights)


@jax.jit
def _both_impls(params, x, key):
    """value and gradients (params, x) of each config under each implementation: one compile."""
    out = []
    for cfg in CONFIGS:
        for impl in ("autodiff", "custom_vjp"):
            layer = Recurrent("lstm", 4, lstm_impl=impl, **cfg)
            out.append(jax.value_and_grad(lambda p, x, layer=layer: _loss(layer, p, x, key), argnums=(0, 1))(params, x))
    return out


@pytest.mark.parametrize("steps", [6, 9])
def test_custom_vjp_matches_autodiff_values_and_gradients(steps, monkeypatch):
    from jaxml.models import lstm_scan as lstm_scan_module

    # From 8 steps on (lowered from PHASED_FROM_T for this test) the backward runs in two phases: [4, 9), [0, 4).
    monkeypatch.setattr(lstm_scan_module, "PHASED_FROM_T", 8)
    assert [len(lstm_scan_module._backward_phases(n)) for n in (6, 9)] == [1, 2]
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(3, steps, 2)), jnp.float32)
    shapes = jax.eval_shape(Recurrent("lstm", 4).init, jax.random.PRNGKey(0), x)["params"]
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(0.6 * rng.normal(size=a.shape), jnp.float32), shapes)
    results = _both_impls(params, x, jax.random.PRNGKey(5))
    for i, cfg in enumerate(CONFIGS):
        (v_ref, g_ref), (v, g) = results[2 * i], results[2 * i + 1]
        np.testing.assert_allclose(v, v_ref, rtol=1e-5, atol=1e-6, err_msg=str(cfg))
        for name in ("kernel", "recurrent_kernel", "bias"):
            np.testing.assert_allclose(g[0][name], g_ref[0][name], rtol=1e-4, atol=1e-6, err_msg=f"{cfg} {name}")
            assert float(jnp.max(jnp.abs(g_ref[0][name]))) > 1e-3  # the comparison is not between zeros
        np.testing.assert_allclose(g[1], g_ref[1], rtol=1e-4, atol=1e-6, err_msg=f"{cfg} d x")


def test_auto_picks_custom_vjp_on_cpu_and_gpu_and_names_bad_choices(monkeypatch):
    from jaxml.models import lstm_scan as lstm_scan_module

    for backend, want in (("cpu", "custom_vjp"), ("gpu", "custom_vjp"), ("tpu", "autodiff")):
        monkeypatch.setattr(lstm_scan_module.jax, "default_backend", lambda b=backend: b)
        assert choose_lstm_impl("auto") == want, backend
    monkeypatch.undo()
    assert [choose_lstm_impl(i) for i in LSTM_IMPLS[1:]] == ["autodiff", "custom_vjp"]
    with pytest.raises(ValueError, match="unknown LSTM implementation 'fast'.*autodiff"):
        jax.eval_shape(Recurrent("lstm", 4, lstm_impl="fast").init, jax.random.PRNGKey(0), jnp.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="unknown LSTM implementation"):
        SequenceClassifier(50, lstm_impl="cudnn").init(jax.random.PRNGKey(0), jnp.ones((1, 4), jnp.int32))


def test_lstm_scan_names_bad_shapes_and_dtypes():
    x, k, b, r = jnp.ones((5, 2, 3)), jnp.ones((3, 16)), jnp.ones(16), jnp.ones((4, 16))
    assert lstm_scan(x, k, b, r).shape == (2, 4)
    assert lstm_scan(x, k, b, r, return_sequences=True).shape == (5, 2, 4)
    with pytest.raises(ValueError, match=r"expects x of shape \(T, B, D\)"):
        lstm_scan(x[0], k, b, r)
    with pytest.raises(ValueError, match=r"expected \(H, 4H\)"):
        lstm_scan(x, k, b, jnp.ones((4, 12)))
    with pytest.raises(ValueError, match=r"kernel \(2, 16\) and bias \(16,\) do not match"):
        lstm_scan(x, jnp.ones((2, 16)), b, r)
    with pytest.raises(ValueError, match=r"rmask shape \(2, 3\), expected \(2, 4\)"):
        lstm_scan(x, k, b, r, jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="share one dtype"):
        lstm_scan(x.astype(jnp.bfloat16), k, b, r)


def test_bfloat16_layer_trains_on_the_custom_path():
    """dtype=bfloat16 computes in bfloat16; gradients keep the float32 parameters' dtype and agree
    with the float32 layer's to bfloat16 precision."""
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(2, 5, 3)), jnp.float32)
    f32, bf16 = Recurrent("lstm", 4, lstm_impl="custom_vjp"), Recurrent("lstm", 4, lstm_impl="custom_vjp",
                                                                         dtype=jnp.bfloat16)
    params = f32.init(jax.random.PRNGKey(0), x)["params"]
    grads = jax.jit(lambda p: [jax.grad(lambda p, m=m: jnp.sum(m.apply({"params": p}, x).astype(jnp.float32) ** 2))(p)
                               for m in (f32, bf16)])(params)
    for name in ("kernel", "recurrent_kernel", "bias"):
        assert grads[1][name].dtype == jnp.float32
        np.testing.assert_allclose(grads[1][name], grads[0][name], rtol=0.1, atol=0.02)


def test_the_loops_outputs_are_not_zero_filled_on_cpu():
    """The forward's five (T, B, H) outputs and the backward's (T, B, 4H) dz come from one unfilled allocation
    (jaxml.models.loop_buffers): the compiled gradient broadcasts no zero into a buffer of those shapes."""
    t, b, d, h = 9, 3, 2, 4
    args = (jnp.ones((t, b, d)), jnp.full((d, 4 * h), 0.1), jnp.zeros(4 * h), jnp.full((h, 4 * h), 0.1))
    grad = jax.jit(jax.grad(lambda *a: lstm_scan(*a).sum(), argnums=(0, 1, 2, 3)))
    lines = grad.lower(*args).compile().as_text().splitlines()
    assert sum('custom_call_target="dce_sink"' in line for line in lines) == 1
    for shape in (f"f32[{t},{b},{h}]", f"f32[{t},{b},{4 * h}]"):
        assert not any(shape in line and "broadcast(" in line for line in lines), shape


@pytest.mark.parametrize("phased", [False, True])
def test_gates_and_gate_gradients_are_computed_by_the_kernels_that_write_them(phased, monkeypatch):
    """The forward computes the gates in the kernels that write them (no tanh over a whole (B, 4H) row), and the
    backward writes the four dz blocks into their row one by one (no concatenation into a (B, 4H) row). The
    optimization barriers in lstm_scan keep XLA from restoring either: the code before them fails this."""
    from jaxml.models import lstm_scan as lstm_scan_module

    monkeypatch.setattr(lstm_scan_module, "PHASED_FROM_T", 8 if phased else 64)
    t, b, d, h = 9, 3, 2, 4
    args = (jnp.ones((t, b, d)), jnp.full((d, 4 * h), 0.1), jnp.zeros(4 * h), jnp.full((h, 4 * h), 0.1))
    grad = jax.jit(jax.grad(lambda *a: lstm_scan(*a).sum(), argnums=(0, 1, 2, 3)))
    lines = grad.lower(*args).compile().as_text().splitlines()
    row = f"= f32[{b},{4 * h}]"
    assert sum(row in line and " tanh(" in line for line in lines) == 0
    assert sum(row in line and " concatenate(" in line for line in lines) == 0
    assert sum(f"= f32[{b},{h}]" in line and " tanh(" in line for line in lines) >= 4  # g's tanh, 3 sigmoids
