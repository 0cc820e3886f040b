"""DQN: TD targets by hand, loss, config errors, vmapped seeds = separate runs, a short run learns."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import dqn as study
from jaxml.rl import dqn
from jaxml.rl.envs import make_env
from jaxml.rl.evaluate import episode_curve, make_evaluator
from jaxml.rl.replay import Transition
from jaxml.study.config import ConfigError

# The DQN study's tiny CartPole config (12k steps, 4 envs, 32-32 network): small enough to
# compile fast, big enough to learn a little; the study's smoke test reuses its compiled program.
TINY = dqn.DQNConfig.from_mapping(study.get_config("tiny").cartpole.to_dict())


def test_td_target_ordinary_terminal_truncated_by_hand():
    gamma = 0.9
    reward = jnp.array([1.0, 1.0, 0.5])
    terminated = jnp.array([False, True, False])   # the third is a truncation: not terminal
    next_q = jnp.array([[1.0, 3.0], [7.0, 2.0], [-1.0, -4.0]])
    got = dqn.td_target(reward, terminated, next_q, gamma)
    np.testing.assert_allclose(got, [1 + 0.9 * 3, 1.0, 0.5 + 0.9 * -1.0], rtol=1e-6)
    # Double DQN: the online net picks the action, the target net values it.
    online = jnp.array([[5.0, 0.0], [0.0, 1.0], [0.0, 9.0]])
    got = dqn.td_target(reward, terminated, next_q, gamma, online)
    np.testing.assert_allclose(got, [1 + 0.9 * 1.0, 1.0, 0.5 + 0.9 * -4.0], rtol=1e-6)


def test_truncated_step_bootstraps_from_the_final_observation():
    env = make_env("CartPole-v1", backend="jax", num_envs=1)
    model = dqn.make_network(TINY, 2)

    @jax.jit
    def run(key):
        reset_key, step_key, init_key = jax.random.split(key, 3)
        obs, state = env.reset(reset_key)
        state = state.replace(time=jnp.array([499]))      # the next step hits the 500-step limit
        _, step = env.step(step_key, state, jnp.array([1]))
        tr = dqn.to_transition(obs, jnp.array([1]), step)
        params = model.init(init_key, obs)["params"]
        q = lambda x: model.apply({"params": params}, x)[0]  # noqa: E731
        loss, y = dqn.td_loss(params, params, model.apply, tr, 0.99, double=False, loss="mse")
        return step, tr, q(obs), q(step.final_obs), q(step.obs), loss, y

    step, tr, q_obs, q_final, q_reset, loss, y = jax.device_get(run(jax.random.PRNGKey(0)))
    assert bool(step.truncated[0]) and not bool(step.terminated[0]) and not bool(tr.terminated[0])
    np.testing.assert_array_equal(tr.next_obs, step.final_obs)
    assert abs(q_final.max() - q_reset.max()) > 1e-4   # bootstrapping from the reset obs would differ
    np.testing.assert_allclose(y, [1.0 + 0.99 * q_final.max()], rtol=1e-5)
    assert float(loss) == pytest.approx((q_obs[1] - (1.0 + 0.99 * q_final.max())) ** 2, rel=1e-5)


def test_td_losses_by_hand():
    model = dqn.make_network(TINY, 2)
    rng = np.random.default_rng(0)
    batch = Transition(jnp.asarray(rng.normal(size=(5, 4)), jnp.float32), jnp.array([0, 1, 1, 0, 1]),
                       jnp.ones(5), jnp.asarray(rng.normal(size=(5, 4)), jnp.float32),
                       jnp.array([False, False, True, False, True]))
    params = jax.jit(model.init)(jax.random.PRNGKey(3), batch.obs)["params"]
    target = jax.tree_util.tree_map(lambda p: p * 3.0, params)   # inflate the targets: big TD errors

    @jax.jit
    def run(params, target, batch):
        q = model.apply({"params": params}, batch.obs)
        nq = model.apply({"params": target}, batch.next_obs)
        mse, _ = dqn.td_loss(params, target, model.apply, batch, 0.5, double=False, loss="mse")
        huber, _ = dqn.td_loss(params, target, model.apply, batch, 0.5, double=False, loss="huber")
        return q, nq, mse, huber

    q, nq, mse, huber = jax.device_get(run(params, target, batch))
    q = q[np.arange(5), np.asarray(batch.action)]
    y = 1.0 + 0.5 * (1 - np.asarray(batch.terminated)) * nq.max(1)
    err = q - y
    assert float(mse) == pytest.approx(np.mean(err ** 2), rel=1e-5)
    a = np.abs(err)
    assert float(huber) == pytest.approx(np.mean(np.where(a <= 1, 0.5 * a ** 2, a - 0.5)), rel=1e-5)


def test_polyak_and_hard_target_updates():
    model = dqn.make_network(TINY, 2)
    state = jax.jit(lambda k: dqn.init_state(TINY, model, dqn.make_tx(TINY, 10), k, (4,)))(jax.random.PRNGKey(0))
    state = state.replace(target_params=jax.tree_util.tree_map(jnp.zeros_like, state.params))
    soft = jax.jit(dqn.update_target, static_argnums=1)(state, 0.1)
    for p, t in zip(jax.tree_util.tree_leaves(state.params), jax.tree_util.tree_leaves(soft.target_params)):
        np.testing.assert_allclose(t, 0.1 * np.asarray(p), rtol=1e-6)
    hard = dqn.update_target(state, 1.0)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(lambda a, b: bool(jnp.all(a == b)),
                                                         hard.params, hard.target_params))


def test_config_errors_are_named():
    with pytest.raises(ConfigError, match="'learning_starts' \\(10\\) must be >= batch_size \\(64\\)"):
        dataclasses.replace(TINY, learning_starts=10).validate()
    with pytest.raises(ConfigError, match="'tau' must be in \\(0, 1\\]"):
        dataclasses.replace(TINY, tau=0.0).validate()
    with pytest.raises(ConfigError, match="'loss' = 'l1'"):
        dataclasses.replace(TINY, loss="l1").validate()
    with pytest.raises(ConfigError, match="unknown environment 'Pong-v5'"):
        dataclasses.replace(TINY, env_id="Pong-v5").validate()
    with pytest.raises(ConfigError, match="runs on the host: use jaxml.rl.dqn_host.train_host"):
        dqn.make_train(dataclasses.replace(TINY, env_id="LunarLander-v3"))
    with pytest.raises(ConfigError, match="unknown DQN config field\\(s\\) \\['lr'\\]"):
        dqn.DQNConfig.from_mapping({"lr": 1e-3})
    with pytest.raises(ValueError, match="hparams may set"):
        dqn.make_train(TINY)(jax.random.PRNGKey(0), {"tau": 0.5})


def test_loop_sizes():
    assert TINY.warmup_iterations == 100
    assert TINY.num_periods == (3000 - 100) // 25 and TINY.num_updates == TINY.num_periods * 25
    assert TINY.env_steps == (100 + TINY.num_updates) * 4 <= TINY.total_timesteps
    assert TINY.eval_stride == 40   # 4,000 steps / (25 updates x 4 envs)
    assert TINY.eval_env_steps() == [400 + 40 * 100, 400 + 80 * 100, 400 + 116 * 100]


@pytest.fixture(scope="module")
def runs():
    """One seed at a time and two seeds x (γ, η) vmapped, each compiled once."""
    hp = [{"gamma": jnp.float32(0.99), "learning_rate": jnp.float32(1e-3)},
          {"gamma": jnp.float32(0.9), "learning_rate": jnp.float32(3e-3)}]
    keys = [jax.random.PRNGKey(0), jax.random.PRNGKey(1)]
    one = jax.jit(dqn.make_train(TINY))
    separate = [one(k, h) for k, h in zip(keys, hp)]
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *hp)
    together = jax.jit(dqn.make_vmapped_train(TINY))(jnp.stack(keys), stacked)
    return separate, together


def test_vmapped_seeds_equal_separate_runs(runs):
    separate, together = runs
    # A vmapped matmul rounds differently from an unbatched one, and Adam turns rounding noise in
    # near-zero gradients into full-size steps: in run 1 (lr 3e-3) the losses drift apart by 1e-4
    # (relative) after ~45 updates and an action flips after ~320 iterations (measured on our CPU,
    # tests' XLA flags). A mixed-up key or hyperparameter shows at once, so the check is the first
    # period (25 updates, relative 1e-5) and the episodes of the first 250 iterations (100 warm-up).
    for i, single in enumerate(separate):
        np.testing.assert_array_equal(together["episode_returns"][i][:250],
                                      single["episode_returns"][:250])  # NaNs alike
        np.testing.assert_allclose(together["loss"][i][:25], single["loss"][:25], rtol=1e-5)
    # Different γ and η really gave different runs.
    assert not np.allclose(separate[0]["loss"], separate[1]["loss"])


def test_short_compiled_run_improves_the_return(runs):
    out = runs[0][0]
    assert out["episode_returns"].shape == (TINY.num_iterations, 4) and out["loss"].shape == (TINY.num_updates,)
    assert np.all(np.isfinite(out["loss"]))
    ret = np.asarray(out["episode_returns"])
    finished = ret[~np.isnan(ret)]
    assert np.all((finished >= 1) & (finished <= 500)) and np.all(finished == np.round(finished))
    # Every CartPole step pays 1: the finished episodes' returns add up to at most the steps taken.
    assert finished.sum() <= TINY.env_steps
    _, curve = episode_curve(ret, TINY.num_envs, num_points=10)
    # Random play on CartPole lasts ~22 steps; after 12k steps the episodes are much longer.
    assert curve[0] < 30 and curve[-1] > 2 * curve[0], curve


def test_in_training_evaluation_keeps_the_best_network(runs):
    out = runs[0][0]
    scores = np.asarray(out["eval_score"])
    done = np.flatnonzero(~np.isnan(scores))
    np.testing.assert_array_equal(done, [39, 79, 115])
    assert float(out["best_score"]) == scores[done].max()
    # Re-running that evaluation (same key) on the kept network gives the kept score.
    best = int(done[np.argmax(scores[done])])
    eval_key = jax.random.fold_in(jax.random.split(jax.random.PRNGKey(0), 4)[3], best)
    policy = dqn.greedy_policy(dqn.make_network(TINY, 2))
    again = make_evaluator("CartPole-v1", policy, TINY.eval_episodes)(out["best_params"], eval_key)
    assert float(np.mean(again)) == pytest.approx(float(out["best_score"]))
