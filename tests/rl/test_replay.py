"""The circular replay buffer: wrap-around, FIFO overwrite, sampling only written slots."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.rl.replay import Transition, replay_add, replay_init, replay_sample


def _batch(values):
    v = jnp.asarray(values, jnp.float32)
    return Transition(obs=jnp.stack([v, -v], 1), action=v.astype(jnp.int32), reward=v,
                      next_obs=jnp.stack([v + 1, v], 1), terminated=(v.astype(jnp.int32) % 2 == 0))


def _empty(capacity):
    return replay_init(Transition(jnp.zeros(2), jnp.zeros((), jnp.int32), jnp.zeros(()), jnp.zeros(2),
                                  jnp.zeros((), bool)), capacity)


def test_add_wraps_around_and_overwrites_oldest():
    buf = _empty(5)
    add = jax.jit(replay_add)
    buf = add(buf, _batch([1, 2, 3]))
    assert (int(buf.position), int(buf.size)) == (3, 3)
    np.testing.assert_array_equal(buf.data.reward, [1, 2, 3, 0, 0])
    buf = add(buf, _batch([4, 5, 6]))  # slots 3, 4, then wraps to 0
    assert (int(buf.position), int(buf.size)) == (1, 5)
    np.testing.assert_array_equal(buf.data.reward, [6, 2, 3, 4, 5])
    np.testing.assert_array_equal(buf.data.obs[:, 1], [-6, -2, -3, -4, -5])
    np.testing.assert_array_equal(buf.data.terminated, [True, True, False, True, False])
    buf = add(buf, _batch([7, 8, 9]))
    np.testing.assert_array_equal(buf.data.reward, [6, 7, 8, 9, 5])
    assert (int(buf.position), int(buf.size)) == (4, 5)


def test_sample_draws_only_written_slots_and_whole_transitions():
    buf = replay_add(_empty(100), _batch([11, 12, 13]))
    s = jax.jit(replay_sample, static_argnums=2)(buf, jax.random.PRNGKey(0), 2000)
    r = np.asarray(s.reward)
    assert set(np.unique(r)) == {11.0, 12.0, 13.0}  # never an unwritten (zero) slot
    counts = np.array([(r == v).sum() for v in (11, 12, 13)])
    assert counts.min() > 550  # roughly uniform (expected 667 each)
    # Fields of one sample belong to the same transition.
    np.testing.assert_array_equal(np.asarray(s.obs[:, 0]), r)
    np.testing.assert_array_equal(np.asarray(s.next_obs[:, 0]), r + 1)
    np.testing.assert_array_equal(np.asarray(s.action), r.astype(int))


def test_sample_after_wrap_covers_the_whole_buffer():
    buf = replay_add(replay_add(_empty(4), _batch([1, 2, 3])), _batch([4, 5]))
    r = np.asarray(replay_sample(buf, jax.random.PRNGKey(1), 400).reward)
    assert set(np.unique(r)) == {2.0, 3.0, 4.0, 5.0}


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        _empty(0)
    with pytest.raises(ValueError, match="cannot add 6 transitions at once to a replay buffer of capacity 5"):
        replay_add(_empty(5), _batch([1, 2, 3, 4, 5, 6]))
