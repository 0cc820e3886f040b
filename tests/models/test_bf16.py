"""Every model family passes ``jaxml.testing.assert_model_contract`` (one parametrized test, tiny shapes),
whose bfloat16 clause is checked here with jaxml's convention: bfloat16 computation (``dtype=jnp.bfloat16``)
agrees with float32 on the same parameters, keeps its parameters float32 and returns float32 outputs.

Tolerance: bfloat16 keeps 8 significant bits (unit roundoff 2^-8 ≈ 0.004 per operation), and
these tiny models chain up to ~10 rounded operations (matmuls with sums of <= 64 terms, norms,
softmax). We compare the worst element relative to the output's scale:
``max|y_bf16 - y_f32| <= TOL * max(SCALE_FLOOR, max|y_f32|)`` with ``TOL = 0.05`` (about 6 bf16 ulps of 1.0):
7x the largest measured error (0.0005-0.007 on 2026-12-03, printed with ``-s``) and far below what
a wrong computation gives (errors of order 1). Outputs smaller than ``SCALE_FLOOR`` = 0.1 are
compared on that absolute scale. Each case also checks that the bfloat16 output is NOT identical to
the float32 one, i.e. the computation really ran in bfloat16.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.bert import Bert, BertConfig
from jaxml.models.cnn import mnist_cnn
from jaxml.models.gan import Discriminator, Generator, make_gan
from jaxml.models.gpt2 import GPT2, GPT2Config
from jaxml.models.mini_cnn import MiniCNN
from jaxml.models.mlp import MLP
from jaxml.models.resnet import ResNet
from jaxml.models.rl_heads import LogisticPolicy
from jaxml.models.rnn import SequenceClassifier
from jaxml.models.transformer import GPT
from jaxml.models.trigram import TrigramMLP
from jaxml.models.vae import VAE
from jaxml.testing import assert_model_contract

TOL = 0.05
SCALE_FLOOR = 0.1  # outputs smaller than this are compared on an absolute scale of 0.1
BF16 = jnp.bfloat16


def _x(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def _tokens(shape, vocab, seed=0):
    return jnp.asarray(np.random.default_rng(seed).integers(0, vocab, shape).astype(np.int32))


def _tanh_images(n):
    return jnp.tanh(_x((n, 28, 28, 1)))


# name -> (make(dtype) -> module, input, extra apply kwargs). Tiny shapes: compile time dominates.
# GPT-2 (``jaxml.models.gpt2``) also has its own bf16 test in tests/models/test_gpt2.py; the RL heads'
# q_network / softmax_policy are the MLP above (their dtype is passed through to it).
CASES = {
    "mlp": (lambda dt: MLP(hidden_sizes=(16,), output_size=3, dtype=dt), _x((4, 5)), {}),
    # Training mode: batch norm on batch statistics, the updated running averages are compared too.
    "mnist_cnn": (lambda dt: mnist_cnn(dropout=0.0, dtype=dt), _x((4, 28, 28, 1)),
                  {"train": True, "mutable": ["batch_stats"]}),
    "mini_cnn": (lambda dt: MiniCNN(dtype=dt), _x((4, 3)), {}),
    "resnet": (lambda dt: ResNet(stage_sizes=(1, 1), width=4, num_classes=3, dtype=dt), _x((2, 4, 4, 3)), {}),
    "rnn_lstm": (lambda dt: SequenceClassifier(vocab_size=13, embed_dim=8, body="lstm", units=(8,), dtype=dt),
                 _tokens((2, 6), 13), {}),
    "rnn_gru": (lambda dt: SequenceClassifier(vocab_size=13, embed_dim=8, body="gru", units=(8,), dtype=dt),
                _tokens((2, 6), 13), {}),
    "gpt_char": (lambda dt: GPT(vocab_size=11, block_size=8, num_layers=1, num_heads=2, embed_dim=16, dtype=dt),
                 _tokens((2, 8), 11), {}),
    "gpt2": (lambda dt: GPT2(GPT2Config(vocab_size=11, n_positions=8, n_embd=16, n_layer=1, n_head=2), dtype=dt),
             _tokens((2, 8), 11), {}),
    "bert": (lambda dt: Bert(BertConfig(vocab_size=17, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                        intermediate_size=32, max_position_embeddings=8), dtype=dt),
             _tokens((2, 8), 17), {}),
    "vae": (lambda dt: VAE(latent_dim=2, hidden=(16,), input_dim=16, dtype=dt), _x((2, 16)), {}),
    "gan_generator": (lambda dt: Generator(latent_dim=4, hidden=(16, 16), dtype=dt), _x((2, 4)), {}),
    "gan_discriminator": (lambda dt: Discriminator(hidden=(16, 16), dropout=0.0, dtype=dt), _tanh_images(2), {}),
    "dcgan_generator": (lambda dt: make_gan("dcgan", latent_dim=4, features=4, dtype=dt)[0], _x((2, 4)), {}),
    "dcgan_discriminator": (lambda dt: make_gan("dcgan", features=4, dropout=0.0, dtype=dt)[1],
                            _tanh_images(2), {}),
    "logistic_policy": (lambda dt: LogisticPolicy(init_std=0.5, dtype=dt), _x((4, 4)), {}),
    "trigram": (lambda dt: TrigramMLP(vocab_size=20, embed_dim=8, hidden=16, init_std=0.5, dtype=dt),
                _tokens((4, 3), 20), {}),
}
RNGS = {"vae": ("dropout", "latent")}


@pytest.mark.parametrize("name", list(CASES))
def test_model_contract(name):
    """Every model family keeps jaxml.testing's model contract (shapes, dtypes, finite outputs, eval mode
    ignores the dropout rng, no retrace, bf16 within TOL of float32 with float32 outputs); its bf16
    forward is really computed in bfloat16 (not identical to float32) and its parameters stay float32."""
    make, x, kw = CASES[name]
    kw = {k: v for k, v in kw.items() if k not in ("train", "mutable")}  # the contract runs both modes
    out = assert_model_contract(make(jnp.float32), x, rngs=RNGS.get(name, ("dropout",)), apply_kwargs=kw,
                                bf16_tol=TOL, bf16_output_dtype=jnp.float32)
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(out.variables)), "params must stay float32"
    pairs = zip(jax.tree.leaves(out.bf16_output), jax.tree.leaves(out.output))
    differs = any(not np.array_equal(a, b) for a, b in pairs)
    assert differs, f"{name}: the bf16 output equals the float32 one exactly: dtype did not reach the computation"


def test_bf16_gradients_are_float32_and_close():
    """A loss through a bf16 MLP: gradients come back float32 (the params' dtype) and near float32's."""
    x, labels = _x((4, 12)), jnp.array([0, 1, 2, 3])

    def loss(params, model, x):
        logits = model.apply({"params": params}, x)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))

    f32 = MLP(hidden_sizes=(32,), output_size=4)
    bf16 = MLP(hidden_sizes=(32,), output_size=4, dtype=BF16)

    @jax.jit
    def grads(x):
        params = f32.init(jax.random.key(0), x)["params"]
        return jax.grad(loss)(params, f32, x), jax.grad(loss)(params, bf16, x)

    g32, g16 = grads(x)
    for a32, a16 in zip(jax.tree.leaves(g32), jax.tree.leaves(g16)):
        assert a16.dtype == jnp.float32
        scale = max(1e-3, float(jnp.abs(a32).max()))
        assert float(jnp.abs(a16 - a32).max()) / scale <= TOL


@pytest.mark.parametrize("name", ["gpt_char", "mnist_cnn"])
def test_bf16_initialises_the_same_float32_parameters(name):
    """``param_dtype`` defaults to float32: a bf16 model's parameter tree equals the float32 model's."""
    make, x, _ = CASES[name]
    spec = lambda m: jax.tree.map(lambda a: (a.shape, a.dtype), jax.eval_shape(m.init, jax.random.key(0), x))  # noqa: E731
    assert spec(make(BF16)) == spec(make(jnp.float32))
