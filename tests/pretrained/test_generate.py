"""Compiled GPT-2 generation (jaxml.pretrained.generate): the cache is exact, buckets compile once,
EOS and lengths, bad arguments named. (Against transformers' generate: test_hf_parity.py.)"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.gpt2 import GPT2, GPT2Config
from jaxml.models.sampling import SamplingConfigError, TokenIdError
from jaxml.pretrained.generate import make_generate

CFG = GPT2Config(vocab_size=60, n_positions=40, n_embd=32, n_layer=2, n_head=4, eos_token_id=3, bos_token_id=3)


@pytest.fixture(scope="module")
def setup():
    model = GPT2(CFG)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
    params = jax.tree.map(lambda a: a * 8.0 if a.ndim > 1 else a, params)  # peaked distributions
    ids = np.array([[0, 0, 0, 11, 12, 13, 14], [21, 22, 23, 24, 25, 26, 27]], np.int32)
    mask = np.array([[0, 0, 0, 1, 1, 1, 1], [1] * 7], np.int32)
    return model, params, ids, mask, make_generate(model), make_generate(model, use_cache=False)


@pytest.mark.parametrize("sampling", [dict(), dict(do_sample=True, temperature=1.3, top_k=10, top_p=0.95,
                                                   num_return_sequences=2)])
def test_cached_decode_equals_uncached_token_for_token(setup, sampling):
    model, params, ids, mask, cached, uncached = setup
    rng = jax.random.key(7)
    a = cached(params, ids, mask, max_new_tokens=12, eos_token_id=-1 if not sampling else None, rng=rng, **sampling)
    b = uncached(params, ids, mask, max_new_tokens=12, eos_token_id=-1 if not sampling else None, rng=rng, **sampling)
    np.testing.assert_array_equal(a, b)
    assert a.shape[0] == 2 * sampling.get("num_return_sequences", 1)
    np.testing.assert_array_equal(a[::a.shape[0] // 2, :7], ids)
    if sampling:  # different keys give different samples; the two copies of a prompt differ too
        c = cached(params, ids, mask, max_new_tokens=12, rng=jax.random.key(8), **sampling)
        assert not np.array_equal(a, c) and not np.array_equal(a[0], a[1])


def test_one_compile_per_bucket_and_lengths(setup):
    model, params, ids, mask, generate, _ = setup
    n0 = generate.cache_size()
    short = generate(params, ids[:1, 2:], mask[:1, 2:], max_new_tokens=12, eos_token_id=-1)
    long = generate(params, ids[:1], mask[:1], max_new_tokens=12, eos_token_id=-1)
    assert generate.cache_size() == n0 + 1  # prompt lengths 5 and 7 share the 8-token bucket
    np.testing.assert_array_equal(short[:, 5:], long[:, 7:])  # extra left padding changes nothing
    full = generate(params, ids, mask, max_length=19, eos_token_id=-1)  # 7 + 12
    assert full.shape == (2, 19)
    np.testing.assert_array_equal(full[:1], long)  # batched with a longer prompt: the same tokens
    # EOS: a row stops and pads; the whole batch stops when every row has stopped.
    first = int(full[1, 7])
    out = generate(params, ids[1:], mask[1:], max_new_tokens=12, eos_token_id=first, pad_token_id=0)
    np.testing.assert_array_equal(out, np.concatenate([ids[1:], [[first]]], axis=1))
    assert generate.cache_size() <= n0 + 2


def test_bad_arguments_are_named(setup):
    model, params, ids, mask, cached, _ = setup
    bad = ids.copy()
    bad[1, 2] = CFG.vocab_size
    with pytest.raises(TokenIdError, match=r"input_ids must lie in \[0, 60\).*got 60 at index \(1, 2\)"):
        cached(params, bad, mask, max_new_tokens=3)
    masked_bad = ids.copy()
    masked_bad[0, 0] = -5  # under the padding: ignored
    cached(params, masked_bad, mask, max_new_tokens=1)
    for kwargs, match in ((dict(top_k=-1), "top_k must be an integer >= 0.*got -1"),
                          (dict(top_p=0.0), "top_p must be in"), (dict(do_sample=True, temperature=0.0), "temperature"),
                          (dict(num_return_sequences=0), "num_return_sequences"),
                          (dict(max_length=7), "max_length=7 leaves no room")):
        with pytest.raises(SamplingConfigError, match=match):
            cached(params, ids, mask, **{"max_new_tokens": 3, **kwargs} if "max_length" not in kwargs else kwargs)
    with pytest.raises(SamplingConfigError, match="left padding"):
        cached(params, ids, mask[:, ::-1], max_new_tokens=3)
    with pytest.raises(SamplingConfigError, match="exceeds n_positions"):
        cached(params, ids, mask, max_new_tokens=34)
