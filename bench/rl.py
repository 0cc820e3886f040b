#!/usr/bin/env python
"""Speed of the RL agents: compiled DQN on CartPole (1 seed vs 8 vmapped seeds), the host loop
on LunarLander-v3 (environment steps per second), and a PyTorch CPU DQN baseline.

Sections (all in ONE invocation, see bench/README.md and DESIGN.md §6):

1. ``dqn_cartpole``: ``jaxml.rl.dqn.make_train`` on gymnax CartPole-v1 with the DQN study's
   CartPole config (500k env steps, 10 parallel envs, 64-64 Q-network, batch 128, one update
   per vector step, target copy every 50 updates). Contestants ``1 seed`` = ``jax.jit(train)(key)``
   and ``N seeds`` = ``jax.jit(jax.vmap(train))(keys)``, run INTERLEAVED for ``--repeats``
   rounds; compile time measured on its own (``compile_jitted``). Reported: compile seconds,
   median run seconds, the ratio N-seed/1-seed, env steps per second, and the greedy
   evaluation (100 episodes per seed) of the N seeds' final networks (the solve target).
   A third contestant, ``N seeds split``, is the same vmapped program with the seed axis split
   over the process's CPU devices (``jaxml.train.run_sharding``; the script asks JAX for one
   CPU device per usable core before anything runs, ``--cpu-devices`` overrides); its runs
   are evaluated and reported too.
   ``--pjx-net`` repeats the same with purejaxrl's 120-84 Q-network (everything else as
   above, which already matches purejaxrl's CartPole DQN settings except the network).
   The purejaxrl reference figures (16 s for one seed after compilation, 8 seeds 13x one seed)
   were measured earlier on this machine class and are quoted, not re-run (no network here).
2. ``host_loop``: gymnasium LunarLander-v3, ``SyncVectorEnv`` of 4 copies: random actions
   (the environment alone) vs ``jaxml.rl.dqn_host.train_host`` with the DQN study's
   LunarLander config (learning from step 1,000), interleaved; env steps per second.
3. ``torch``: the same DQN on gymnasium CartPole-v1 (10 envs, 64-64, batch 128, Adam,
   one update per vector step), PyTorch CPU eager vs ``train_host`` (jaxml host loop),
   interleaved, env steps per second in the learning phase; compared with the compiled run.

4. ``peers``: jaxml's compiled DQN (1 seed) against installable peers on the same settings
   (CartPole-v1, the study's preset: env steps, 64-64 ReLU Q-network, buffer, batch, target
   period, epsilon schedule, Adam, clipping, in-training evaluations), interleaved round by round:
   ``rejax``'s pure-JAX DQN (a subprocess in its own venv, ``bench/.venv-rejax``, made by
   ``make bench-peers``; driver ``bench/peers/rejax_dqn.py``) and stable-baselines3's DQN
   (PyTorch host loop, ``bench/peers/sb3_dqn.py``). Reported: peer time / jaxml time per env
   step and each contestant's greedy return (``bench_peers``). Goals: >= 2x rejax, >= 5x sb3.

Usage: ``python -m bench.rl [--repeats 3] [--seeds 8] [--quick] [--no-torch] [--pjx-net]
[--peers rejax,sb3] [--peer-repeats N] [--sb3-steps N]``;
writes ``bench/results/rl.json`` and ``bench/results/rl.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

if __package__ in (None, ""):  # run as a file (python bench/rl.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent

PUREJAXRL = {"one_seed_run_seconds": 16.0, "vmap8_over_1": 13.0,
             "note": "purejaxrl DQN, CartPole-v1, 500k steps, 10 envs, measured earlier on this machine class "
                     "(quoted from the issue, not re-run here: no network access)"}
GOALS = {"one_seed_run_seconds_below": 16.0, "vmap8_over_1_at_most": 4.0, "cartpole_greedy_mean_at_least": 475.0}


def dqn_configs(pjx_net: bool = False):
    """(CartPole DQNConfig, LunarLander DQNConfig) exactly as the DQN study's full preset."""
    from jaxml.rl.dqn import CARTPOLE_SETTINGS, LUNARLANDER_SETTINGS, DQNConfig

    cp = DQNConfig.from_mapping(CARTPOLE_SETTINGS)
    if pjx_net:
        cp = dataclasses.replace(cp, hidden_sizes=(120, 84))
    return cp, DQNConfig.from_mapping(LUNARLANDER_SETTINGS)


# ----------------------------------------------------------------------------- 1. compiled DQN

_ONE_SEED = {}


def compiled_one_seed(cfg, key, hp):
    """``(compiled jax.jit(make_train(cfg)), compile seconds)`` for one seed, compiled once per process
    (the peers section and the 1-vs-N section time the same program; the first compile is reported)."""
    import jax

    from jaxml.rl import dqn

    if cfg not in _ONE_SEED:
        _ONE_SEED[cfg] = common.compile_jitted(jax.jit(dqn.make_train(cfg)), key, hp)
    return _ONE_SEED[cfg]


def bench_compiled(cfg, seeds: int, repeats: int, eval_episodes: int, log=print) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxml.rl import dqn
    from jaxml.rl.evaluate import make_evaluator
    from jaxml.train.run_sharding import shard_runs

    key = jax.random.PRNGKey(0)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds).at[0].set(key)
    # γ and the learning rate go in as (traced) hyperparameters, as in the study's sweep.
    hp = {"gamma": jnp.float32(cfg.gamma), "learning_rate": jnp.float32(cfg.learning_rate)}
    hp_n = jax.tree_util.tree_map(lambda v: jnp.full((seeds,), v), hp)
    one, c1 = compiled_one_seed(cfg, key, hp)
    many, cn = common.compile_jitted(jax.jit(dqn.make_vmapped_train(cfg)), keys, hp_n)
    keys_s, hp_s = shard_runs((keys, hp_n))
    split = len(keys_s.sharding.device_set)
    contestants = {}
    if split > 1:
        many_s, cs = common.compile_jitted(jax.jit(dqn.make_vmapped_train(cfg)), keys_s, hp_s)
    log(f"  compile: 1 seed {c1:.1f} s, {seeds} seeds {cn:.1f} s"
        + (f", {seeds} seeds split over {split} CPU devices {cs:.1f} s" if split > 1 else ""))
    outs = {}

    def run_one():
        outs["one"] = one(key, hp)
        return outs["one"]

    def run_many():
        outs["many"] = many(keys, hp_n)
        return outs["many"]

    contestants = {"1 seed": run_one, f"{seeds} seeds": run_many}
    if split > 1:
        def run_split():
            outs["split"] = many_s(keys_s, hp_s)
            return outs["split"]

        contestants[f"{seeds} seeds split"] = run_split
    with common.CpuMonitor() as mon:
        times = common.interleave(contestants, repeats=repeats, warmup=0)
    t1, tn = times["1 seed"], times[f"{seeds} seeds"]
    ts = times.get(f"{seeds} seeds split")
    log(f"  run: 1 seed {common.median(t1):.2f} s, {seeds} seeds {common.median(tn):.2f} s "
        f"(ratio {common.median(tn) / common.median(t1):.2f})"
        + (f", split over {split} devices {common.median(ts):.2f} s (ratio {common.median(ts) / common.median(t1):.2f})"
           if ts else "") + f"; others kept {mon.others_busy} of the CPUs busy")
    policy = dqn.greedy_policy(dqn.make_network(cfg, 2))
    evaluator = make_evaluator(cfg.env_id, policy, eval_episodes, vmapped=True)
    evals = np.asarray(evaluator(outs["many"]["state"].params, jax.random.split(jax.random.PRNGKey(10_000), seeds)))
    log(f"  greedy means per seed, final networks: {np.round(evals.mean(1), 1).tolist()}")
    kept = None
    if "best_params" in outs["many"]:
        kept = np.asarray(evaluator(outs["many"]["best_params"], jax.random.split(jax.random.PRNGKey(20_000), seeds)))
        log("  greedy means per seed, kept (best in-training evaluation) networks: "
            f"{np.round(kept.mean(1), 1).tolist()}")
    split_res = None
    if ts:
        ev = np.asarray(evaluator(jax.device_get(outs["split"]["state"].params),
                                  jax.random.split(jax.random.PRNGKey(10_000), seeds)))
        kept_s = (np.asarray(evaluator(jax.device_get(outs["split"]["best_params"]),
                                       jax.random.split(jax.random.PRNGKey(20_000), seeds)))
                  if "best_params" in outs["split"] else None)
        split_res = {"devices": split, "compile_seconds": cs, "run_seconds": ts,
                     "median_run_seconds": common.median(ts),
                     "over_1": common.ratio(ts, t1), "env_steps_per_second": seeds * cfg.env_steps / common.median(ts),
                     "greedy_mean_per_seed": ev.mean(1).tolist(), "solved_seeds": int((ev.mean(1) >= 475).sum()),
                     "kept_greedy_mean_per_seed": None if kept_s is None else kept_s.mean(1).tolist(),
                     "kept_solved_seeds": None if kept_s is None else int((kept_s.mean(1) >= 475).sum())}
        log(f"  split runs: greedy means per seed, final networks: {np.round(ev.mean(1), 1).tolist()}")
    return {"config": dataclasses.asdict(cfg), "env_steps": cfg.env_steps, "seeds": seeds,
            "compile_seconds": {"1": c1, str(seeds): cn}, "run_seconds": {"1": t1, str(seeds): tn},
            "median_run_seconds": {"1": common.median(t1), str(seeds): common.median(tn)},
            "vmap_over_1": common.ratio(tn, t1),
            "env_steps_per_second": {"1": cfg.env_steps / common.median(t1),
                                     str(seeds): seeds * cfg.env_steps / common.median(tn)},
            "others_busy": mon.others_busy,
            "greedy_mean_per_seed": evals.mean(1).tolist(), "greedy_std_per_seed": evals.std(1).tolist(),
            "eval_episodes": eval_episodes, "solved_seeds": int((evals.mean(1) >= 475).sum()),
            "kept_greedy_mean_per_seed": None if kept is None else kept.mean(1).tolist(),
            "kept_solved_seeds": None if kept is None else int((kept.mean(1) >= 475).sum()),
            "split": split_res}


# ----------------------------------------------------------------------------- 2. host loop

class RandomLunar:
    """Random actions in a SyncVectorEnv: the environment's own cost per step."""

    def __init__(self, env_id: str, num_envs: int, steps: int):
        import numpy as np

        from jaxml.rl.envs import HostEnv

        self.env, self.steps, self.rng = HostEnv(env_id, num_envs), steps, np.random.default_rng(0)
        self.env.reset(seed=0)

    def __call__(self):
        n = self.env.num_envs
        for _ in range(self.steps // n):
            self.env.step(self.rng.integers(self.env.spec.num_actions, size=n))


def host_train_rate(cfg, steps: int, seed: int = 0) -> float:
    from jaxml.rl.dqn_host import train_host

    out = train_host(dataclasses.replace(cfg, total_timesteps=steps), seed=seed)
    return out["env_steps_per_second"]


def bench_host(ll_cfg, steps: int, repeats: int, log=print) -> dict:
    cfg = dataclasses.replace(ll_cfg, learning_starts=1_000, epsilon_fraction=0.1)
    rnd = RandomLunar(cfg.env_id, cfg.num_envs, steps)
    rates = {"random actions": [], "jaxml DQN host loop": []}
    host_train_rate(cfg, 2_000)  # compile the jitted act/observe functions (memoised per config)
    with common.CpuMonitor() as mon:
        for _ in range(repeats):
            rates["random actions"].append(steps / common.time_once(rnd))
            rates["jaxml DQN host loop"].append(host_train_rate(cfg, steps))
    med = {k: common.median(v) for k, v in rates.items()}
    log(f"  LunarLander-v3 env steps/s: random {med['random actions']:,.0f}, "
        f"DQN host loop {med['jaxml DQN host loop']:,.0f}; others busy {mon.others_busy}")
    return {"config": dataclasses.asdict(cfg), "steps": steps, "rates": rates, "median": med,
            "others_busy": mon.others_busy}


# ----------------------------------------------------------------------------- 3. torch baseline

def torch_dqn_rate(torch, cfg, steps: int, seed: int = 0) -> float:
    """PyTorch CPU DQN on gymnasium CartPole with ``cfg``'s settings; env steps/s in the
    learning phase (after ``cfg.learning_starts``)."""
    import copy

    import numpy as np

    from jaxml.rl.envs import HostEnv

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = HostEnv(cfg.env_id, cfg.num_envs)
    d, a_n, n = env.spec.obs_shape[0], env.spec.num_actions, cfg.num_envs
    layers, width = [], d
    for h in cfg.hidden_sizes:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    q = torch.nn.Sequential(*layers, torch.nn.Linear(width, a_n))
    target = copy.deepcopy(q)
    opt = torch.optim.Adam(q.parameters(), lr=cfg.learning_rate)
    cap = cfg.buffer_size
    buf = {"obs": np.zeros((cap, d), np.float32), "act": np.zeros(cap, np.int64), "rew": np.zeros(cap, np.float32),
           "next": np.zeros((cap, d), np.float32), "term": np.zeros(cap, np.float32)}
    pos = size = updates = 0
    obs = env.reset(seed=seed)
    t_learn = None
    iters = steps // n
    warm = -(-cfg.learning_starts // n)
    for i in range(iters):
        t = i * n
        eps = max(cfg.epsilon_end, cfg.epsilon_start - (cfg.epsilon_start - cfg.epsilon_end) * t /
                  max(1, cfg.epsilon_fraction * cfg.total_timesteps))
        with torch.no_grad():
            greedy = q(torch.from_numpy(obs)).argmax(1).numpy()
        action = np.where(rng.random(n) < eps, rng.integers(a_n, size=n), greedy)
        s = env.step(action)
        idx = (pos + np.arange(n)) % cap
        buf["obs"][idx], buf["act"][idx], buf["rew"][idx] = obs, action, s.reward
        buf["next"][idx], buf["term"][idx] = s.final_obs, s.terminated
        pos, size = (pos + n) % cap, min(size + n, cap)
        obs = s.obs
        if i >= warm:
            if t_learn is None:
                t_learn = time.perf_counter()
            j = rng.integers(size, size=cfg.batch_size)
            o, a, r = torch.from_numpy(buf["obs"][j]), torch.from_numpy(buf["act"][j]), torch.from_numpy(buf["rew"][j])
            nx, te = torch.from_numpy(buf["next"][j]), torch.from_numpy(buf["term"][j])
            with torch.no_grad():
                y = r + cfg.gamma * (1 - te) * target(nx).max(1).values
            loss = torch.nn.functional.mse_loss(q(o).gather(1, a[:, None])[:, 0], y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(q.parameters(), cfg.max_grad_norm)
            opt.step()
            updates += 1
            if updates % cfg.target_update_every == 0:
                target.load_state_dict(q.state_dict())
    env.close()
    return (iters - warm) * n / (time.perf_counter() - t_learn)


def bench_torch(torch, cp_cfg, steps: int, repeats: int, log=print) -> dict:
    cfg = dataclasses.replace(cp_cfg, backend="host", learning_starts=2_000, total_timesteps=steps)
    torch.set_num_threads(1)
    rates = {"torch host loop": [], "jaxml host loop": []}
    host_train_rate(cfg, steps)  # compile once
    with common.CpuMonitor() as mon:
        for _ in range(repeats):
            rates["torch host loop"].append(torch_dqn_rate(torch, cfg, steps))
            rates["jaxml host loop"].append(host_train_rate(cfg, steps))
    med = {k: common.median(v) for k, v in rates.items()}
    log(f"  CartPole DQN env steps/s in the learning phase: torch {med['torch host loop']:,.0f}, "
        f"jaxml host loop {med['jaxml host loop']:,.0f}")
    return {"config": dataclasses.asdict(cfg), "steps": steps, "rates": rates, "median": med,
            "torch_threads": 1, "others_busy": mon.others_busy,
            "jaxml_host_over_torch": common.ratio(rates["jaxml host loop"], rates["torch host loop"])}


# ----------------------------------------------------------------------------- 4. peers

PEER_GOALS = {"rejax_over_jaxml_at_least": 2.0, "sb3_over_jaxml_at_least": 5.0}


def peer_settings(cfg, seed: int = 0, final_eval_episodes: int = 100) -> dict:
    """jaxml's DQN config as the plain dict the peer drivers map onto their own arguments."""
    s = dataclasses.asdict(cfg)
    s["hidden_sizes"] = list(cfg.hidden_sizes)
    s.update(seed=seed, final_eval_episodes=final_eval_episodes)
    return s


def bench_peers(cfg, repeats: int, eval_episodes: int, peers=("rejax", "sb3"), *, warmup: int = 1,
                peer_venv=None, sb3_steps: int | None = None, sb3_threads: int = 1, seed: int = 0,
                notes: list | None = None, log=print) -> dict:
    """jaxml's compiled DQN (1 seed) vs rejax's DQN (subprocess in its own venv) vs
    stable-baselines3's DQN (in-process), interleaved round by round on the same settings.

    Each round runs jaxml, then rejax, then sb3, once each (same seed every round). Times: the
    compiled call blocked on (jaxml; rejax inside its process, ``block_until_ready``); sb3's
    ``learn`` call. Compilation is timed apart; ``warmup`` untimed rounds come first (for sb3 a
    short run of ``learning_starts + 10`` vector steps, which initialises torch and the
    environments). Afterwards each contestant's final network is evaluated greedily over
    ``eval_episodes`` fresh episodes. Ratios are peer time over jaxml time per env step.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from bench import peers as peer_mod
    from jaxml.rl import dqn
    from jaxml.rl.evaluate import make_evaluator

    notes = [] if notes is None else notes
    settings = peer_settings(cfg, seed, eval_episodes)
    steps = {"jaxml": cfg.env_steps}
    key = jax.random.PRNGKey(seed)
    hp = {"gamma": jnp.float32(cfg.gamma), "learning_rate": jnp.float32(cfg.learning_rate)}
    ours, c_ours = compiled_one_seed(cfg, key, hp)
    compile_s = {"jaxml": c_ours}
    out = {}

    def run_ours():
        t0 = time.perf_counter()
        out["jaxml"] = common.block(ours(key, hp))
        return time.perf_counter() - t0

    contestants = {"jaxml": run_ours}
    peer = None
    versions = {}
    if "rejax" in peers:
        venv = peer_venv or peer_mod.REJAX_VENV
        python = peer_mod.venv_python(venv)
        if python is None:
            msg = peer_mod.missing_venv_message(venv)
            notes.append(msg)
            log(f"  {msg}")
        else:
            peer = peer_mod.Peer(python, peer_mod.REJAX_DRIVER, settings)
            try:
                ready = peer.start()
            except peer_mod.PeerError as e:
                peer.close()
                peer = None
                notes.append(f"the rejax peer failed to start and was skipped: {e}")
                log(f"  the rejax peer failed to start: {e}")
            else:
                compile_s["rejax"] = ready["compile_seconds"]
                versions["rejax"] = ready["versions"]
                out["rejax_config"] = ready["rejax_config"]
                steps["rejax"] = int(settings["total_timesteps"])
                contestants["rejax"] = lambda: peer.request("run")["seconds"]
    torch = sb3 = None
    if "sb3" in peers:
        torch, sb3 = common.optional_import("torch"), common.optional_import("stable_baselines3")
        if torch is None or sb3 is None:
            msg = ("stable-baselines3 (and torch) are not importable: the sb3 peer was skipped "
                   "(install the bench extra: make bench)")
            notes.append(msg)
            log(f"  {msg}")
        else:
            from bench.peers import sb3_dqn

            torch.set_num_threads(sb3_threads)
            versions["stable_baselines3"] = sb3.__version__
            versions["torch"] = torch.__version__
            steps["sb3"] = int(sb3_steps or settings["total_timesteps"])

            def run_sb3(total=None):
                seconds, out["sb3"] = sb3_dqn.train_seconds(settings, seed, total or steps["sb3"])
                return seconds

            contestants["sb3"] = run_sb3
    log(f"  contestants {list(contestants)}; compile: " + ", ".join(f"{k} {v:.1f} s" for k, v in compile_s.items()))
    times = {name: [] for name in contestants}
    try:
        with common.CpuMonitor() as mon:
            load_before = common.load_average()
            for _ in range(warmup):
                for name, fn in contestants.items():
                    fn(cfg.learning_starts + 10 * cfg.num_envs) if name == "sb3" else fn()
            for r in range(repeats):
                for name, fn in contestants.items():
                    times[name].append(float(fn()))
                log(f"  round {r + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
            load_after = common.load_average()
        returns = {}
        policy = dqn.greedy_policy(dqn.make_network(cfg, 2))
        evaluator = make_evaluator(cfg.env_id, policy, eval_episodes)
        returns["jaxml"] = np.asarray(evaluator(out["jaxml"]["state"].params, jax.random.PRNGKey(10_000))).tolist()
        if "best_params" in out["jaxml"]:
            returns["jaxml (kept best network)"] = np.asarray(
                evaluator(out["jaxml"]["best_params"], jax.random.PRNGKey(10_000))).tolist()
        if peer is not None:
            returns["rejax"] = peer.request("eval")["returns"]
    finally:
        if peer is not None:
            peer.close()
    if "sb3" in out:
        from bench.peers import sb3_dqn

        returns["sb3"] = sb3_dqn.greedy_returns(out["sb3"], settings, eval_episodes)
    per_step = {k: [t / steps[k] for t in v] for k, v in times.items()}
    ratios = {k: common.ratio(per_step[k], per_step["jaxml"]) for k in per_step if k != "jaxml"}
    med = {k: common.median(v) for k, v in times.items()}
    log("  median run s: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items())
        + "; peer / jaxml per env step: " + ", ".join(f"{k} {v['of_medians']:.2f}x" for k, v in ratios.items())
        + "; greedy means: " + ", ".join(f"{k} {np.mean(v):.1f}" for k, v in returns.items()))
    return {"settings": settings, "seed": seed, "env_steps": steps, "warmup_rounds": warmup, "repeats": repeats,
            "compile_seconds": compile_s, "run_seconds": times, "median_run_seconds": med,
            "env_steps_per_second": {k: steps[k] / med[k] for k in med},
            "over_jaxml": ratios, "goals": PEER_GOALS, "greedy_returns": returns,
            "greedy_mean": {k: float(np.mean(v)) for k, v in returns.items()},
            "eval_episodes": eval_episodes, "sb3_torch_threads": sb3_threads if "sb3" in times else None,
            "peer_versions": versions, "rejax_config": out.get("rejax_config"),
            "others_busy": mon.others_busy, "load_average_before": load_before, "load_average_after": load_after}


def peers_table(p: dict) -> str:
    """The peers section as Markdown: one row per contestant, ratios against jaxml."""
    goal = {"rejax": p["goals"]["rejax_over_jaxml_at_least"], "sb3": p["goals"]["sb3_over_jaxml_at_least"]}
    rows = []
    for name, med in p["median_run_seconds"].items():
        r = p["over_jaxml"].get(name)
        ret = p["greedy_returns"].get(name)
        rows.append([name, f"{p['env_steps'][name]:,}",
                     common.fmt(p["compile_seconds"][name]) if name in p["compile_seconds"] else "—",
                     med, p["env_steps_per_second"][name],
                     "1.00" if r is None else f"{common.fmt(r['of_medians'])} ({common.fmt(r['paired_min'])}–"
                                              f"{common.fmt(r['paired_max'])})",
                     "—" if name not in goal else
                     f">= {goal[name]:g}: {'yes' if r['of_medians'] >= goal[name] else 'NO'}",
                     "—" if ret is None else f"{sum(ret) / len(ret):.1f}"])
    kept = p["greedy_mean"].get("jaxml (kept best network)")
    text = common.markdown_table(["contestant", "env steps", "compile (s)", "run, median (s)", "env steps/s",
                                  "peer / jaxml time per env step (paired range)", "goal", "greedy mean return"],
                                 rows)
    return (text + f"\n\n{p['repeats']} interleaved rounds after {p['warmup_rounds']} warm-up round(s), seed "
            f"{p['seed']}; greedy returns over {p['eval_episodes']} episodes of each final network"
            + ("" if kept is None else f" (jaxml's kept best in-training network: {kept:.1f})")
            + f"; load average {p['load_average_before']} before, {p['load_average_after']} after; other "
              f"processes kept {p['others_busy']} of the CPUs busy; sb3 torch threads {p['sb3_torch_threads']}.\n")


# ----------------------------------------------------------------------------- driver

def run(*, seeds: int = 8, repeats: int = 3, eval_episodes: int = 100, pjx_net: bool = False,
        host_steps: int = 20_000, torch_steps: int = 20_000, cartpole_cfg=None, lunar_cfg=None,
        peers=(), peer_repeats: int | None = None, peer_warmup: int = 1, peer_venv=None, sb3_steps=None,
        sb3_threads: int = 1, log=print) -> dict:
    cp, ll = dqn_configs()
    cp = cartpole_cfg or cp
    ll = lunar_cfg or ll
    res = {"date": common.now(), "machine": common.machine(), "versions": common.versions("gymnax", "gymnasium"),
           "purejaxrl_reference": PUREJAXRL, "goals": GOALS, "notes": []}
    if peers:
        log(f"[peers] jaxml vs {', '.join(peers)}: DQN on {cp.env_id}, {cp.env_steps:,} env steps, 1 seed, interleaved")
        res["peers"] = bench_peers(cp, peer_repeats or repeats, eval_episodes, peers, warmup=peer_warmup,
                                   peer_venv=peer_venv, sb3_steps=sb3_steps, sb3_threads=sb3_threads,
                                   notes=res["notes"], log=log)
    if seeds:
        log(f"[dqn_cartpole] {cp.env_steps:,} env steps, {cp.num_envs} envs, net {cp.hidden_sizes}")
        res["dqn_cartpole"] = bench_compiled(cp, seeds, repeats, eval_episodes, log)
    if pjx_net:
        pj = dataclasses.replace(cp, hidden_sizes=(120, 84))
        log(f"[dqn_cartpole_120_84] purejaxrl's network {pj.hidden_sizes}")
        res["dqn_cartpole_120_84"] = bench_compiled(pj, seeds, repeats, eval_episodes, log)
    if host_steps:
        log(f"[host_loop] {ll.env_id}, {host_steps:,} steps per repeat")
        res["host_loop"] = bench_host(ll, host_steps, repeats, log)
    torch = common.optional_import("torch")
    if torch is None:
        res["notes"].append("torch is not importable: the PyTorch baseline was skipped")
    elif torch_steps:
        log(f"[torch] CartPole DQN host loops, {torch_steps:,} steps per repeat")
        res["torch"] = bench_torch(torch, cp, torch_steps, repeats, log)
        if "dqn_cartpole" in res:
            res["torch"]["compiled_jaxml_1_seed_steps_per_second"] = res["dqn_cartpole"]["env_steps_per_second"]["1"]
    return res


def tables(res: dict) -> str:
    out = []
    if "peers" in res:
        out.append(f"### peers: DQN on {res['peers']['settings']['env_id']}, same settings, interleaved\n")
        out.append(peers_table(res["peers"]))
    for key in ("dqn_cartpole", "dqn_cartpole_120_84"):
        if key not in res:
            continue
        r = res[key]
        s = str(r["seeds"])
        out.append(f"### {key}: Q-network {tuple(r['config']['hidden_sizes'])}, {r['env_steps']:,} env steps\n")
        rows = [["1 seed", r["compile_seconds"]["1"], r["median_run_seconds"]["1"], r["env_steps_per_second"]["1"],
                 "1.00"],
                [f"{s} seeds (vmap)", r["compile_seconds"][s], r["median_run_seconds"][s],
                 r["env_steps_per_second"][s], common.fmt(r["vmap_over_1"]["of_medians"])]]
        sp = r.get("split")
        if sp:
            rows.append([f"{s} seeds (vmap), split over {sp['devices']} CPU devices", sp["compile_seconds"],
                         sp["median_run_seconds"], sp["env_steps_per_second"], common.fmt(sp["over_1"]["of_medians"])])
        out.append(common.markdown_table(["contestant", "compile (s)", "run, median (s)", "env steps/s",
                                          "time / 1-seed time"], rows))
        if sp:
            out.append(f"\nSplit runs, greedy means of the final networks: "
                       f"{', '.join(f'{v:.1f}' for v in sp['greedy_mean_per_seed'])} ({sp['solved_seeds']}/{s} >= 475)"
                       + ("" if sp["kept_greedy_mean_per_seed"] is None else
                          f"; kept networks: {', '.join(f'{v:.1f}' for v in sp['kept_greedy_mean_per_seed'])} "
                          f"({sp['kept_solved_seeds']}/{s} >= 475)") + ".")
        kept = "" if r.get("kept_greedy_mean_per_seed") is None else (
            f"; kept (best in-training evaluation) networks: "
            f"{', '.join(f'{v:.1f}' for v in r['kept_greedy_mean_per_seed'])} ({r['kept_solved_seeds']}/{s} >= 475)")
        out.append(f"\npurejaxrl reference (quoted): 1 seed {PUREJAXRL['one_seed_run_seconds']} s run, 8 seeds "
                   f"{PUREJAXRL['vmap8_over_1']}x. Greedy means ({r['eval_episodes']} episodes) of the {s} seeds' "
                   f"final networks: {', '.join(f'{v:.1f}' for v in r['greedy_mean_per_seed'])} "
                   f"({r['solved_seeds']}/{s} >= 475)"
                   f"{kept}. "
                   f"Other processes kept {r['others_busy']} of the CPUs busy during the timed runs.\n")
    if "host_loop" in res:
        m = res["host_loop"]["median"]
        out.append("### host loop, LunarLander-v3, 4 copies\n")
        out.append(common.markdown_table(["contestant", "env steps/s (median)"], [[k, v] for k, v in m.items()]))
    if "torch" in res:
        t = res["torch"]
        out.append("\n### CartPole DQN, host loops: PyTorch CPU vs jaxml\n")
        out.append(common.markdown_table(["contestant", "env steps/s (median, learning phase)"],
                                         [[k, v] for k, v in t["median"].items()] +
                                         ([["jaxml compiled (1 seed, whole run)",
                                            t["compiled_jaxml_1_seed_steps_per_second"]]]
                                          if "compiled_jaxml_1_seed_steps_per_second" in t else [])))
        out.append(f"\njaxml host loop / torch: {common.fmt(t['jaxml_host_over_torch']['of_medians'])}x")
    for n in res["notes"]:
        out.append(f"\nNote: {n}")
    return "\n".join(out) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="interleaved timed rounds (median reported); default 3")
    p.add_argument("--seeds", type=int, default=8, help="vmapped seeds; default 8 (0 = skip the 1-vs-N section)")
    p.add_argument("--quick", action="store_true", help="fast check: 50k env steps, 1 repeat, 10k host steps")
    p.add_argument("--pjx-net", action="store_true", help="also time purejaxrl's 120-84 Q-network")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    p.add_argument("--peers", default="rejax,sb3",
                   help="peer DQNs timed against jaxml's, comma-separated: rejax (its own venv, bench/.venv-rejax: "
                        "make bench-peers), sb3 (stable-baselines3, bench extra); '' = none. Default rejax,sb3")
    p.add_argument("--peer-repeats", type=int, default=None, help="rounds of the peers section (default --repeats)")
    p.add_argument("--peer-warmup", type=int, default=1, help="untimed warm-up rounds of the peers section; default 1")
    p.add_argument("--peer-venv", default=None, help="the rejax venv (default bench/.venv-rejax)")
    p.add_argument("--sb3-steps", type=int, default=None,
                   help="env steps of each sb3 run (default: the same as jaxml's; ratios are per env step)")
    p.add_argument("--sb3-threads", type=int, default=1, help="torch threads for sb3; default 1")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="CPU devices to split the vmapped seeds over (default: usable cores; 1 = no split)")
    p.add_argument("--host-steps", type=int, default=20_000, help="LunarLander steps per repeat (0 = skip)")
    p.add_argument("--torch-steps", type=int, default=20_000, help="CartPole steps per torch/jaxml host repeat")
    p.add_argument("--out", default=str(HERE / "results" / "rl.json"), help="JSON output ('' = none); .md beside it")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from jaxml.cpu_memory import keep_freed_memory_on_cpu
    from jaxml.train.run_sharding import request_cpu_devices

    # Before any JAX operation: one CPU device per usable core (for the "split" contestant; the
    # other contestants run on device 0 as before).
    request_cpu_devices(args.cpu_devices)
    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for every contestant
    cp, ll = dqn_configs()
    kw = dict(seeds=args.seeds, repeats=args.repeats, pjx_net=args.pjx_net, host_steps=args.host_steps,
              torch_steps=0 if args.no_torch else args.torch_steps,
              peers=tuple(x.strip() for x in args.peers.split(",") if x.strip()), peer_repeats=args.peer_repeats,
              peer_warmup=args.peer_warmup, peer_venv=args.peer_venv, sb3_steps=args.sb3_steps,
              sb3_threads=args.sb3_threads)
    unknown = set(kw["peers"]) - {"rejax", "sb3"}
    if unknown:
        raise SystemExit(f"unknown peer(s) {sorted(unknown)}: choose from rejax, sb3")
    if args.quick:
        cp = dataclasses.replace(cp, total_timesteps=50_000)
        kw.update(repeats=1, host_steps=min(args.host_steps, 10_000), torch_steps=min(kw["torch_steps"], 10_000))
        if args.sb3_steps is None:
            kw["sb3_steps"] = 20_000
    res = run(cartpole_cfg=cp, lunar_cfg=ll, **kw)
    text = tables(res)
    print("\n" + text)
    if args.out:
        path = common.write_results(args.out, res, f"# RL benchmark ({res['date']}, {res['machine'].get('cpu_model')}, "
                                    f"{res['machine'].get('cpus_usable')} usable cores, "
                                    f"load {res['machine'].get('load_average_1_5_15')})\n\n" + text)
        print(f"wrote {path}")
    return res


if __name__ == "__main__":
    main()
