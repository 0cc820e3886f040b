"""REINFORCE study: the logistic and MLP policies on CartPole-v1 and LunarLander-v3.

Coursework question: can a Monte-Carlo policy gradient (REINFORCE, discounted reward-to-go)
learn CartPole with a logistic policy (one linear unit and a sigmoid over the two actions),
how do the learning rate and the discount γ interact, and how do an MLP softmax policy and the
logistic policy with plain gradient ascent do on LunarLander?

Parts (``--config.parts``); every part runs the coursework's (learning rate, γ) settings
``zip(sweep_learning_rates, sweep_gammas)`` = (1e-3, 0.5), (1e-2, 0.95), (5e-2, 0.999):

- ``cartpole_logistic`` and ``cartpole_mlp``: gymnax CartPole-v1, all settings x ``seeds`` as
  ONE ``jax.jit(jax.vmap(train))`` program (learning rate and γ traced).
- ``lunarlander_mlp``: gymnasium LunarLander-v3 through the host loop, per setting and seed
  in ``lunarlander_seeds``.
- ``lunarlander_logistic``: the coursework report's LunarLander REINFORCE: a logistic (linear
  softmax, 8-4) policy trained by plain gradient ascent (``optimizer="sgd"``: optax.sgd without
  momentum) on the raw discounted reward-to-go (``normalize=False``, no baseline), host loop, per
  setting and seed in ``lunarlander_logistic_seeds``. Reduced budget (200 updates x 10 episodes).

Each part: return curves (mean episode return per update, mean ± std over seeds), loss
curves, and a greedy evaluation (most probable action) of the final policy over
``eval_episodes`` episodes per run.

    python -m experiments.reinforce                       # full study
    python -m experiments.reinforce --config=tiny         # seconds; used by the tests
    python -m experiments.reinforce "--config.parts=('cartpole_logistic',)" --config.seeds=0,1
"""
from __future__ import annotations

import dataclasses
import functools
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.report import MetricsLog, line_plot, markdown_table
from jaxml.rl import policy_gradient as pg
from jaxml.rl.evaluate import EVAL_SEED_OFFSET, SOLVED_AT, evaluate_host, evaluate_runs
from jaxml.rl.summaries import band, greedy_overall
from jaxml.study.config import ConfigError, check_config, dataclass_config
from jaxml.study.experiment import compile_and_run, run_experiment, run_parts

NAME = "reinforce"
PRESETS = ("full", "tiny")
PARTS = ("cartpole_logistic", "cartpole_mlp", "lunarlander_mlp", "lunarlander_logistic")
TITLES = {"cartpole_logistic": "CartPole-v1, logistic policy (gymnax, compiled)",
          "cartpole_mlp": "CartPole-v1, MLP softmax policy (gymnax, compiled)",
          "lunarlander_mlp": "LunarLander-v3, MLP softmax policy (gymnasium, host loop)",
          "lunarlander_logistic": "LunarLander-v3, logistic (linear softmax) policy, plain gradient ascent "
                                  "(gymnasium, host loop)"}
#: The host-loop parts and the config key of their seeds.
HOST_SEEDS = {"lunarlander_mlp": "lunarlander_seeds", "lunarlander_logistic": "lunarlander_logistic_seeds"}


def reinforce_fields(**overrides) -> ml_collections.ConfigDict:
    """All ReinforceConfig fields (defaults from jaxml.rl.policy_gradient) with ``overrides``."""
    return dataclass_config(pg.ReinforceConfig, "REINFORCE", **overrides)


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.seeds = (0, 1, 2, 3)
    c.sweep_learning_rates = (1e-3, 1e-2, 5e-2)
    c.sweep_gammas = (0.5, 0.95, 0.999)
    c.eval_episodes = 100
    c.cartpole_logistic = reinforce_fields(env_id="CartPole-v1", policy="logistic", num_updates=300,
                                           episodes_per_update=10)
    c.cartpole_mlp = reinforce_fields(env_id="CartPole-v1", policy="mlp", hidden_sizes=(32, 32), num_updates=300,
                                      episodes_per_update=10)
    c.lunarlander_mlp = reinforce_fields(env_id="LunarLander-v3", backend="host", policy="mlp", hidden_sizes=(64, 64),
                                         num_updates=200, episodes_per_update=10)
    c.lunarlander_seeds = (0,)
    # The coursework report's LunarLander REINFORCE: a linear softmax (multinomial logistic) policy trained by
    # plain gradient ascent (optax.sgd, no momentum) on the raw discounted reward-to-go (no baseline, not
    # standardised). REDUCED BUDGET: 200 updates x 10 episodes = 2,000 episodes per run, 2 seeds (shared 2-core CPU).
    c.lunarlander_logistic = reinforce_fields(env_id="LunarLander-v3", backend="host", policy="linear",
                                              optimizer="sgd", baseline="none", normalize=False, num_updates=200,
                                              episodes_per_update=10)
    c.lunarlander_logistic_seeds = (0, 1)
    if preset == "tiny":
        c.seeds = (0, 1)
        c.eval_episodes = 3
        # Long enough to learn a little (tests/rl/test_policy_gradient.py reuses this
        # config and its compiled program).
        c.cartpole_logistic.update(num_updates=40, episodes_per_update=8, max_episode_steps=200)
        c.cartpole_mlp.update(num_updates=3, episodes_per_update=4, max_episode_steps=50, hidden_sizes=(8,))
        c.lunarlander_mlp.update(num_updates=2, episodes_per_update=2, max_episode_steps=30, hidden_sizes=(8,))
        c.lunarlander_logistic.update(num_updates=2, episodes_per_update=2, max_episode_steps=30)
        c.lunarlander_logistic_seeds = (0,)
        c.sweep_learning_rates = (1e-3, 5e-2)
        c.sweep_gammas = (0.5, 0.999)
    return c


def validate(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"parts": PARTS}, counts=("eval_episodes",),
                 nonempty=("seeds", *HOST_SEEDS.values()), positive=("sweep_learning_rates",),
                 ranges={"sweep_gammas": (0, 1)},
                 nested=dict.fromkeys(PARTS, lambda d: pg.ReinforceConfig.from_mapping(d).validate()))
    if len(c.sweep_gammas) != len(c.sweep_learning_rates) or not c.sweep_gammas:
        raise ConfigError(f"config keys 'sweep_learning_rates' and 'sweep_gammas' are paired settings and must have "
                          f"the same (non-zero) length, got {len(c.sweep_learning_rates)} and {len(c.sweep_gammas)}")


def _settings(c):
    return [(float(lr), float(g)) for lr, g in zip(c.sweep_learning_rates, c.sweep_gammas)]


def compiled_part(c, key: str, workdir: pathlib.Path):
    """All (setting, seed) runs of a gymnax part as one vmapped program."""
    cfg = pg.ReinforceConfig.from_mapping(c[key].to_dict()).validate()
    runs = [(lr, g, int(s)) for lr, g in _settings(c) for s in c.seeds]
    keys = jnp.stack([jax.random.PRNGKey(s) for _, _, s in runs])
    hp = {"learning_rate": jnp.array([r[0] for r in runs], jnp.float32),
          "gamma": jnp.array([r[1] for r in runs], jnp.float32)}
    out, compile_s, run_s = compile_and_run(jax.jit(pg.make_vmapped_train(cfg)), keys, hp)
    policy = pg.greedy_policy(pg.make_train(cfg).model)
    evals = evaluate_runs(cfg.env_id, policy, out["state"].params, [s for _, _, s in runs], c.eval_episodes)
    returns = np.asarray(out["returns"]).mean(-1)      # (R, U): mean return of the episodes of each update
    env_steps = None
    info = (f"{cfg.num_updates} updates x {cfg.episodes_per_update} episodes (cut at {pg.make_train(cfg).horizon} "
            f"steps), {len(runs)} runs as ONE vmapped program: compile {compile_s:.1f} s, run {run_s:.1f} s")
    params = jax.tree_util.tree_map(lambda x: x[0], out["state"].params)   # run 0's parameters
    return cfg, runs, returns, np.asarray(out["loss"]), evals, info, env_steps, params, compile_s + run_s


def host_part(c, key: str, workdir: pathlib.Path):
    cfg0 = pg.ReinforceConfig.from_mapping(c[key].to_dict()).validate()
    runs = [(lr, g, int(s)) for lr, g in _settings(c) for s in c[HOST_SEEDS[key]]]
    returns, losses, evals, seconds, steps = [], [], [], 0.0, 0
    with MetricsLog(workdir / "progress.jsonl") as log:
        for lr, g, s in runs:
            cfg = dataclasses.replace(cfg0, learning_rate=lr, gamma=g)
            every = max(1, cfg.num_updates // 10)

            def progress(rec, lr=lr, g=g, s=s, every=every):
                log.log(learning_rate=lr, gamma=g, seed=s, **rec)
                if rec["update"] % every == 0:
                    print(f"  [lr {lr:g} γ {g:g} seed {s}] update {rec['update']:>4}  mean return "
                          f"{rec['mean_return']:8.1f}  loss {rec['loss']:9.3f}", flush=True)
            out = pg.train_host(cfg, seed=s, log=progress)
            returns.append(out["returns"].mean(-1))
            losses.append(out["loss"])
            evals.append(evaluate_host(cfg.env_id, pg.greedy_policy(out["model"]), out["state"].params,
                                       EVAL_SEED_OFFSET + s, c.eval_episodes))
            seconds += out["seconds"]
            steps += out["env_steps"]
    cut = f"{cfg0.max_episode_steps} steps" if cfg0.max_episode_steps else "the environment's time limit"
    info = (f"{cfg0.num_updates} updates x {cfg0.episodes_per_update} episodes (cut at {cut}) per run, "
            f"{len(runs)} runs one after the other: "
            f"{steps:,} env steps in {seconds:.1f} s of training ({steps / seconds:,.0f} env steps/s, host loop)")
    return cfg0, runs, np.stack(returns), np.stack(losses), np.stack(evals), info, steps, out["state"].params, seconds


def _kernels(params) -> list:
    return [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params)
            if getattr(path[-1], "key", None) == "kernel"]


def run_part(c, key: str, workdir: pathlib.Path) -> tuple[str, dict]:
    fn = host_part if key in HOST_SEEDS else compiled_part
    cfg, runs, returns, losses, evals, info, env_steps, params, seconds = fn(c, key, workdir)
    seeds = list(c[HOST_SEEDS[key]] if key in HOST_SEEDS else c.seeds)
    n = len(seeds)
    updates = np.arange(1, returns.shape[1] + 1)
    curves, bands, loss_curves, rows, result = {}, {}, {}, [], {}
    with MetricsLog(workdir / "metrics.jsonl") as log:
        for r, (lr, g, s) in enumerate(runs):
            for u in range(returns.shape[1]):
                log.log(learning_rate=lr, gamma=g, seed=s, update=u + 1, mean_return=float(returns[r, u]),
                        loss=float(losses[r, u]))
    solved = SOLVED_AT[cfg.env_id]
    for i, (lr, g) in enumerate(_settings(c)):
        sl = slice(i * n, (i + 1) * n)
        label = f"lr={lr:g}, γ={g:g}"
        band(label, updates, returns[sl], curves, bands)
        loss_curves[label] = (updates, losses[sl].mean(0))
        overall = greedy_overall(evals[sl])
        rows.append({"learning rate": f"{lr:g}", "γ": f"{g:g}",
                     f"greedy return, mean ± std over seeds ({c.eval_episodes} episodes each)": overall["over_seeds"],
                     "per-seed greedy means": ", ".join(f"{v:.1f}" for v in overall["per_seed_mean"]),
                     f"seeds with mean >= {solved:g}": f"{int(np.sum(evals[sl].mean(1) >= solved))}/{n}",
                     "training return, last 10% of updates":
                         float(returns[sl, -max(1, returns.shape[1] // 10):].mean())})
        result[f"lr{lr:g}_gamma{g:g}"] = {"greedy": evals[sl].tolist(), "curve": returns[sl].tolist()}
    spread = f" (mean ± std over {n} seeds)" if n > 1 else f" (seed {seeds[0]})"
    line_plot(workdir / f"{key}_return.png", curves, bands=bands,
              title=f"REINFORCE, {TITLES[key].split(',')[0]}{spread}",
              xlabel="update", ylabel="mean return of the update's episodes")
    line_plot(workdir / f"{key}_loss.png", loss_curves, title=f"REINFORCE surrogate loss, {TITLES[key].split(' (')[0]}",
              xlabel="update", ylabel="-Σ log π(a|s) A / episodes (mean over seeds)")
    sizes = [int(k.shape[0]) for k in _kernels(params)] + [int(_kernels(params)[-1].shape[1])]
    net = {"logistic": "logistic (linear unit + sigmoid)",
           "linear": "logistic (linear softmax: logits = W s + b, zero-initialised)"}.get(
        cfg.policy, f"MLP {'-'.join(map(str, cfg.hidden_sizes))} {cfg.activation}, softmax")
    opt = "plain gradient ascent (optax.sgd, no momentum)" if cfg.optimizer == "sgd" else cfg.optimizer
    full = {"lunarlander_logistic": "**Reduced budget** (chosen to fit the shared 2-core CPU). "}.get(key, "")
    text = (f"{full}Policy: {net}, layer sizes {'-'.join(map(str, sizes))} (read from the trained parameters); "
            f"{opt}; reward-to-go with baseline `{cfg.baseline}`, returns "
            f"{'standardised' if cfg.normalize else 'raw (not standardised)'} per batch; {info}. Seeds {seeds}.\n\n"
            + markdown_table(rows, floatfmt=".1f")
            + f"\n\n![return]({key}/{key}_return.png) ![loss]({key}/{key}_loss.png)")
    return text, {"settings": result, "env_steps": env_steps, "layer_sizes": sizes, "optimizer": cfg.optimizer,
                  "normalize": cfg.normalize, "baseline": cfg.baseline, "seconds": seconds}


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    parts = {part: (TITLES[part], functools.partial(run_part, c, part)) for part in PARTS}
    return run_parts("REINFORCE study", parts, c.parts, workdir, [("Setup", f"Preset `{c.preset}`.")])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
