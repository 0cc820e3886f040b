"""jaxml.models.loop_buffers: loop output buffers without a memset on the CPU, zeros where that is unavailable."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.models import loop_buffers
from jaxml.models.loop_buffers import unfilled_buffers, unfilled_buffers_available

T, B, H = 7, 3, 5


def _fill_rows(x_TxBxH, alloc):
    """Writes row t of two (T, B, H) buffers at step t (x and 2x): every element is written once."""
    bufs = alloc([jax.ShapeDtypeStruct((T, B, H), jnp.float32)] * 2, x_TxBxH)

    def step(t, bufs):
        row = jax.lax.dynamic_index_in_dim(x_TxBxH, t, 0, keepdims=False)
        return tuple(jax.lax.dynamic_update_index_in_dim(a, row * (k + 1), t, 0) for k, a in enumerate(bufs))

    return jax.lax.fori_loop(0, T, step, tuple(bufs))


def _zeros(structs, after):
    return [jnp.zeros(s.shape, s.dtype) for s in structs]


X = jnp.asarray(np.random.default_rng(0).normal(size=(T, B, H)), jnp.float32)


def test_the_cpu_allocation_is_available_with_this_jaxlib():
    # If a jaxlib upgrade makes this False, the LSTM silently falls back to zero-filled buffers (slower): this test
    # is what notices.
    assert jax.default_backend() == "cpu"
    assert unfilled_buffers_available()


def test_filled_buffers_equal_the_zero_started_ones_and_no_memset_is_compiled():
    got = jax.jit(lambda x: _fill_rows(x, unfilled_buffers))(X)
    np.testing.assert_array_equal(got[0], X)
    np.testing.assert_array_equal(got[1], 2 * X)
    hlo = jax.jit(lambda x: _fill_rows(x, unfilled_buffers)).lower(X).compile().as_text()
    control = jax.jit(lambda x: _fill_rows(x, _zeros)).lower(X).compile().as_text()
    shape = f"f32[{T},{B},{H}]"
    assert 'custom_call_target="dce_sink"' in hlo
    # The zero-started control broadcasts a zero into a (T, B, H) buffer; the unfilled one does not.
    assert any(shape in line and "broadcast" in line for line in control.splitlines())
    assert not any(shape in line and "broadcast" in line for line in hlo.splitlines())


def test_inside_an_outer_loop_the_buffers_are_neither_hoisted_nor_copied():
    def outer(x):
        def body(carry, _):
            a, b = _fill_rows(x + carry, unfilled_buffers)
            return carry + a.sum() + b.sum(), None

        return jax.lax.scan(body, 0.0, None, length=3)[0]

    hlo = jax.jit(outer).lower(X).compile().as_text()
    assert not any(f"f32[{T},{B},{H}]" in line and " copy(" in line for line in hlo.splitlines())
    want = jax.jit(lambda x: jax.lax.scan(lambda c, _: (c + 3 * (x + c).sum(), None), 0.0, None, length=3)[0])(X)
    np.testing.assert_allclose(jax.jit(outer)(X), want, rtol=1e-5)


def test_vmap_and_remat_keep_working():
    per_row = jax.vmap(lambda x: _fill_rows(x, unfilled_buffers)[1])(jnp.stack([X, -X]))
    np.testing.assert_array_equal(per_row, jnp.stack([2 * X, -2 * X]))
    grad = jax.grad(jax.checkpoint(lambda x: jnp.sum(_fill_rows(x, unfilled_buffers)[1] ** 2)))(X)
    np.testing.assert_allclose(grad, 8 * X, rtol=1e-6)


def test_falls_back_to_zeros_when_the_target_is_unusable(monkeypatch):
    monkeypatch.setattr(loop_buffers, "unfilled_buffers_available", lambda: False)
    a, b = unfilled_buffers([jax.ShapeDtypeStruct((2, 3), jnp.float32), jax.ShapeDtypeStruct((4,), jnp.int32)],
                            jnp.ones(()))
    np.testing.assert_array_equal(a, np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(b, np.zeros((4,), np.int32))


def test_a_failing_probe_means_unavailable_and_says_so(monkeypatch, caplog):
    loop_buffers.unfilled_buffers_available.cache_clear()
    monkeypatch.setattr(loop_buffers, "_TARGET", "jaxml_no_such_target")
    try:
        assert not loop_buffers.unfilled_buffers_available()
        assert "jaxml_no_such_target" in caplog.text and "zeros" in caplog.text
    finally:
        loop_buffers.unfilled_buffers_available.cache_clear()
