"""jaxml.rl.evaluate: many runs evaluated in one vmapped program, each as if alone."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.rl.evaluate import EVAL_SEED_OFFSET, evaluate_runs, make_evaluator


def lean_policy(w, obs_NxD):
    """Push the cart toward the pole's lean (w > 0) or away from it (w < 0)."""
    return (obs_NxD[:, 2] * w > 0).astype(jnp.int32)


def test_evaluate_runs_equals_each_run_alone():
    params_R, seeds = jnp.array([1.0, -1.0]), [3, 4]
    returns = evaluate_runs("CartPole-v1", lean_policy, params_R, seeds, 3)
    assert returns.shape == (2, 3) and isinstance(returns, np.ndarray)
    alone = make_evaluator("CartPole-v1", lean_policy, 3)
    for r, seed in enumerate(seeds):
        key = jax.random.PRNGKey(EVAL_SEED_OFFSET + seed)
        np.testing.assert_array_equal(returns[r], np.asarray(alone(params_R[r], key)))
    assert returns[0].mean() > returns[1].mean() >= 1  # leaning with the pole keeps it up longer
    assert returns.max() <= 500  # CartPole-v1 time limit
