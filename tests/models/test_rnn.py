"""Recurrent layers: the simple RNN vs a numpy loop, fused layers vs flax cells, Keras counts, dropout."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.rnn import Recurrent, SequenceClassifier, init_simple_rnn, simple_rnn


def test_simple_rnn_equals_numpy_step_by_step():
    shapes = jax.eval_shape(lambda k: init_simple_rnn(k, 3, 4, 5), jax.random.PRNGKey(0))
    assert {k: v.shape for k, v in shapes.items()} == {"U": (4, 3), "W": (4, 4), "b": (4,), "V": (5, 4), "c": (5,)}
    rng = np.random.default_rng(0)
    params = {k: jnp.asarray(0.5 * rng.normal(size=v.shape), jnp.float32) for k, v in shapes.items()}
    x = rng.normal(size=(2, 6, 3)).astype(np.float32)
    run = jax.jit(simple_rnn)
    out = run(params, jnp.asarray(x))
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    for b in range(2):
        h = np.zeros(4)  # h_0 = 0
        for t in range(6):
            a = p["b"] + p["W"] @ h + p["U"] @ x[b, t]
            h = np.tanh(a)
            o = p["c"] + p["V"] @ h
            y = np.exp(o - o.max()) / np.exp(o - o.max()).sum()
            np.testing.assert_allclose(out["a"][b, t], a, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out["h"][b, t], h, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out["o"][b, t], o, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out["y_hat"][b, t], y, rtol=1e-5, atol=1e-6)
    # One unbatched sequence gives the same as row 0 of the batch.
    np.testing.assert_allclose(run(params, jnp.asarray(x[0]))["h"], out["h"][0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"x must be \(T, 3\)"):
        simple_rnn(params, jnp.ones((6, 4)))


def _to_flax(cell: str, p: dict, h: int) -> dict:
    """Our fused Keras-layout weights as flax cell parameters (same equations)."""
    k, r = p["kernel"], p["recurrent_kernel"]
    if cell == "simple":
        return {"i": {"kernel": k, "bias": p["bias"]}, "h": {"kernel": r}}
    if cell == "lstm":
        out = {}
        for j, g in enumerate("ifgo"):
            out[f"i{g}"] = {"kernel": k[:, j * h:(j + 1) * h]}
            out[f"h{g}"] = {"kernel": r[:, j * h:(j + 1) * h], "bias": p["bias"][j * h:(j + 1) * h]}
        return out
    # GRU: Keras gate order z, r, h; flax's hr/hz have no bias, so ours must be zero there.
    b_in, b_rec = p["bias"][0], p["bias"][1]
    out = {}
    for j, g in enumerate("zrn"):
        out[f"i{g}"] = {"kernel": k[:, j * h:(j + 1) * h], "bias": b_in[j * h:(j + 1) * h]}
        out[f"h{g}"] = {"kernel": r[:, j * h:(j + 1) * h]}
    out["hn"]["bias"] = b_rec[2 * h:]
    return out


FLAX_CELLS = {"simple": nn.SimpleCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}


@pytest.mark.parametrize("cell", ["simple", "gru", "lstm"])
def test_layers_equal_flax_cells_under_nn_rnn(cell):
    h = 5
    rng = np.random.default_rng(1)  # numpy data and weights: eager jax.random compiles per shape
    x = jnp.asarray(rng.normal(size=(2, 7, 3)), jnp.float32)
    layer = Recurrent(cell, h, return_sequences=True)
    shapes = jax.eval_shape(layer.init, jax.random.PRNGKey(2), x)["params"]
    p = jax.tree_util.tree_map(lambda a: jnp.asarray(0.5 * rng.normal(size=a.shape), jnp.float32), shapes)
    if cell == "gru":  # flax's GRUCell has no recurrent bias for z and r
        p["bias"] = p["bias"].at[1, :2 * h].set(0.0)

    @jax.jit
    def run(p, x):
        ref = nn.RNN(FLAX_CELLS[cell](h)).apply({"params": {"cell": _to_flax(cell, p, h)}}, x)
        return layer.apply({"params": p}, x), Recurrent(cell, h).apply({"params": p}, x), ref

    ours, last, ref = run(p, x)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(last, ours[:, -1], rtol=1e-6)


def test_parameter_counts_equal_keras():
    tokens = jnp.zeros((1, 20), jnp.int32)

    def counts(**kw):
        # Shapes only (no weights are computed): jax.eval_shape traces init abstractly.
        p = jax.eval_shape(SequenceClassifier(10000, 16, **kw).init, jax.random.PRNGKey(0), tokens)["params"]
        return {k: count_params(v) for k, v in p.items()}

    assert counts(body="flatten", units=(32,)) == {"embedding": 160_000, "dense_hidden": 10_272, "output": 33}
    assert counts(body="simple", units=(32,)) == {"embedding": 160_000, "simple_0": 1_568, "output": 33}
    assert counts(body="lstm", units=(32, 32)) == {"embedding": 160_000, "lstm_0": 6_272, "lstm_1": 8_320,
                                                   "output": 33}
    assert counts(body="gru", units=(32,))["gru_0"] == 4_800  # Keras GRU(32), reset_after=True


def test_keras_dropout_one_mask_per_sequence():
    """With identity-like weights, an input feature dropped at one step is dropped at every step."""
    layer = Recurrent("simple", 4, return_sequences=True, dropout=0.5)
    x = jnp.ones((8, 6, 4))
    p = {"kernel": jnp.eye(4), "recurrent_kernel": jnp.zeros((4, 4)), "bias": jnp.zeros(4)}
    y = np.asarray(jax.jit(lambda p, x, k: layer.apply({"params": p}, x, train=True, rngs={"dropout": k}))(
        p, x, jax.random.PRNGKey(0)))
    kept = y[:, 0, :] != 0
    assert 0 < kept.mean() < 1
    for t in range(6):
        np.testing.assert_array_equal(y[:, t, :] != 0, kept)  # same mask at every time step
    np.testing.assert_allclose(y[kept.nonzero()[0], :, :][:, :, :].max(), np.tanh(2.0), rtol=1e-6)  # 1/(1-p)
    # Recurrent dropout: the state feeding W is masked per sequence; none of it in eval mode.
    rec = Recurrent("lstm", 4, dropout=0.2, recurrent_dropout=0.2)
    rng = np.random.default_rng(0)
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(0.5 * rng.normal(size=a.shape), jnp.float32),
                                    jax.eval_shape(rec.init, jax.random.PRNGKey(0), x))

    @jax.jit
    def run(params, x, k1, k2):
        return (rec.apply(params, x, train=True, rngs={"dropout": k1}),
                rec.apply(params, x, train=True, rngs={"dropout": k2}), rec.apply(params, x))

    a, b, ev = run(params, x, jax.random.PRNGKey(1), jax.random.PRNGKey(2))
    assert not np.allclose(a, b) and not np.allclose(a, ev)


def test_bad_inputs_are_named():
    init = lambda m, x: jax.eval_shape(m.init, jax.random.PRNGKey(0), x)  # noqa: E731
    with pytest.raises(ValueError, match="cell must be one of"):
        init(Recurrent("rnn", 4), jnp.ones((1, 2, 3)))
    with pytest.raises(ValueError, match=r"recurrent_dropout must be in \[0, 1\)"):
        init(Recurrent("lstm", 4, recurrent_dropout=1.0), jnp.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="integer tokens"):
        init(SequenceClassifier(10, body="lstm"), jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="body must be one of"):
        init(SequenceClassifier(10, body="cnn"), jnp.ones((1, 2), jnp.int32))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_time_major_layer_and_classifier_equal_batch_major(cell):
    """time_major=True takes (T, B, D) and returns (T, B, H): the batch-major results transposed, the same
    dropout masks included. SequenceClassifier (time-major inside) equals Embed -> batch-major layers -> Dense."""
    rng = np.random.default_rng(3)
    x_BxTxD = jnp.asarray(rng.normal(size=(3, 5, 4)), jnp.float32)
    kw = dict(return_sequences=True, dropout=0.3, recurrent_dropout=0.3)
    bm, tm = Recurrent(cell, 6, **kw), Recurrent(cell, 6, time_major=True, **kw)
    p = jax.tree_util.tree_map(lambda a: jnp.asarray(0.5 * rng.normal(size=a.shape), jnp.float32),
                               jax.eval_shape(bm.init, jax.random.PRNGKey(0), x_BxTxD))
    clf = SequenceClassifier(vocab_size=11, embed_dim=4, body=cell, units=(6, 6), dropout=0.3, recurrent_dropout=0.3)
    tokens = jnp.asarray(rng.integers(0, 11, size=(3, 5)), jnp.int32)
    cp = jax.tree_util.tree_map(lambda a: jnp.asarray(0.5 * rng.normal(size=a.shape), jnp.float32),
                                jax.eval_shape(clf.init, jax.random.PRNGKey(0), tokens))["params"]

    def by_hand(tokens):
        h = jnp.take(cp["embedding"]["embedding"], tokens, axis=0)
        for i in range(2):
            layer = Recurrent(cell, 6, return_sequences=i == 0)
            h = layer.apply({"params": cp[f"{cell}_{i}"]}, h)
        return h @ cp["output"]["kernel"] + cp["output"]["bias"][None, :]

    @jax.jit
    def run(x, k, tokens):
        ys_bm = bm.apply(p, x, train=True, rngs={"dropout": k})
        ys_tm = tm.apply(p, jnp.swapaxes(x, 0, 1), train=True, rngs={"dropout": k})
        return ys_bm, ys_tm, clf.apply({"params": cp}, tokens), by_hand(tokens)

    ys_bm, ys_tm, logits, ref = run(x_BxTxD, jax.random.PRNGKey(4), tokens)
    assert ys_tm.shape == (5, 3, 6)
    np.testing.assert_allclose(ys_tm, jnp.swapaxes(ys_bm, 0, 1), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(logits, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(T, B, D\)"):
        jax.eval_shape(tm.init, jax.random.PRNGKey(0), jnp.ones((2, 3)))
