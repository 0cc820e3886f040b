#!/usr/bin/env python
"""Peer contestant for bench/rl.py: rejax's DQN on gymnax CartPole-v1, driven over stdin/stdout.

Runs in its OWN virtual environment (``bench/.venv-rejax``, made by ``make bench-peers``:
rejax 0.1.3 needs gymnax 0.0.9's five-value ``step``), never in the project's venv, and imports
nothing from this repository. bench/rl.py starts it as a subprocess and interleaves it with
jaxml's own DQN, one run at a time:

    python bench/peers/rejax_dqn.py '<settings JSON>'

The settings are jaxml's DQN config fields (``env_id``, ``total_timesteps``, ``num_envs``,
``hidden_sizes``, ``buffer_size``, ``batch_size``, ``learning_starts``, ``target_update_every``,
``learning_rate``, ``gamma``, ``max_grad_norm``, ``epsilon_*``, ``eval_every``,
``eval_episodes``) plus ``seed`` and ``final_eval_episodes``; they are mapped onto rejax's
``DQN.create`` arguments (see ``rejax_config``). The driver compiles ``jax.jit(algo.train)``
ahead of time (timed alone), prints one ``ready`` message, then answers commands read from
stdin, one per line:

- ``run``: one whole training run of the compiled program (the same seed every time),
  ``jax.block_until_ready`` on the result, timed with ``time.perf_counter``; replies
  ``{"event": "run", "seconds": ...}``;
- ``eval``: greedy (epsilon 0) returns of the last run's final network over
  ``final_eval_episodes`` fresh episodes; replies ``{"event": "eval", "returns": [...]}``;
- ``quit``: exits.

Every message is one line ``PEER_JSON {...}`` on stdout (anything else on stdout or stderr,
e.g. warnings, is not part of the protocol); errors reply ``{"event": "error", "message": ...}``.
"""
from __future__ import annotations

import json
import sys
import time
import traceback

PREFIX = "PEER_JSON "


def say(**msg) -> None:
    sys.stdout.write(PREFIX + json.dumps(msg) + "\n")
    sys.stdout.flush()


def rejax_config(s: dict) -> dict:
    """rejax ``DQN.create`` keyword arguments equivalent to jaxml's DQN settings ``s``.

    rejax counts the target period in env steps (jaxml: in gradient steps, one per vector step of
    ``num_envs`` transitions), uses ``polyak`` (0 = hard copy) and starts learning once more than
    ``fill_buffer`` env steps were collected; evaluations happen every ``eval_freq`` env steps.
    """
    return dict(
        env=s["env_id"], total_timesteps=int(s["total_timesteps"]), num_envs=int(s["num_envs"]),
        buffer_size=int(s["buffer_size"]), fill_buffer=int(s["learning_starts"]),
        batch_size=int(s["batch_size"]), num_epochs=1,
        target_update_freq=int(s["target_update_every"]) * int(s.get("update_every", 1)) * int(s["num_envs"]),
        polyak=1.0 - float(s.get("tau", 1.0)),
        learning_rate=float(s["learning_rate"]), gamma=float(s["gamma"]),
        max_grad_norm=float(s["max_grad_norm"]) if float(s["max_grad_norm"]) > 0 else float("inf"),
        eps_start=float(s["epsilon_start"]), eps_end=float(s["epsilon_end"]),
        exploration_fraction=float(s["epsilon_fraction"]),
        ddqn=bool(s.get("double_dqn", False)),
        eval_freq=int(s["eval_every"]) if int(s.get("eval_every", 0)) > 0 else int(s["total_timesteps"]),
        skip_initial_evaluation=True,
        agent_kwargs={"activation": "relu", "hidden_layer_sizes": tuple(int(h) for h in s["hidden_sizes"])},
    )


def build(settings: dict):
    """(algo, jitted train, greedy evaluator(params, key, episodes)) for these settings."""
    import jax
    import jax.numpy as jnp
    from rejax import DQN
    from rejax.evaluate import evaluate

    cfg = rejax_config(settings)
    hidden = cfg["agent_kwargs"].pop("hidden_layer_sizes")
    algo = DQN.create(**cfg)
    # DQN.create fixes the Q-network at (64, 64); rebuild the agent with the requested sizes.
    agent = type(algo.agent)(hidden_layer_sizes=hidden, action_dim=algo.agent.action_dim,
                             activation=algo.agent.activation)

    def greedy_act_fn(params):
        def act(obs, rng):
            return jnp.argmax(agent.apply(params, jnp.expand_dims(obs, 0))[0])
        return act

    env, env_params = algo.env, algo.env_params
    max_steps = env_params.max_steps_in_episode
    in_training = int(settings.get("eval_episodes", 10))

    def eval_callback(a, ts, rng):  # jaxml's in-training evaluation: greedy, eval_episodes episodes
        return evaluate(greedy_act_fn(ts.q_ts.params), rng, env, env_params, in_training, max_steps)

    algo = algo.replace(agent=agent, eval_callback=eval_callback)

    def final_eval(params, key, episodes):
        return evaluate(greedy_act_fn(params), key, env, env_params, episodes, max_steps)

    return algo, jax.jit(algo.train), final_eval


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = json.loads(argv[0]) if argv else {}
    try:
        from importlib.metadata import version

        import jax
        import rejax  # noqa: F401  (version check below)

        algo, train, final_eval = build(settings)
        key = jax.random.PRNGKey(int(settings.get("seed", 0)))
        t0 = time.perf_counter()
        compiled = train.lower(key).compile()
        compile_s = time.perf_counter() - t0
        shapes = jax.tree_util.tree_map(lambda x: list(x.shape), algo.init_state(key).q_ts.params)
        say(event="ready", compile_seconds=compile_s,
            versions={p: version(p) for p in ("rejax", "gymnax", "jax", "jaxlib", "flax", "optax")},
            rejax_config={k: (v if isinstance(v, (int, float, str, bool)) else str(v))
                          for k, v in rejax_config(settings).items()},
            param_shapes=shapes, backend=jax.default_backend())
    except Exception as e:  # noqa: BLE001 - reported to the parent, which shows it
        say(event="error", message=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        return 1
    last = None
    for line in sys.stdin:
        cmd = line.strip()
        try:
            if cmd == "run":
                t0 = time.perf_counter()
                last = jax.block_until_ready(compiled(key))
                say(event="run", seconds=time.perf_counter() - t0)
            elif cmd == "eval":
                if last is None:
                    raise RuntimeError("eval before any run")
                episodes = int(settings.get("final_eval_episodes", 100))
                lengths, returns = final_eval(last[0].q_ts.params, jax.random.PRNGKey(10_000), episodes)
                say(event="eval", returns=[float(r) for r in jax.device_get(returns)])
            elif cmd == "quit":
                break
            elif cmd:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as e:  # noqa: BLE001
            say(event="error", message=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    return 0


if __name__ == "__main__":
    sys.exit(main())
