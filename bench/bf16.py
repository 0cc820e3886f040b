#!/usr/bin/env python
"""CPU training speed of bfloat16 vs float32 computation (``dtype=jnp.bfloat16``), interleaved in one process.

Workloads (what the ``half_precision`` switch of the studies changes):

- ``mnist_cnn``: ``jaxml.models.cnn.mnist_cnn`` (experiments/mnist_cnn.py), Adam lr 1e-3, batch 128,
  synthetic 28x28x1 images; one unit = ``--steps`` train steps as the driver's scanned epoch
  (``scan_epoch(make_train_step("cross_entropy"), ArraySource)``, jitted with the state donated: what
  ``fit`` runs with the study's ``epoch_loop="scan"``).
- ``gpt``: the character GPT of experiments/shakespeare_gpt.py's ``cpu`` preset (4 layers, 4 heads,
  128 wide, block 64, batch 12, vocabulary 65), AdamW lr 1e-3; one unit = ``--steps`` iterations on
  random windows of a synthetic token stream (``BlockSource`` + ``scan_epoch``, state donated).

Contestants ``float32`` and ``bfloat16`` are the same model, optimizer and data, differing only in
``dtype`` (parameters float32 in both); they run round-robin per repeat, so the noise of this shared
machine hits both alike. Compile time is measured apart; one warm-up round is thrown away; every
call is blocked on; the figure is the ratio of median times bf16 / f32 (> 1: bfloat16 is slower),
with the median of the paired per-repeat ratios as a cross-check. The load average before and after
and the share of the CPUs other processes used are recorded beside the numbers.

Usage: ``python -m bench.bf16 [--repeats 7] [--steps 10] [--only mnist_cnn|gpt] [--quick]``;
writes ``bench/results/bf16.json`` and ``bench/results/bf16.md`` and prints the table.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

if __package__ in (None, ""):  # run as a file (python bench/bf16.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent
WORKLOADS = ("mnist_cnn", "gpt")
CNN_BATCH = 128
GPT = dict(num_layers=4, num_heads=4, embed_dim=128, block_size=64, batch_size=12, vocab=65)


class Units:
    """A compiled scanned epoch plus the state it carries; each call runs one unit (blocking)."""

    def __init__(self, compiled, state, arrays, key):
        self.compiled, self.state, self.arrays, self.key, self.calls = compiled, state, arrays, key, 0

    def __call__(self):
        import jax

        self.calls += 1
        self.state, metrics = self.compiled(self.state, self.arrays, jax.random.fold_in(self.key, self.calls))
        return jax.block_until_ready((self.state, metrics))


def build_cnn(dtype, steps: int):
    """``(units, compile_seconds)`` for the MNIST CNN in ``dtype``."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxml.models.cnn import mnist_cnn
    from jaxml.train import create_state, make_optimizer, make_train_step
    from jaxml.train.epoch import scan_epoch
    from jaxml.train.sources import ArraySource

    rng = np.random.default_rng(0)
    n = steps * CNN_BATCH
    arrays = {"x": jnp.asarray(rng.random((n, 28, 28, 1), dtype=np.float32)),
              "y": jnp.asarray(rng.integers(0, 10, n).astype(np.int32))}
    model = mnist_cnn(dtype=dtype)
    tx = make_optimizer({"name": "adam", "learning_rate": 1e-3})
    state = jax.jit(lambda k: create_state(model, tx, k, arrays["x"][:2]))(jax.random.key(0))
    epoch = jax.jit(scan_epoch(make_train_step("cross_entropy"), ArraySource(arrays, CNN_BATCH)), donate_argnums=0)
    key = jax.random.key(1)
    compiled, seconds = common.compile_jitted(epoch, state, arrays, key)
    return Units(compiled, state, arrays, key), seconds


def build_gpt(dtype, steps: int):
    """``(units, compile_seconds)`` for the character GPT in ``dtype``."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxml.models.transformer import GPT as Model
    from jaxml.recipes.lm import BlockSource, next_token_loss
    from jaxml.train import create_state, make_optimizer, make_train_step
    from jaxml.train.epoch import scan_epoch

    stream = jnp.asarray(np.random.default_rng(0).integers(0, GPT["vocab"], 200_000).astype(np.int32))
    model = Model(vocab_size=GPT["vocab"], block_size=GPT["block_size"], num_layers=GPT["num_layers"],
                  num_heads=GPT["num_heads"], embed_dim=GPT["embed_dim"], dtype=dtype)
    tx = make_optimizer({"name": "adamw", "learning_rate": 1e-3}, steps_per_epoch=1)
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, GPT["block_size"]), jnp.int32)))(
        jax.random.key(0))
    source = BlockSource(stream, GPT["batch_size"], GPT["block_size"], steps=steps)
    epoch = jax.jit(scan_epoch(make_train_step(next_token_loss), source), donate_argnums=0)
    key = jax.random.key(2)
    compiled, seconds = common.compile_jitted(epoch, state, source.arrays, key)
    return Units(compiled, state, source.arrays, key), seconds


BUILDERS = {"mnist_cnn": build_cnn, "gpt": build_gpt}


def run(workloads=WORKLOADS, repeats: int = 7, steps: int = 10, log=print) -> dict:
    import jax
    import jax.numpy as jnp

    from jaxml import cpu_memory

    t_start = time.perf_counter()
    load_before = common.load_average()
    results = {}
    with common.CpuMonitor() as mon:
        for name in workloads:
            contestants, compile_s = {}, {}
            for label, dtype in (("float32", jnp.float32), ("bfloat16", jnp.bfloat16)):
                contestants[label], compile_s[label] = BUILDERS[name](dtype, steps)
            log(f"[bench/bf16] {name}: {steps} steps per repeat; compile "
                + ", ".join(f"{k} {v:.1f} s" for k, v in compile_s.items()))
            times = common.interleave(contestants, repeats=repeats, warmup=1)
            ms_per_step = {k: 1e3 * common.median(v) / steps for k, v in times.items()}
            results[name] = {"steps_per_repeat": steps, "compile_s": compile_s, "seconds": times,
                             "spread": {k: common.spread(v) for k, v in times.items()},
                             "ms_per_step": ms_per_step,
                             "bf16_over_f32_time": common.ratio(times["bfloat16"], times["float32"])}
            log(f"[bench/bf16] {name}: " + ", ".join(f"{k} {v:.1f} ms/step" for k, v in ms_per_step.items())
                + f"; bf16/f32 time {results[name]['bf16_over_f32_time']['of_medians']:.2f}")
    return {"benchmark": "bf16", "date": common.now(), "machine": common.machine(), "versions": common.versions(),
            "malloc": cpu_memory.status(), "backend": jax.default_backend(),
            "settings": {"workloads": list(workloads), "repeats": repeats, "steps": steps, "cnn_batch": CNN_BATCH,
                         "gpt": GPT},
            "load_average_before": load_before, "load_average_after": common.load_average(),
            "others_busy": mon.others_busy, "wall_s": time.perf_counter() - t_start, "results": results}


def tables(res: dict) -> str:
    rows = []
    for name, r in res["results"].items():
        q = r["bf16_over_f32_time"]
        rows.append([name, r["steps_per_repeat"], f"{r['ms_per_step']['float32']:.1f}",
                     f"{r['ms_per_step']['bfloat16']:.1f}", f"{q['of_medians']:.2f}",
                     f"{q['paired_median']:.2f} ({q['paired_min']:.2f}-{q['paired_max']:.2f})",
                     f"{r['spread']['float32']['rel_iqr']:.2f} / {r['spread']['bfloat16']['rel_iqr']:.2f}",
                     f"{r['compile_s']['float32']:.1f} / {r['compile_s']['bfloat16']:.1f}"])
    head = ["workload", "steps/repeat", "f32 ms/step", "bf16 ms/step", "bf16/f32 time (medians)",
            "paired median (range)", "rel. IQR f32 / bf16", "compile s f32 / bf16"]
    m = res["machine"]
    busy = res["others_busy"]
    return (common.markdown_table(head, rows)
            + f"\n\n{res['date']}, backend {res['backend']}, {m.get('cpu_model')}, "
            f"{m.get('cpus_usable')} usable cores; "
            f"{res['settings']['repeats']} interleaved repeats after 1 warm-up; load average before "
            f"{res['load_average_before']}, after {res['load_average_after']}; other processes used "
            f"{'?' if busy is None else f'{100 * busy:.0f}%'} of the CPUs during the run (shared, busy machine).")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--steps", type=int, default=10, help="train steps per timed unit")
    p.add_argument("--only", choices=WORKLOADS, default=None)
    p.add_argument("--quick", action="store_true", help="1 repeat of 2 steps (a smoke run)")
    p.add_argument("--out", default=str(HERE / "results" / "bf16"), help="output path without extension")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    a = parse_args(argv)
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for both contestants
    if a.quick:
        a.repeats, a.steps = 1, 2
    res = run([a.only] if a.only else list(WORKLOADS), a.repeats, a.steps)
    md = tables(res)
    print(md)
    common.write_results(a.out, res, md)
    return res


if __name__ == "__main__":
    main()
