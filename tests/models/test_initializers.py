"""Named initializers: sample statistics against the documented distributions, aliases, errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.initializers import NAMES, bias_initializer, canonical_name, initializer

FAN_IN, FAN_OUT = 400, 300
SHAPE = (FAN_IN, FAN_OUT)  # 120,000 samples: relative std error of a variance ~0.4%


def sample(name, std=None, shape=SHAPE, seed=0):
    return np.asarray(initializer(name, std)(jax.random.PRNGKey(seed), shape, jnp.float32), np.float64)


def test_normal_std():
    w = sample("normal", std=0.1)
    assert w.shape == SHAPE and w.dtype == np.float64
    assert abs(w.std() - 0.1) < 0.002
    assert abs(w.mean()) < 0.002


def test_zeros():
    w = sample("zeros")
    assert w.shape == SHAPE
    np.testing.assert_array_equal(w, 0.0)


def test_uniform_half_width():
    w = sample("uniform", std=0.3)
    assert np.abs(w).max() <= 0.3
    assert np.abs(w).max() > 0.299
    assert abs(w.var() - 0.3 ** 2 / 3) < 0.02 * 0.3 ** 2 / 3


def test_xavier_uniform_bound():
    bound = np.sqrt(6.0 / (FAN_IN + FAN_OUT))
    w = sample("xavier_uniform")
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.995 * bound
    assert abs(w.var() - bound ** 2 / 3) < 0.02 * bound ** 2 / 3


def test_he_uniform_bound():
    bound = np.sqrt(6.0 / FAN_IN)
    w = sample("he_uniform")
    assert bound * 0.995 < np.abs(w).max() <= bound


def test_he_normal_variance():
    target = 2.0 / FAN_IN
    w = sample("he_normal")
    assert abs(w.var() - target) < 0.03 * target
    assert abs(w.mean()) < 0.01 * np.sqrt(target)
    # Truncated at two standard deviations of the underlying (rescaled) normal:
    # no sample beyond 2 * sqrt(target) / 0.8796 (the std of a unit normal truncated at ±2).
    assert np.abs(w).max() <= 2 * np.sqrt(target) / 0.87962566103423978 + 1e-7
    assert np.abs(w).max() > 2.0 * np.sqrt(target)  # heavier than var-matched untruncated 2σ cut


def test_xavier_normal_variance():
    target = 2.0 / (FAN_IN + FAN_OUT)
    w = sample("xavier_normal")
    assert abs(w.var() - target) < 0.03 * target


def test_lecun_normal_variance():
    target = 1.0 / FAN_IN
    w = sample("lecun_normal")
    assert abs(w.var() - target) < 0.03 * target


@pytest.mark.parametrize("alias, canonical", [
    ("glorot", "xavier_uniform"), ("xavier", "xavier_uniform"), ("glorot_uniform", "xavier_uniform"),
    ("glorot_normal", "xavier_normal"), ("kaiming", "he_normal"), ("he", "he_normal"),
    ("kaiming_normal", "he_normal"), ("kaiming_uniform", "he_uniform"), ("He_Normal", "he_normal"),
])
def test_aliases(alias, canonical):
    assert canonical_name(alias) == canonical
    np.testing.assert_array_equal(sample(alias, shape=(7, 5), seed=3), sample(canonical, shape=(7, 5), seed=3))


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as info:
        initializer("he_norml")
    message = str(info.value)
    assert "'he_norml'" in message
    for name in ("zeros", "normal", "xavier_uniform", "he_normal", "glorot", "kaiming", "lecun_normal"):
        assert repr(name) in message
    assert "Did you mean 'he_normal'" in message
    assert set(NAMES) >= {"zeros", "normal", "uniform", "he_normal", "kaiming", "glorot"}


@pytest.mark.parametrize("std", [None, 0.0, -1.0])
def test_normal_needs_positive_std(std):
    with pytest.raises(ValueError, match="positive std"):
        initializer("normal", std)


def test_bias_initializer():
    key = jax.random.PRNGKey(0)
    for name in ("he_normal", "kaiming", "xavier_uniform", "lecun_normal"):
        np.testing.assert_array_equal(bias_initializer(name)(key, (50,), jnp.float32), 0.0)
    b = np.asarray(bias_initializer("normal", 0.5)(key, (20000,), jnp.float32))
    assert abs(b.std() - 0.5) < 0.02
    with pytest.raises(ValueError, match="unknown initializer"):
        bias_initializer("nope")
