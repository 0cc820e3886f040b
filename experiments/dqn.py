"""DQN study: CartPole-v1 (gymnax, fully compiled) and LunarLander-v3 (gymnasium, host loop).

Coursework question: can a deep Q-network learn to balance the pole (and land the lunar
lander), how do the discount γ and the learning rate change learning, and how good is the
final greedy policy?

Parts (``--config.parts``):

- ``cartpole``: DQN on gymnax CartPole-v1, ``cartpole.total_timesteps`` env steps in
  ``cartpole.num_envs`` parallel copies, all ``seeds`` as ONE ``jax.jit(jax.vmap(train))``
  program. Inside it the greedy policy is evaluated every ``cartpole.eval_every`` steps on
  ``cartpole.eval_episodes`` episodes and the best network is kept. Episode-return and
  TD-loss curves (mean ± std over seeds), and a greedy evaluation of both the final and the
  kept network over ``eval_episodes`` NEW episodes per seed.
- ``sweep``: the coursework's γ ∈ ``sweep_gammas`` x learning rate ∈ ``sweep_learning_rates``
  with the coursework's 16-32-16 ReLU Q-network, every (γ, η, seed) run in ONE vmapped program
  (γ and η are traced arguments); one plot per setting plus an overview, and a greedy table.
  Run as a script, the study asks JAX for one CPU device per core and splits the vmapped runs
  over them when their number divides evenly (``jaxml.train.run_sharding``; measured ~2x faster
  on 2 cores; in our check each split run was bit-identical to the same seed run alone).
- ``lunarlander``: DQN on gymnasium LunarLander-v3 through the host loop (one jitted call
  per vector step), per seed; return/loss curves, greedy evaluation, env steps per second.
- ``lunarlander_sweep``: the coursework's γ ∈ ``lunarlander_sweep_gammas`` x learning rate ∈
  ``lunarlander_sweep_learning_rates`` on LunarLander-v3 with its 8-16-32-16-4 ReLU Q-network,
  through the host loop, per (γ, η, seed in ``lunarlander_sweep_seeds``); γ and η are arguments
  of the jitted calls, so the grid compiles once. The preset's budget is REDUCED (60,000 env
  steps per run, vs 1,000,000 in ``lunarlander``) to fit a shared 2-core CPU; it is named so
  in results.md. One plot per setting plus an overview, a greedy table with wall times.

    python -m experiments.dqn                                   # full study (LunarLander: 1M steps)
    python -m experiments.dqn --config=tiny                     # seconds; used by the tests
    python -m experiments.dqn "--config.parts=('lunarlander',)" --config.lunarlander.total_timesteps=300000

Outputs in the work directory: config.json, machine.json, results.md, summary.json,
metrics.jsonl per part (curve points), PNG plots per part.
"""
from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.models.rl_heads import COURSEWORK_Q_HIDDEN
from jaxml.report import MetricsLog, line_plot, markdown_table
from jaxml.rl import dqn
from jaxml.rl.dqn_host import train_host
from jaxml.rl.envs import make_env
from jaxml.rl.evaluate import EVAL_SEED_OFFSET, SOLVED_AT, episode_curve, evaluate_host, evaluate_runs, smooth_curve
from jaxml.rl.summaries import band, greedy_overall, greedy_rows
from jaxml.study.config import check_choice, check_config, dataclass_config
from jaxml.study.experiment import compile_and_run, run_experiment, run_parts
from jaxml.train.run_sharding import request_cpu_devices, shard_runs

NAME = "dqn"
PRESETS = ("full", "tiny")
PARTS = ("cartpole", "sweep", "lunarlander", "lunarlander_sweep")


def dqn_fields(**overrides) -> ml_collections.ConfigDict:
    """All DQNConfig fields (defaults from jaxml.rl.dqn) with ``overrides``, as a ConfigDict."""
    return dataclass_config(dqn.DQNConfig, "DQN", **overrides)


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.seeds = (0, 1, 2, 3)
    c.eval_episodes = 100
    c.curve_points = 100
    c.cartpole = dqn_fields(**dqn.CARTPOLE_SETTINGS)
    c.sweep = dqn_fields(env_id="CartPole-v1", total_timesteps=500_000, num_envs=10,
                         hidden_sizes=COURSEWORK_Q_HIDDEN, buffer_size=10_000, batch_size=128,
                         learning_starts=10_000, target_update_every=50, epsilon_fraction=0.5, epsilon_end=0.05)
    c.sweep_gammas = (0.5, 0.8, 0.99)
    c.sweep_learning_rates = (1e-3, 1e-2)
    c.sweep_seeds = (0, 1)
    c.lunarlander = dqn_fields(**dqn.LUNARLANDER_SETTINGS)
    c.lunarlander_seeds = (0,)
    c.lunarlander_log_every = 10_000
    # The coursework's γ x learning-rate sweep on LunarLander with its 8-16-32-16-4 Q-network, otherwise the
    # LunarLander part's settings. REDUCED BUDGET: 60,000 env steps per run (that part trains 1,000,000), so
    # that the 2x2 grid x 2 seeds fits ~15 minutes on our shared 2-core CPU; ε decays over the first half.
    c.lunarlander_sweep = dqn_fields(**{**dqn.LUNARLANDER_SETTINGS, "hidden_sizes": COURSEWORK_Q_HIDDEN,
                                        "total_timesteps": 60_000, "epsilon_fraction": 0.5})
    c.lunarlander_sweep_gammas = (0.5, 0.99)
    c.lunarlander_sweep_learning_rates = (1e-3, 1e-2)
    c.lunarlander_sweep_seeds = (0, 1)
    if preset == "tiny":
        c.seeds = (0, 1)
        c.eval_episodes = 4
        c.curve_points = 10
        # Small enough to compile fast, big enough to learn CartPole a little (the unit tests
        # in tests/rl/test_dqn.py use this config too, so they share its compiled program).
        small = dict(total_timesteps=12_000, num_envs=4, hidden_sizes=(32, 32), buffer_size=4_000, batch_size=64,
                     learning_starts=400, target_update_every=25, learning_rate=1e-3, epsilon_fraction=0.4,
                     eval_every=4_000, eval_episodes=4)
        c.cartpole.update(small)
        c.sweep.update(small)
        c.sweep_gammas = (0.99, 0.9)
        c.sweep_learning_rates = (1e-3,)
        c.sweep_seeds = (0,)
        # The two LunarLander parts share one config here, so one compiled host program serves both.
        c.lunarlander.update(dict(total_timesteps=240, num_envs=2, hidden_sizes=COURSEWORK_Q_HIDDEN, buffer_size=200,
                                  batch_size=16, learning_starts=100, target_update_every=1, epsilon_fraction=0.5))
        c.lunarlander_log_every = 100
        c.lunarlander_sweep.update(c.lunarlander.to_dict())
        c.lunarlander_sweep_gammas = (0.9, 0.99)
        c.lunarlander_sweep_learning_rates = (1e-3,)
        c.lunarlander_sweep_seeds = (0,)
    return c


def validate(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"parts": PARTS},
                 nonempty=("seeds", "sweep_seeds", "lunarlander_seeds", "lunarlander_sweep_seeds"),
                 counts=("eval_episodes", "lunarlander_log_every"),
                 positive=("sweep_learning_rates", "lunarlander_sweep_learning_rates"),
                 ranges={"curve_points": (2, None), "sweep_gammas": (0, 1), "lunarlander_sweep_gammas": (0, 1)},
                 nested=dict.fromkeys(("cartpole", "sweep", "lunarlander", "lunarlander_sweep"),
                                      lambda d: dqn.DQNConfig.from_mapping(d).validate()))
    for part in ("lunarlander", "lunarlander_sweep"):  # these parts drive gymnasium's lander through the host loop
        if part in c.parts:
            check_choice(c, f"{part}.env_id", ("LunarLander-v3",))


def compiled_runs(cfg: dqn.DQNConfig, keys, hparams) -> tuple[dict, float, float]:
    """All runs of ``train`` as one vmapped program: (outputs, compile s, run s). ``hparams``
    holds per-run ``gamma`` and ``learning_rate`` (float32 (R,)), so every part and the
    tests share one compiled program per config."""
    # Split the runs over the devices when there are several (on a CPU: one per core, see
    # __main__); each run's result is that of the run alone (jaxml.train.run_sharding).
    return compile_and_run(jax.jit(dqn.make_vmapped_train(cfg)), *shard_runs((keys, hparams)))


def greedy_eval_vmapped(cfg: dqn.DQNConfig, params, seeds, episodes: int,
                        offset: int = EVAL_SEED_OFFSET) -> np.ndarray:
    """(S, episodes) greedy returns, every seed's network evaluated in one vmapped program."""
    policy = dqn.greedy_policy(dqn.make_network(cfg, make_env(cfg.env_id, "jax").spec.num_actions))
    return evaluate_runs(cfg.env_id, policy, params, seeds, episodes, offset)


def _curves(out, cfg, points):
    steps, ret = episode_curve(out["episode_returns"], cfg.num_envs, points)
    upd, loss = smooth_curve(out["loss"], points)
    return steps, ret, cfg.warmup_iterations * cfg.num_envs + upd * cfg.update_every * cfg.num_envs, loss


def _agent_text(cfg: dqn.DQNConfig, layers: str, envs: str, swept: bool = False) -> str:
    """The agent's settings in one sentence; ``layers``: the Q-network's sizes with ``{}`` for the hidden
    ones (e.g. ``"4-{}-2"``); ``envs``: where the environment steps run; ``swept``: γ and the learning
    rate come from the table, not the config."""
    hidden = "-".join(map(str, cfg.hidden_sizes))
    per_update = cfg.update_every * cfg.num_envs
    rates = "learning rate and γ as in the table" if swept else f"lr {cfg.learning_rate}, γ {cfg.gamma}"
    return (f"Q-network {layers.format(hidden)} ReLU, {cfg.optimizer.capitalize()} {rates}, "
            f"{cfg.env_steps:,} env steps in {envs}, replay {cfg.buffer_size:,}, batch {cfg.batch_size}, "
            f"learning starts after {cfg.learning_starts:,} steps, one update per {per_update} env steps "
            f"({cfg.num_updates:,} updates), target copy every {cfg.target_update_every} updates, "
            f"ε {cfg.epsilon_start} → {cfg.epsilon_end} over the first {cfg.epsilon_fraction:.0%} of the steps, "
            f"{cfg.loss} TD loss{', Double DQN' if cfg.double_dqn else ''}"
            f"{', cosine learning-rate decay' if cfg.lr_decay else ''}.")


def _log_curves(path, labels, steps, ret, loss_steps, loss):
    with MetricsLog(path) as log:
        for r, info in enumerate(labels):
            for i, s in enumerate(steps):
                log.log(**info, env_steps=int(s), mean_return=float(ret[r, i]))
            for i, s in enumerate(loss_steps):
                log.log(**info, env_steps=int(s), td_loss=float(loss[r, i]))


# ---------------------------------------------------------------------------------------------

def cartpole_part(c, workdir: pathlib.Path) -> tuple[str, dict]:
    cfg = dqn.DQNConfig.from_mapping(c.cartpole.to_dict()).validate()
    seeds = list(c.seeds)
    keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds])
    hp = {"gamma": jnp.full((len(seeds),), cfg.gamma, jnp.float32),
          "learning_rate": jnp.full((len(seeds),), cfg.learning_rate, jnp.float32)}
    out, compile_s, run_s = compiled_runs(cfg, keys, hp)
    evals = greedy_eval_vmapped(cfg, out["state"].params, seeds, c.eval_episodes)
    has_best = "best_params" in out
    best_evals = greedy_eval_vmapped(cfg, out["best_params"], seeds, c.eval_episodes, offset=20_000) \
        if has_best else None
    steps, ret, loss_steps, loss = _curves(out, cfg, c.curve_points)
    _log_curves(workdir / "metrics.jsonl", [{"seed": s} for s in seeds], steps, ret, loss_steps, loss)
    curves, bands = {}, {}
    band("episode return (training, ε-greedy)", steps, ret, curves, bands)
    if has_best:
        scores = np.asarray(out["eval_score"])
        cols = ~np.isnan(scores[0])
        band(f"greedy return, {cfg.eval_episodes} eval episodes", np.array(cfg.eval_env_steps()),
             scores[:, cols], curves, bands)
    line_plot(workdir / "cartpole_return.png", curves, bands=bands,
              title=f"DQN on CartPole-v1 (gymnax), {len(seeds)} seeds vmapped (mean ± std)",
              xlabel="environment steps", ylabel="episode return")
    curves, bands = {}, {}
    band("TD loss", loss_steps, loss, curves, bands)
    line_plot(workdir / "cartpole_td_loss.png", curves, bands=bands, logy=True,
              title="DQN on CartPole-v1: TD loss (mean ± std over seeds)",
              xlabel="environment steps", ylabel="mean squared TD error per update")
    solved = SOLVED_AT["CartPole-v1"]
    rows = []
    for i, s in enumerate(seeds):
        row = {"seed": s, f"final network, greedy ({c.eval_episodes} episodes)":
               greedy_rows(evals[i:i + 1], [s])[0]["greedy return"], "final min": float(evals[i].min())}
        if has_best:
            at = int(np.array(cfg.eval_env_steps())[np.nanargmax(scores[i][cols])])
            row.update({"kept network found at step": f"{at:,}",
                        f"kept network, greedy ({c.eval_episodes} new episodes)":
                        greedy_rows(best_evals[i:i + 1], [s])[0]["greedy return"],
                        "kept min": float(best_evals[i].min()),
                        f"kept >= {solved:g}": "yes" if best_evals[i].mean() >= solved else "no"})
        rows.append(row)
    final_all = greedy_overall(evals)
    text = (_agent_text(cfg, "4-{}-2", f"{cfg.num_envs} parallel envs") + f" Seeds {seeds} as ONE "
            f"`jax.jit(jax.vmap(train))` program: compile {compile_s:.1f} s, run {run_s:.1f} s.\n\n")
    if has_best:
        text += (f"Inside the same program the greedy policy is evaluated on {cfg.eval_episodes} episodes every "
                 f"{cfg.eval_stride * cfg.period_env_steps:,} env steps and at the end, and the network with the best "
                 f"such score is kept (these evaluation episodes are not counted as training steps). Both the final "
                 f"and the kept network are then evaluated greedily on {c.eval_episodes} NEW episodes per seed:\n\n")
    text += (markdown_table(rows, floatfmt=".1f")
             + f"\n\nFinal networks: mean over seeds {final_all['over_seeds'].format('.1f')}, pooled "
             f"{final_all['over_episodes'].format('.1f')}.")
    summary = {"greedy_final": evals.tolist(), "per_seed_mean_final": final_all["per_seed_mean"],
               "env_steps": cfg.env_steps, "compile_seconds": compile_s, "run_seconds": run_s,
               "curve": {"env_steps": steps.tolist(), "return": ret.tolist()}}
    if has_best:
        kept_all = greedy_overall(best_evals)
        text += (f" Kept networks: mean over seeds {kept_all['over_seeds'].format('.1f')}, pooled "
                 f"{kept_all['over_episodes'].format('.1f')}; {int((best_evals.mean(1) >= solved).sum())}/{len(seeds)} "
                 f"seeds >= {solved:g}.")
        summary.update(greedy_kept=best_evals.tolist(), per_seed_mean_kept=kept_all["per_seed_mean"],
                       solved_all_kept=bool(np.all(best_evals.mean(1) >= solved)),
                       eval_scores=scores[:, cols].tolist(), eval_env_steps=cfg.eval_env_steps())
    text += "\n\n![return](cartpole/cartpole_return.png) ![TD loss](cartpole/cartpole_td_loss.png)"
    return text, summary


def _sweep_rows(workdir: pathlib.Path, prefix: str, env_id: str, settings, seeds, steps, ret, loss, evals,
                curve_points: int, *, ylabel: str, seconds=None) -> tuple[list, dict]:
    """The γ x learning-rate table of a sweep whose runs are ordered (setting, seed): one row and one
    plot ``<prefix>_gamma<g>_lr<lr>.png`` per setting, all settings in ``<prefix>_all.png``.
    ``ret``/``loss``: (runs, points) curves; ``evals``: (runs, episodes) greedy returns; ``seconds``:
    per-run training seconds (a column when given). Returns (rows, {tag: per-setting results})."""
    rows, result, all_curves, all_bands = [], {}, {}, {}
    n, solved, env = len(seeds), SOLVED_AT[env_id], env_id.split("-")[0]
    for i, (g, lr) in enumerate(settings):
        sl = slice(i * n, (i + 1) * n)
        curves, bands = {}, {}
        band("episode return", steps, ret[sl], curves, bands)
        tag = f"gamma{g:g}_lr{lr:g}"
        line_plot(workdir / f"{prefix}_{tag}.png", curves, bands=bands,
                  title=f"DQN {env}, γ = {g:g}, lr = {lr:g} (seeds {list(seeds)}, mean ± std)",
                  xlabel="environment steps", ylabel=ylabel)
        band(f"γ={g:g}, lr={lr:g}", steps, ret[sl], all_curves, all_bands)
        final = np.nanmean(ret[sl, -max(1, curve_points // 10):], axis=1)
        per_seed = evals[sl].mean(1)
        rows.append({"γ": f"{g:g}", "learning rate": f"{lr:g}",
                     f"greedy return (mean ± std over {n} seed{'s' * (n > 1)})":
                         greedy_overall(evals[sl])["over_seeds"],
                     "per-seed greedy means": ", ".join(f"{v:.1f}" for v in per_seed),
                     f"seeds >= {solved:g}": f"{int((per_seed >= solved).sum())}/{n}",
                     "training return, last 10%": greedy_overall(final[:, None])["over_seeds"],
                     "final TD loss": f"{float(np.mean(loss[sl, -1])):.3g}"})
        result[tag] = {"greedy": evals[sl].tolist(), "curve": ret[sl].tolist()}
        if seconds is not None:
            rows[-1]["train wall time (s, all seeds)"] = sum(seconds[sl])
            result[tag]["seconds"] = seconds[sl]
    line_plot(workdir / f"{prefix}_all.png", all_curves, title=f"DQN {env}: γ x learning rate (mean over seeds)",
              xlabel="environment steps", ylabel=ylabel)
    return rows, result


def sweep_part(c, workdir: pathlib.Path) -> tuple[str, dict]:
    cfg = dqn.DQNConfig.from_mapping(c.sweep.to_dict()).validate()
    settings = [(float(g), float(lr)) for g in c.sweep_gammas for lr in c.sweep_learning_rates]
    seeds = list(c.sweep_seeds)
    runs = [(g, lr, s) for g, lr in settings for s in seeds]
    keys = jnp.stack([jax.random.PRNGKey(int(s)) for _, _, s in runs])
    hp = {"gamma": jnp.array([g for g, _, _ in runs], jnp.float32),
          "learning_rate": jnp.array([lr for _, lr, _ in runs], jnp.float32)}
    out, compile_s, run_s = compiled_runs(cfg, keys, hp)
    evals = greedy_eval_vmapped(cfg, out["state"].params, [s for _, _, s in runs], c.eval_episodes)
    steps, ret, loss_steps, loss = _curves(out, cfg, c.curve_points)
    _log_curves(workdir / "metrics.jsonl", [{"gamma": g, "learning_rate": lr, "seed": s} for g, lr, s in runs],
                steps, ret, loss_steps, loss)
    rows, result = _sweep_rows(workdir, "sweep", "CartPole-v1", settings, seeds, steps, ret, loss, evals,
                               c.curve_points, ylabel="episode return")
    plots = " ".join(f"![{g:g}/{lr:g}](sweep/sweep_gamma{g:g}_lr{lr:g}.png)" for g, lr in settings)
    text = (f"Coursework network 4-16-32-16-2 ReLU, Adam, {cfg.env_steps:,} env steps per run in {cfg.num_envs} "
            f"envs, otherwise as the CartPole part. {len(runs)} runs ({len(settings)} settings x seeds {seeds}) as ONE "
            f"vmapped program with γ and the learning rate as traced arguments: compile {compile_s:.1f} s, run "
            f"{run_s:.1f} s. Greedy evaluation over {c.eval_episodes} episodes per run.\n\n"
            + markdown_table(rows, floatfmt=".1f") + "\n\n![all settings](sweep/sweep_all.png)\n\n" + plots)
    return text, {"settings": result, "compile_seconds": compile_s, "run_seconds": run_s, "env_steps": cfg.env_steps}


def _host_runs(c, cfg: dqn.DQNConfig, workdir: pathlib.Path, runs: list[dict]) -> tuple[list, np.ndarray]:
    """Train ``cfg`` through the host loop once per run (``{"seed", **hparams}``; ``gamma`` and
    ``learning_rate`` given there are traced arguments, so all runs share one compiled program),
    logging progress to ``metrics.jsonl``; then a greedy evaluation of each final network on
    ``c.eval_episodes`` episodes. Returns (train_host outputs, (runs, episodes) greedy returns)."""
    outs, evals = [], []
    with MetricsLog(workdir / "metrics.jsonl") as log:
        for run in runs:
            s, hp = int(run["seed"]), {k: v for k, v in run.items() if k != "seed"}
            tag = " ".join(f"{k} {v:g}" for k, v in run.items())

            def progress(rec, run=run, tag=tag):
                log.log(**run, **rec)
                print(f"  [{tag}] {rec['env_steps']:>9,} steps  return {rec['mean_return']:8.1f} "
                      f"({rec['episodes']} episodes)  loss {rec['loss']:.3f}  ε {rec['epsilon']:.3f}", flush=True)
            out = train_host(cfg, seed=s, log=progress, log_every=c.lunarlander_log_every, hparams=hp or None)
            evals.append(evaluate_host(cfg.env_id, dqn.greedy_policy(out["model"]), out["state"].params,
                                       EVAL_SEED_OFFSET + s, c.eval_episodes))
            outs.append(out)
    return outs, np.stack(evals)


def _stacked_curves(outs, cfg, points):
    return _curves({key: np.stack([o[key] for o in outs]) for key in ("episode_returns", "loss")}, cfg, points)


def lunarlander_part(c, workdir: pathlib.Path) -> tuple[str, dict]:
    cfg = dqn.DQNConfig.from_mapping(c.lunarlander.to_dict()).validate()
    seeds = list(c.lunarlander_seeds)
    outs, evals = _host_runs(c, cfg, workdir, [{"seed": s} for s in seeds])
    speed = [o["env_steps_per_second"] for o in outs]
    steps, ret, loss_steps, loss = _stacked_curves(outs, cfg, c.curve_points)
    curves, bands = {}, {}
    band("episode return", steps, ret, curves, bands)
    line_plot(workdir / "lunarlander_return.png", curves, bands=bands,
              title=f"DQN on LunarLander-v3 (gymnasium host loop), seeds {seeds}",
              xlabel="environment steps", ylabel="return of episodes ending in the window")
    curves, bands = {}, {}
    band("TD loss", loss_steps, loss, curves, bands)
    line_plot(workdir / "lunarlander_td_loss.png", curves, bands=bands, logy=True,
              title="DQN on LunarLander-v3: TD loss", xlabel="environment steps", ylabel="mean squared TD error")
    overall = greedy_overall(evals)
    rows = greedy_rows(evals, seeds, SOLVED_AT["LunarLander-v3"])
    for row, o in zip(rows, outs):
        row["train wall time (s)"] = o["seconds"]
        row["env steps/s"] = o["env_steps_per_second"]
    text = (_agent_text(cfg, "8-{}-4", f"a gymnasium SyncVectorEnv of {cfg.num_envs} copies")
            + " Host loop: one gymnasium step of all copies + one jitted call per vector step.\n\n"
            f"Greedy evaluation, {c.eval_episodes} episodes per seed:\n\n" + markdown_table(rows, floatfmt=".1f")
            + f"\n\nMean over seeds: {overall['over_seeds'].format('.1f')}; pooled: "
            f"{overall['over_episodes'].format('.1f')}.\n\n"
            "![return](lunarlander/lunarlander_return.png) ![TD loss](lunarlander/lunarlander_td_loss.png)")
    return text, {"greedy": evals.tolist(), "per_seed_mean": overall["per_seed_mean"], "env_steps": cfg.env_steps,
                  "env_steps_per_second": speed, "seconds": [o["seconds"] for o in outs],
                  "curve": {"env_steps": steps.tolist(), "return": ret.tolist()}}


def layer_sizes(params) -> list[int]:
    """Input, hidden and output widths of a Dense stack read from its parameters' kernels."""
    kernels = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params)
               if getattr(path[-1], "key", None) == "kernel"]
    return [int(kernels[0].shape[0])] + [int(k.shape[1]) for k in kernels]


def lunarlander_sweep_part(c, workdir: pathlib.Path) -> tuple[str, dict]:
    cfg = dqn.DQNConfig.from_mapping(c.lunarlander_sweep.to_dict()).validate()
    settings = [(float(g), float(lr)) for g in c.lunarlander_sweep_gammas for lr in c.lunarlander_sweep_learning_rates]
    seeds = [int(s) for s in c.lunarlander_sweep_seeds]
    runs = [{"gamma": g, "learning_rate": lr, "seed": s} for g, lr in settings for s in seeds]
    outs, evals = _host_runs(c, cfg, workdir, runs)
    sizes = layer_sizes(outs[0]["state"].params)
    steps, ret, loss_steps, loss = _stacked_curves(outs, cfg, c.curve_points)
    rows, result = _sweep_rows(workdir, "lunarlander_sweep", "LunarLander-v3", settings, seeds, steps, ret, loss,
                               evals, c.curve_points, ylabel="return of episodes ending in the window",
                               seconds=[o["seconds"] for o in outs])
    full = dqn.LUNARLANDER_SETTINGS["total_timesteps"]
    budget = (f"**Reduced budget: {cfg.env_steps:,} env steps per run** (the LunarLander part's full preset trains "
              f"{full:,})" if cfg.env_steps < full else f"{cfg.env_steps:,} env steps per run")
    seconds = sum(o["seconds"] for o in outs)
    plots = " ".join(f"![{g:g}/{lr:g}](lunarlander_sweep/lunarlander_sweep_gamma{g:g}_lr{lr:g}.png)"
                     for g, lr in settings)
    text = (f"{budget}. " + _agent_text(cfg, "-".join(map(str, sizes[:1])) + "-{}-" + str(sizes[-1]),
                                        f"a gymnasium SyncVectorEnv of {cfg.num_envs} copies", swept=True)
            + f" Network read from the trained parameters: {'-'.join(map(str, sizes))}. {len(runs)} runs "
            f"({len(settings)} settings x seeds {seeds}) one after the other through the host loop, γ and the "
            f"learning rate passed as arguments of the one compiled program: {seconds:.1f} s of training in all. "
            f"Greedy evaluation of each final network over {c.eval_episodes} episodes.\n\n"
            + markdown_table(rows, floatfmt=".1f") + "\n\n![all settings](lunarlander_sweep/lunarlander_sweep_all.png)"
            "\n\n" + plots)
    return text, {"settings": result, "layer_sizes": sizes, "env_steps": cfg.env_steps, "reduced_budget":
                  cfg.env_steps < full, "seconds": seconds, "seeds": seeds,
                  "env_steps_per_second": [o["env_steps_per_second"] for o in outs]}


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    parts = {"cartpole": ("CartPole-v1 (gymnax, compiled)", cartpole_part),
             "sweep": ("Sweep: γ x learning rate on CartPole", sweep_part),
             "lunarlander": ("LunarLander-v3 (gymnasium, host loop)", lunarlander_part),
             "lunarlander_sweep": ("Sweep: γ x learning rate on LunarLander (host loop)", lunarlander_sweep_part)}
    parts = {name: (title, functools.partial(fn, c)) for name, (title, fn) in parts.items()}
    return run_parts("DQN study", parts, c.parts, workdir, [("Setup", f"Preset `{c.preset}`.")])


if __name__ == "__main__":
    request_cpu_devices()  # one CPU device per usable core (before any JAX operation)
    run_experiment(NAME, get_config, PRESETS, main)
