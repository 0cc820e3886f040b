#!/usr/bin/env python
"""Speed of one training epoch of the Fashion-MNIST MLP study: jaxml vs PyTorch CPU eager,
and 8 vmapped seeds vs 1 seed.

Workload: 784 -> 128 ReLU -> 10, weights and biases N(0, 0.1), softmax cross-entropy,
plain SGD with learning rate 0.01, N = 10,000 training examples of 784 float32 (synthetic
uniform [0, 1) pixels and random labels by default; ``--data fashion_mnist`` uses the real
images through ``jaxml.data.train_val_test``). Every epoch visits every example once in a
fresh random order; the last partial batch is trained on (jaxml masks it, torch slices it).

Contestants, run INTERLEAVED (per repeat and batch size: jaxml epoch, torch epoch, jaxml
8-seed epoch), so the noise of this shared machine hits all of them alike:

- ``jaxml``: ``make_epoch_fn(make_train_step("cross_entropy"), B)`` jitted with the state
  donated, exactly as ``fit`` runs it: one compiled call per epoch (lax.scan over the steps).
- ``torch``: nn.Sequential(Linear, ReLU, Linear), torch.optim.SGD, F.cross_entropy; a plain
  Python loop over ``randperm`` slices of tensors held in memory (no DataLoader: that would
  time the loader, not the training; ``--torch-dataloader`` adds a DataLoader variant). It
  computes no per-step metrics (jaxml's step also sums loss and accuracy), so it is the
  leanest eager loop. Two contestants by default: ``torch.set_num_threads(os.cpu_count())``
  (the baseline the goals name) and 1 thread (far steadier on a shared machine);
  ``--torch-threads`` picks others.
- ``jaxml x8``: ``make_runs(model, tx, x[:1], seeds=range(8))`` and
  ``jax.vmap(epoch, in_axes=(0, None, 0))`` (state and keys per run, data shared), as ``fit``
  does with ``num_runs``; compared with the 1-seed ``jaxml`` epoch of the same batch size.
- ``jaxml x8split``: the same program with the seed axis split over the process's CPU devices
  (``jaxml.train.run_sharding``: the script asks for one per usable core before JAX starts).

Usage: ``python -m bench.mlp [--repeats 7] [--epochs-per-repeat 1] [--quick]``; writes
``bench/results/mlp.json`` and prints Markdown tables. See bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
from typing import Sequence

if __package__ in (None, ""):  # run as a file (python bench/mlp.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent

GOALS = {"jax_over_torch": {5: 5.0, 128: 3.0}, "vmap8_over_1": 2.5}
INPUT, HIDDEN, CLASSES, INIT_STD, LEARNING_RATE = 784, 128, 10, 0.1, 0.01
TINY = 8  # input and hidden width of the diagnostic "tiny" MLP
# Matmul FLOPs of one training example: forward x@W1, h@W2; backward dW2, dh, dW1 (no dx).
FLOPS_PER_EXAMPLE = 2 * (INPUT * HIDDEN + HIDDEN * CLASSES) + 2 * (INPUT * HIDDEN + 2 * HIDDEN * CLASSES)


# ----------------------------------------------------------------------------- data

def synthetic_data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((n, INPUT), dtype=np.float32)
    y = rng.integers(0, CLASSES, size=n).astype(np.int32)
    return x, y


def fashion_mnist_data(n: int):
    try:
        from jaxml.data import train_val_test
    except ImportError as e:
        raise SystemExit(f"--data fashion_mnist needs jaxml.data.train_val_test, which is not importable: {e}") from e
    train = train_val_test("fashion_mnist", n, 2000, 10000)["train"]
    x = (train.x.reshape(len(train), -1).astype("float32") / 255.0)
    return x, train.y.astype("int32")


# ----------------------------------------------------------------------------- jaxml side

class JaxEpochs:
    """A compiled epoch plus the state it carries; each call runs one epoch (blocking)."""

    def __init__(self, compiled, state, data, keys, evaluate):
        self.compiled, self.state, self.data, self.keys, self.calls = compiled, state, data, keys, 0
        self.evaluate = evaluate

    def __call__(self):
        import jax

        key = self.keys[self.calls % len(self.keys)]
        self.state, metrics = self.compiled(self.state, self.data, key)
        self.calls += 1
        return jax.block_until_ready((self.state, metrics))

    def train_loss(self) -> float:
        """Mean cross-entropy on the whole training set now (averaged over runs); not timed."""
        import numpy as np

        sums = self.evaluate(self.state, self.data)
        return float(np.mean(np.asarray(sums["loss_sum"]) / np.asarray(sums["count"])))


def build_jax(x, y, batch_sizes, seeds: int, num_epochs: int, vmap: bool, tiny: bool):
    """Compile the contestants; returns ({name: JaxEpochs}, {name: compile seconds})."""
    import jax
    import jax.numpy as jnp

    from jaxml.models.mlp import MLP
    from jaxml.train.epoch import make_epoch_fn, make_eval_fn
    from jaxml.train.optimizers import make_optimizer, optimizer_config
    from jaxml.train.run_sharding import shard_runs
    from jaxml.train.runs import make_runs, unstack
    from jaxml.train.steps import make_eval_step, make_train_step

    def mlp(hidden):
        return MLP(hidden_sizes=(hidden,), output_size=CLASSES, kernel_init="normal", bias_init="normal",
                   init_std=INIT_STD)

    model = mlp(HIDDEN)
    tx = make_optimizer(optimizer_config(name="sgd", learning_rate=LEARNING_RATE))
    data = {"x": jnp.asarray(x), "y": jnp.asarray(y)}
    if tiny:  # the same program with negligible matmuls: what a step costs besides the model's FLOPs
        data_tiny = {"x": jnp.asarray(x[:, :TINY]), "y": data["y"]}
        state_tiny = unstack(make_runs(mlp(TINY), tx, x[:1, :TINY], seeds=[0]).state, 0)
    # Run 0 of make_runs(seeds=range(R)) is exactly make_runs(seeds=[0]): one init compile serves both.
    runs = make_runs(model, tx, x[:1], seeds=range(seeds) if vmap else [0])
    state1 = unstack(runs.state, 0)
    fold = jax.jit(jax.vmap(jax.random.fold_in, in_axes=(0, None)))
    # Epoch e uses fold_in(train_key, e), as in fit; keys are made before any timing.
    keysR = [fold(runs.train_keys, e) for e in range(1, num_epochs + 1)]
    keys1 = [k[0] for k in keysR]

    evaluate = make_eval_fn(make_eval_step("cross_entropy"), batch_size=min(1000, len(x)))
    eval1, evalR = jax.jit(evaluate), jax.jit(jax.vmap(evaluate, in_axes=(0, None)))
    contestants, compile_s = {}, {}
    for b in batch_sizes:
        epoch = make_epoch_fn(make_train_step("cross_entropy"), b)
        state = jax.tree_util.tree_map(jnp.copy, state1)
        compiled, compile_s[f"jaxml_b{b}"] = common.compile_jitted(
            jax.jit(epoch, donate_argnums=0), state, data, keys1[0])
        contestants[f"jaxml_b{b}"] = JaxEpochs(compiled, state, data, keys1, eval1)
        if vmap:
            state = jax.tree_util.tree_map(jnp.copy, runs.state)
            compiled, compile_s[f"jaxml_x{seeds}_b{b}"] = common.compile_jitted(
                jax.jit(jax.vmap(epoch, in_axes=(0, None, 0)), donate_argnums=0), state, data, keysR[0])
            contestants[f"jaxml_x{seeds}_b{b}"] = JaxEpochs(compiled, state, data, keysR, evalR)
            # The same vmapped epoch with the seed axis split over the CPU devices (one per core;
            # jaxml.train.run_sharding), when there are several and they divide the seeds.
            split_state = shard_runs(jax.tree_util.tree_map(jnp.copy, runs.state))
            if len(jax.tree_util.tree_leaves(split_state)[0].sharding.device_set) > 1:
                split_keys = [shard_runs(k) for k in keysR]
                name = f"jaxml_x{seeds}split_b{b}"
                compiled, compile_s[name] = common.compile_jitted(
                    jax.jit(jax.vmap(epoch, in_axes=(0, None, 0)), donate_argnums=0), split_state, data, split_keys[0])
                contestants[name] = JaxEpochs(compiled, split_state, data, split_keys, evalR)
        if tiny:
            compiled, compile_s[f"jaxml_tiny_b{b}"] = common.compile_jitted(
                jax.jit(epoch, donate_argnums=0), state_tiny, data_tiny, keys1[0])
            contestants[f"jaxml_tiny_b{b}"] = JaxEpochs(compiled, jax.tree_util.tree_map(jnp.copy, state_tiny),
                                                        data_tiny, keys1, eval1)
    return contestants, compile_s


# ----------------------------------------------------------------------------- torch side

class TorchEpochs:
    """The same MLP trained by a standard PyTorch eager loop; each call runs one epoch."""

    def __init__(self, torch, x, y, batch_size: int, threads: int, seed: int = 0, dataloader: bool = False,
                 hidden: int = HIDDEN):
        nn = torch.nn
        self.torch, self.batch_size, self.threads, self.dataloader = torch, batch_size, threads, dataloader
        torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, CLASSES))
        with torch.no_grad():
            for p in self.model.parameters():
                nn.init.normal_(p, 0.0, INIT_STD)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y).long()
        self.gen = torch.Generator().manual_seed(seed)
        if dataloader:
            self.loader = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(self.x, self.y), batch_size=batch_size, shuffle=True,
                generator=self.gen, num_workers=0)

    def __call__(self):
        F = self.torch.nn.functional
        model, opt = self.model, self.opt
        if self.torch.get_num_threads() != self.threads:  # contestants may differ in threads
            self.torch.set_num_threads(self.threads)
        if self.dataloader:
            batches = self.loader
        else:
            perm = self.torch.randperm(self.x.shape[0], generator=self.gen)
            batches = ((self.x[idx], self.y[idx]) for idx in perm.split(self.batch_size))
        for xb, yb in batches:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
        return None

    def train_loss(self) -> float:
        """Mean cross-entropy on the whole training set now; not timed."""
        with self.torch.no_grad():
            return float(self.torch.nn.functional.cross_entropy(self.model(self.x), self.y))


# ----------------------------------------------------------------------------- the run

def run(*, examples: int = 10_000, batch_sizes=(5, 128), seeds: int = 8, repeats: int = 7,
        epochs_per_repeat: int = 1, warmup: int = 1, data: str = "synthetic", torch: bool = True,
        torch_threads: Sequence[int] | None = None, torch_dataloader: bool = False, vmap: bool = True,
        tiny: bool = True, measure_ceiling: bool = True, log=print) -> dict:
    """Run the benchmark and return the results payload (see ``main`` for the JSON file).

    ``tiny``: also time both loops on a 8 -> 8 -> 10 MLP (same steps, negligible FLOPs): the
    per-step cost of everything but the matmuls (for torch with 1 thread, the steadier one).
    ``measure_ceiling``: time a 1024x1024 matmul before and after the rounds (the machine's
    practical GFLOP/s ceiling, and a before/after check of how busy it was)."""
    import jax

    from jaxml.train.epoch import num_batches

    t_start = time.perf_counter()
    x, y = synthetic_data(examples) if data == "synthetic" else fashion_mnist_data(examples)
    notes = []
    torch_mod = common.optional_import("torch") if torch else None
    if torch and torch_mod is None:
        notes.append("torch is not importable: the PyTorch baseline was skipped "
                     "(install it with `pip install -e '.[bench]'`).")
        log(f"[bench/mlp] {notes[-1]}")
    # torch.set_num_threads(t) for each t; the first is the baseline the goals refer to.
    torch_threads = list(dict.fromkeys(torch_threads or [os.cpu_count(), 1]))

    num_epochs = (warmup + repeats) * epochs_per_repeat
    log(f"[bench/mlp] compiling jaxml epochs for batch sizes {list(batch_sizes)}"
        f"{f' (1 and {seeds} seeds)' if vmap else ''} ...")
    jax_fns, compile_s = build_jax(x, y, batch_sizes, seeds, num_epochs, vmap, tiny)

    contestants = {}
    for b in batch_sizes:
        contestants[f"jaxml_b{b}"] = jax_fns[f"jaxml_b{b}"]
        if torch_mod is not None:
            for t in torch_threads:
                contestants[f"torch_{t}t_b{b}"] = TorchEpochs(torch_mod, x, y, b, t)
            if torch_dataloader:
                t = torch_threads[0]
                contestants[f"torch_dataloader_{t}t_b{b}"] = TorchEpochs(torch_mod, x, y, b, t, dataloader=True)
        if vmap:
            contestants[f"jaxml_x{seeds}_b{b}"] = jax_fns[f"jaxml_x{seeds}_b{b}"]
            if f"jaxml_x{seeds}split_b{b}" in jax_fns:
                contestants[f"jaxml_x{seeds}split_b{b}"] = jax_fns[f"jaxml_x{seeds}split_b{b}"]
        if tiny:
            contestants[f"jaxml_tiny_b{b}"] = jax_fns[f"jaxml_tiny_b{b}"]
            if torch_mod is not None:
                contestants[f"torch_tiny_1t_b{b}"] = TorchEpochs(torch_mod, x[:, :TINY], y, b, 1, hidden=TINY)
    log(f"[bench/mlp] timing {len(contestants)} contestants interleaved: {warmup} warm-up round(s), "
        f"{repeats} repeats x {epochs_per_repeat} epoch(s) ...")
    load_before = common.load_average()
    peak = {"before": common.jax_matmul_gflops() if measure_ceiling else None}
    with common.CpuMonitor() as monitor:
        raw = common.interleave(contestants, repeats=repeats, warmup=warmup, per_repeat=epochs_per_repeat)
    load_after = common.load_average()
    peak["after"] = common.jax_matmul_gflops() if measure_ceiling else None
    epoch_s = {name: [t / epochs_per_repeat for t in ts] for name, ts in raw.items()}

    per_contestant = {}
    for name, ts in epoch_s.items():
        b = int(name.rsplit("_b", 1)[1])
        steps = num_batches(examples, b)
        s = common.spread(ts)
        runs = seeds if name.startswith("jaxml_x") else 1
        per_contestant[name] = {"batch_size": b, "steps_per_epoch": steps, "runs": runs,
                                "epoch_seconds": s, "epochs_per_second": 1.0 / s["median"],
                                "steps_per_second": steps / s["median"],
                                "run_steps_per_second": runs * steps / s["median"],
                                "model_gflops_per_second": (runs * examples * FLOPS_PER_EXAMPLE / s["median"] / 1e9
                                                            if "_tiny_" not in name else None),
                                "microseconds_per_step": 1e6 * s["median"] / steps,
                                "final_train_loss": contestants[name].train_loss()}

    comparisons = []
    for b in batch_sizes:
        for t in (torch_threads if torch_mod is not None else []):
            r = common.ratio(epoch_s[f"torch_{t}t_b{b}"], epoch_s[f"jaxml_b{b}"])  # time ratio = speed ratio
            goal = GOALS["jax_over_torch"].get(b)
            comparisons.append({"name": f"jaxml / torch ({t} thread{'s' if t > 1 else ''}) steps/s, batch {b}",
                                "batch_size": b, "kind": "jax_over_torch", "torch_threads": t,
                                "ratio": r["of_medians"], "paired": r, "goal": f">= {goal}" if goal else None,
                                "met": (r["of_medians"] >= goal) if goal else None})
        if vmap:
            r = common.ratio(epoch_s[f"jaxml_x{seeds}_b{b}"], epoch_s[f"jaxml_b{b}"])
            goal = GOALS["vmap8_over_1"] if seeds == 8 else None
            comparisons.append({"name": f"{seeds}-seed / 1-seed epoch time, batch {b}", "batch_size": b,
                                "kind": "vmap_over_1", "ratio": r["of_medians"], "paired": r,
                                "goal": f"<= {goal}" if goal else None,
                                "met": (r["of_medians"] <= goal) if goal else None})
            if f"jaxml_x{seeds}split_b{b}" in epoch_s:
                r = common.ratio(epoch_s[f"jaxml_x{seeds}split_b{b}"], epoch_s[f"jaxml_b{b}"])
                comparisons.append({"name": f"{seeds}-seed (split over the CPU devices) / 1-seed epoch time, batch {b}",
                                    "batch_size": b, "kind": "vmap_split_over_1", "ratio": r["of_medians"],
                                    "paired": r, "goal": f"<= {goal}" if goal else None,
                                    "met": (r["of_medians"] <= goal) if goal else None})

    return {
        "benchmark": "mlp",
        "date": common.now(),
        "settings": {"model": f"{INPUT}-{HIDDEN} relu-{CLASSES}", "init": f"N(0, {INIT_STD}) weights and biases",
                     "loss": "softmax cross-entropy", "optimizer": f"SGD lr={LEARNING_RATE}",
                     "examples": examples, "data": data, "batch_sizes": list(batch_sizes), "seeds": seeds,
                     "repeats": repeats, "epochs_per_repeat": epochs_per_repeat, "warmup_rounds": warmup,
                     "order_per_repeat": list(contestants),
                     "torch_threads": torch_threads if torch_mod is not None else None,
                     "flops_per_example": FLOPS_PER_EXAMPLE,
                     "tiny_model": f"{TINY}-{TINY} relu-{CLASSES} (diagnostic)" if tiny else None,
                     "torch_loop": ("randperm slices of in-memory tensors, no DataLoader"
                                    + (" (+ DataLoader variant)" if torch_dataloader else "")),
                     "jax_platform": jax.default_backend(),
                     "xla_flags": os.environ.get("XLA_FLAGS", "")},
        "machine": {**common.machine(), "load_average_before_timing": load_before,
                    "load_average_after_timing": load_after,
                    "other_processes_cpu_share_during_timing": monitor.others_busy},
        "versions": common.versions(*(("torch",) if torch_mod is not None else ())),
        "jax_matmul_1024_gflops": peak,
        "compile_seconds": compile_s,
        "contestants": per_contestant,
        "comparisons": comparisons,
        "raw_epoch_seconds": epoch_s,
        "notes": notes,
        "total_seconds": time.perf_counter() - t_start,
    }


def tables(res: dict) -> str:
    """Markdown: speed per contestant, goals, compile times."""
    rows = []
    for name, c in res["contestants"].items():
        rows.append([name, c["batch_size"], c["runs"], c["steps_per_epoch"], c["epoch_seconds"]["median"],
                     c["epochs_per_second"], c["steps_per_second"], c["microseconds_per_step"],
                     "—" if c["model_gflops_per_second"] is None else c["model_gflops_per_second"],
                     f"{100 * c['epoch_seconds']['rel_iqr']:.0f}%"])
    out = [common.markdown_table(
        ["contestant", "batch", "runs", "steps/epoch", "median epoch s", "epochs/s", "steps/s (per run)",
         "µs/step", "matmul GFLOP/s (all runs)", "IQR/median"], rows)]
    rows = []
    for c in res["comparisons"]:
        met = "n/a" if c["met"] is None else ("yes" if c["met"] else "NO")
        rows.append([c["name"], c["ratio"], c["paired"]["paired_median"],
                     f"{common.fmt(c['paired']['paired_min'])}–{common.fmt(c['paired']['paired_max'])}",
                     c["goal"] or "—", met])
    if rows:
        out.append(common.markdown_table(
            ["comparison", "ratio (of medians)", "median paired ratio", "paired range", "goal", "met?"], rows))
    out.append(common.markdown_table(["compiled function", "compile s"],
                                     [[k, v] for k, v in res["compile_seconds"].items()]))
    return "\n\n".join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7, help="timed rounds (median reported); default 7")
    p.add_argument("--epochs-per-repeat", type=int, default=1, help="epochs per contestant per round")
    p.add_argument("--quick", action="store_true", help="fast check: 3 repeats, 2,000 examples")
    p.add_argument("--examples", type=int, default=None, help="training examples (default 10,000)")
    p.add_argument("--batch-sizes", default="5,128", help="comma-separated; default 5,128")
    p.add_argument("--seeds", type=int, default=8, help="vmapped seeds; default 8")
    p.add_argument("--data", choices=["synthetic", "fashion_mnist"], default="synthetic")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    p.add_argument("--torch-threads", default=None,
                   help="comma-separated torch.set_num_threads values, one torch contestant each; the "
                        "first is the goals' baseline (default: os.cpu_count(),1)")
    p.add_argument("--torch-dataloader", action="store_true", help="also time a torch DataLoader loop")
    p.add_argument("--no-vmap", action="store_true", help="skip the vmapped-seeds comparison")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="CPU devices for the split 8-seed contestant (default: usable cores; 1 = none)")
    p.add_argument("--no-tiny", action="store_true", help="skip the diagnostic 8-8-10 MLP contestants")
    p.add_argument("--out", default=str(HERE / "results" / "mlp.json"), help="JSON output path ('' = none)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from jaxml.cpu_memory import keep_freed_memory_on_cpu
    from jaxml.train.run_sharding import request_cpu_devices

    # Before any JAX operation: one CPU device per core (--cpu-devices) for the split contestant;
    # every other contestant runs on device 0 as before.
    request_cpu_devices(args.cpu_devices)
    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for every contestant
    examples = args.examples or (2_000 if args.quick else 10_000)
    repeats = 3 if args.quick and args.repeats == 7 else args.repeats
    res = run(examples=examples, batch_sizes=tuple(int(b) for b in args.batch_sizes.split(",")),
              seeds=args.seeds, repeats=repeats, epochs_per_repeat=args.epochs_per_repeat, data=args.data,
              torch=not args.no_torch, torch_dataloader=args.torch_dataloader,
              torch_threads=[int(t) for t in args.torch_threads.split(",")] if args.torch_threads else None,
              vmap=not args.no_vmap, tiny=not args.no_tiny)
    m = res["machine"]
    print(f"\n## bench/mlp.py — {res['date']}\n")
    print(f"{m['cpu_model']} ({m['cpu_family_model']}), {m['cpus_usable']} usable cores; other processes used "
          f"{m['other_processes_cpu_share_during_timing']} of the CPU time during the timed rounds; "
          + ", ".join(f"{k} {v}" for k, v in res["versions"].items() if v) + "\n")
    pk = res["jax_matmul_1024_gflops"]
    if pk["before"] is not None:
        print(f"jax float32 1024x1024 matmul (the machine's practical ceiling): {pk['before']:.0f} GFLOP/s "
              f"before, {pk['after']:.0f} after the timed rounds\n")
    print(tables(res))
    for note in res["notes"]:
        print(f"\nNote: {note}")
    if args.out:
        path = common.write_json(args.out, res)
        print(f"\nwrote {path} ({res['total_seconds']:.0f} s in all)")
    return res


if __name__ == "__main__":
    main()
