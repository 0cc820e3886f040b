"""Linear ε schedule values and ε-greedy action frequencies."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.rl.schedules import epsilon_greedy, epsilon_schedule


def test_linear_epsilon_values():
    eps = epsilon_schedule(1.0, 0.05, 1000)
    for t, want in [(0, 1.0), (250, 1.0 - 0.95 * 0.25), (500, 0.525), (1000, 0.05), (5000, 0.05)]:
        assert float(eps(t)) == pytest.approx(want, abs=1e-6)
    assert float(jax.jit(eps)(jnp.int32(100))) == pytest.approx(0.905, abs=1e-6)


def test_epsilon_greedy_frequencies():
    q = jnp.tile(jnp.array([[0.0, 5.0, 1.0, 2.0]]), (20_000, 1))
    assert np.all(np.asarray(epsilon_greedy(jax.random.PRNGKey(0), q, 0.0)) == 1)
    a = np.asarray(epsilon_greedy(jax.random.PRNGKey(1), q, 0.4))
    freq = np.bincount(a, minlength=4) / a.size
    # P(greedy) = 1 - ε + ε/4 = 0.7; every other action ε/4 = 0.1.
    np.testing.assert_allclose(freq, [0.1, 0.7, 0.1, 0.1], atol=0.015)


def test_bad_schedules_are_named():
    with pytest.raises(ValueError, match="must be in \\[0, 1\\]"):
        epsilon_schedule(1.5, 0.1, 10)
    with pytest.raises(ValueError, match="duration must be >= 1"):
        epsilon_schedule(1.0, 0.1, 0)
