"""Peer contestant for bench/rl.py: stable-baselines3's DQN (PyTorch, host loop) with jaxml's settings.

Imported in-process (the ``bench`` extra installs stable-baselines3 and torch); nothing is
imported at module import time. ``sb3_kwargs`` maps jaxml's DQN config fields onto
``stable_baselines3.DQN``'s arguments; :func:`train_seconds` times one ``learn`` call.
"""
from __future__ import annotations

import time


def sb3_kwargs(s: dict) -> dict:
    """``stable_baselines3.DQN`` keyword arguments equivalent to jaxml's DQN settings ``s``.

    One gradient step per vector step (``train_freq=1`` step of every copy, ``gradient_steps=1``);
    sb3 counts ``target_update_interval`` in env steps (jaxml: gradient steps). Differences sb3
    does not let us remove: its loss is the Huber loss (jaxml's config: mean squared error), and
    its exploration schedule counts from step 0 like jaxml's. The Q-network's activation (ReLU, as
    jaxml's) is added by :func:`make_model` (it is a torch class).
    """
    return dict(
        learning_rate=float(s["learning_rate"]), buffer_size=int(s["buffer_size"]),
        learning_starts=int(s["learning_starts"]), batch_size=int(s["batch_size"]),
        tau=float(s.get("tau", 1.0)), gamma=float(s["gamma"]), train_freq=int(s.get("update_every", 1)),
        gradient_steps=1,
        target_update_interval=int(s["target_update_every"]) * int(s.get("update_every", 1)) * int(s["num_envs"]),
        exploration_fraction=float(s["epsilon_fraction"]), exploration_initial_eps=float(s["epsilon_start"]),
        exploration_final_eps=float(s["epsilon_end"]),
        max_grad_norm=float(s["max_grad_norm"]) if float(s["max_grad_norm"]) > 0 else float("inf"),
        policy_kwargs={"net_arch": [int(h) for h in s["hidden_sizes"]]},
    )


def make_model(settings: dict, seed: int = 0):
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(settings["env_id"], n_envs=int(settings["num_envs"]), seed=seed)
    kw = sb3_kwargs(settings)
    kw["policy_kwargs"]["activation_fn"] = torch.nn.ReLU
    return DQN("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kw)


def train_seconds(settings: dict, seed: int = 0, total_timesteps: int | None = None):
    """``(seconds, model)``: a fresh model (built untimed), then one timed ``learn`` call."""
    model = make_model(settings, seed)
    t0 = time.perf_counter()
    model.learn(total_timesteps=int(total_timesteps or settings["total_timesteps"]))
    return time.perf_counter() - t0, model


def greedy_returns(model, settings: dict, episodes: int = 100, seed: int = 10_000) -> list[float]:
    """Deterministic (greedy) returns of ``model`` over ``episodes`` fresh episodes."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    env = make_vec_env(settings["env_id"], n_envs=int(settings["num_envs"]), seed=seed)
    returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=True,
                                 return_episode_rewards=True)
    env.close()
    return [float(r) for r in returns]
