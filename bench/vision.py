#!/usr/bin/env python
"""Speed of vision training on the CPU: jaxml vs PyTorch eager, same networks, same batches.

Networks (batch 128, float32, softmax cross-entropy):

- ``mnist_cnn``: ``jaxml.models.cnn.mnist_cnn`` on 28x28x1 (conv 32 3x3 -> pool -> dropout 0.2 ->
  conv 32 3x3 -> BN -> pool -> dropout -> dense 64 -> 10; 61,546 parameters), Adam 1e-3;
- ``cnn2``: ``jaxml.models.cnn.cnn2`` on 28x28x1 (conv 64 7x7 -> pool -> dense 10; 80,650), Adam 1e-3;
- ``resnet18``: ``jaxml.models.resnet.resnet18`` with the CIFAR stem on 32x32x3 (11,173,962
  parameters), SGD momentum 0.9, lr 0.01.

The PyTorch twins are in ``bench/vision_torch.py``; their parameter counts are checked equal
before timing. Data: synthetic uniform [0, 1) images and random labels, held in memory.

Contestants, run INTERLEAVED (each repeat runs one "epoch" of ``--steps`` batches of each):

- ``jaxml``: the library as the studies run it on a CPU: the driver's host-loop epoch
  (``jaxml.train.epoch.host_epoch``: one compiled train step per batch), with the models' defaults ``conv_impl="auto"``
  and ``pool_impl="slices"`` (``jaxml.models.conv_impl``, ``jaxml.models.pooling``);
- ``jaxml_stock``: the same, but ``conv_impl="xla"`` and ``pool_impl="reduce_window"``: plain
  flax/XLA (``nn.Conv`` with ``lax.conv_general_dilated``, ``nn.max_pool``);
- ``jaxml_scan`` (CNNs only): the library's default formulations in the one-call scanned epoch
  (``jaxml.train.epoch.scan_epoch``, jitted: a ``lax.scan`` over the steps, as ``fit`` runs it).
  Not for ResNet-18: there a scanned epoch of 2 steps ran for minutes (convolution gradients inside
  XLA:CPU while loops; bench/README.md);
- ``torch_<t>t``: an eager loop (zero_grad, forward, cross_entropy, backward, step) over
  ``randperm`` slices with ``torch.set_num_threads(t)``, for t = all cores and 1.

Reported beside the speeds: each model's FLOPs per train step (3x the forward pass's, counted by
XLA's cost analysis of the plain lowered forward) and each contestant's model GFLOP/s as a fraction
of the measured matmul peak (``common.jax_matmul_gflops``, before and after the timed rounds).

Every contestant runs in this one process, so all share the malloc setting ``main`` applies on a
CPU (``jaxml.cpu_memory.keep_freed_memory_on_cpu``; it speeds up torch too). Run with
``JAXML_KEEP_FREED_MEMORY=0`` to time everything with glibc's default malloc.

Usage: ``python -m bench.vision [--models mnist_cnn,cnn2,resnet18] [--repeats 5] [--steps 20]
[--resnet-steps 2] [--quick]``; writes ``bench/results/vision{suffix}.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

if __package__ in (None, ""):  # run as a file (python bench/vision.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent

MODELS = ("mnist_cnn", "cnn2", "resnet18")
GOAL = 1.0  # jaxml steps/s over torch eager steps/s, every model
BATCH = 128


def spec(name: str) -> dict:
    """Input shape, optimizer and the two model constructors for a benchmark network."""
    from jaxml.models import cnn, resnet

    if name == "mnist_cnn":
        return {"shape": (28, 28, 1), "opt": "adam", "jax": lambda **kw: cnn.mnist_cnn(**kw), "torch": "mnist_cnn"}
    if name == "cnn2":
        return {"shape": (28, 28, 1), "opt": "adam", "jax": lambda **kw: cnn.cnn2(**kw), "torch": "cnn2"}
    if name == "resnet18":
        return {"shape": (32, 32, 3), "opt": "sgd",
                "jax": lambda pool_impl=None, **kw: resnet.resnet18(stem="cifar", **kw), "torch": "resnet18"}
    raise SystemExit(f"unknown model {name!r}; expected some of {list(MODELS)}")


def synthetic(n: int, shape, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n).astype(np.int32)


class JaxEpochs:
    """``steps`` compiled train steps (a host-loop epoch over n = steps * B examples) per call."""

    def __init__(self, model, opt: str, x, y, loop: str = "host"):
        import jax
        import jax.numpy as jnp

        from jaxml.train.epoch import host_epoch, scan_epoch
        from jaxml.train.optimizers import make_optimizer, optimizer_config
        from jaxml.train.sources import ArraySource
        from jaxml.train.state import create_state
        from jaxml.train.steps import make_train_step

        cfg = (optimizer_config(name="adam", learning_rate=1e-3) if opt == "adam" else
               optimizer_config(name="sgd", learning_rate=0.01, momentum=0.9))
        self.state = create_state(model, make_optimizer(cfg), jax.random.key(0), x[:2])
        self.n_params = sum(int(p.size) for p in jax.tree_util.tree_leaves(self.state.params))
        self.data = {"x": jnp.asarray(x), "y": jnp.asarray(y)}
        # The driver's own epochs (what fit runs): a host loop of compiled steps, or the jitted scan.
        source, step = ArraySource(self.data, BATCH), make_train_step("cross_entropy")
        if loop == "scan":
            self.epoch = jax.jit(scan_epoch(step, source), donate_argnums=0)
        else:
            self.epoch = host_epoch(step, source)
        self.key, self.calls = jax.random.key(1), 0

    def __call__(self):
        import jax

        self.calls += 1
        self.state, metrics = self.epoch(self.state, self.data, jax.random.fold_in(self.key, self.calls))
        return jax.block_until_ready((self.state, metrics))


class TorchEpochs:
    """The same network and optimizer in a PyTorch eager loop; one epoch per call."""

    def __init__(self, torch, name: str, opt: str, x, y, threads: int):
        from bench import vision_torch as vt  # imports torch
        torch.manual_seed(0)
        self.torch, self.threads = torch, threads
        self.model = getattr(vt, name)()
        self.n_params = vt.count(self.model)
        self.opt = (torch.optim.Adam(self.model.parameters(), lr=1e-3) if opt == "adam" else
                    torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9))
        self.x = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        self.y = torch.from_numpy(y).long()
        self.gen = torch.Generator().manual_seed(0)
        self.model.train()

    def __call__(self):
        torch = self.torch
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        F = torch.nn.functional
        for idx in torch.randperm(self.x.shape[0], generator=self.gen).split(BATCH):
            self.opt.zero_grad()
            F.cross_entropy(self.model(self.x[idx]), self.y[idx]).backward()
            self.opt.step()
        return None


def train_flops_per_step(model, x) -> float:
    """Model FLOPs of one train step on the batch ``x``: 3x the forward pass's FLOPs (forward, then the
    input and weight gradients), the forward's counted by XLA's cost analysis of the plain lowered
    program (``model`` should be the ``conv_impl="xla"`` one, whose convolutions are single ops;
    multiply-adds count 2, elementwise ops 1)."""
    import jax

    variables = model.init(jax.random.key(0), x[:1])
    cost = jax.jit(lambda v, x: model.apply(v, x, train=False)).lower(variables, x).cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return 3.0 * float(cost["flops"])


def run(models=MODELS, repeats: int = 5, steps: int = 20, resnet_steps: int = 2, torch_threads=None,
        log=print) -> dict:
    import jax

    from jaxml import cpu_memory

    torch = common.optional_import("torch")
    notes = []
    if torch is None:
        notes.append("torch is not importable: baselines skipped (pip install -e '.[bench]').")
        log(f"[bench/vision] {notes[-1]}")
    torch_threads = list(dict.fromkeys(torch_threads or [os.cpu_count(), 1]))
    t_start = time.perf_counter()
    results = {}
    peak = {"before": common.jax_matmul_gflops()}
    with common.CpuMonitor() as mon:
        for name in models:
            s = spec(name)
            n_steps = resnet_steps if name == "resnet18" else steps
            x, y = synthetic(n_steps * BATCH, s["shape"])
            flops = train_flops_per_step(s["jax"](conv_impl="xla", pool_impl="reduce_window"), x[:BATCH])
            contestants = {
                "jaxml": JaxEpochs(s["jax"](), s["opt"], x, y),
                "jaxml_stock": JaxEpochs(s["jax"](conv_impl="xla", pool_impl="reduce_window"), s["opt"], x, y),
            }
            if name != "resnet18":
                contestants["jaxml_scan"] = JaxEpochs(s["jax"](), s["opt"], x, y, loop="scan")
            if torch is not None:
                for t in torch_threads:
                    contestants[f"torch_{t}t"] = TorchEpochs(torch, s["torch"], s["opt"], x, y, t)
            counts = {k: c.n_params for k, c in contestants.items()}
            if len(set(counts.values())) != 1:
                raise SystemExit(f"[bench/vision] {name}: parameter counts differ: {counts}")
            first = {}
            for k, c in contestants.items():  # first call: compiles (jaxml); not part of the timings
                first[k] = common.time_once(c)
            log(f"[bench/vision] {name}: {n_steps} steps of batch {BATCH} per repeat; first call (compile) "
                + ", ".join(f"{k} {v:.1f} s" for k, v in first.items()))
            times = common.interleave(contestants, repeats=repeats, warmup=1)
            steps_per_s = {k: n_steps / common.median(v) for k, v in times.items()}
            ratios = {}
            for k in times:
                if k.startswith("torch"):
                    ratios[f"jaxml/{k}"] = common.ratio(times[k], times["jaxml"])
                    ratios[f"jaxml_stock/{k}"] = common.ratio(times[k], times["jaxml_stock"])
            ratios["jaxml/jaxml_stock"] = common.ratio(times["jaxml_stock"], times["jaxml"])
            for k in times:
                if k.startswith("torch") and "jaxml_scan" in times:
                    ratios[f"jaxml_scan/{k}"] = common.ratio(times[k], times["jaxml_scan"])
            results[name] = {"steps_per_repeat": n_steps, "batch": BATCH, "n_params": counts["jaxml"],
                             "train_flops_per_step": flops,
                             "model_gflops_per_s": {k: v * flops / 1e9 for k, v in steps_per_s.items()},
                             "first_call_s": first, "seconds": times,
                             "spread": {k: common.spread(v) for k, v in times.items()},
                             "steps_per_s": steps_per_s, "speed_ratios": ratios}
            log(f"[bench/vision] {name}: " + ", ".join(f"{k} {v:.2f} steps/s" for k, v in steps_per_s.items()))
    peak["after"] = common.jax_matmul_gflops()
    ceiling = max(peak.values())
    for r in results.values():
        r["fraction_of_matmul_peak"] = {k: v / ceiling for k, v in r["model_gflops_per_s"].items()}
    return {"benchmark": "vision", "date": common.now(), "machine": common.machine(),
            "versions": common.versions("torch"), "malloc": cpu_memory.status(), "backend": jax.default_backend(),
            "settings": {"models": list(models), "repeats": repeats, "steps": steps, "resnet_steps": resnet_steps,
                         "batch": BATCH, "torch_threads": torch_threads, "goal_jaxml_over_torch": GOAL},
            "others_busy": mon.others_busy, "wall_s": time.perf_counter() - t_start, "notes": notes,
            "jax_matmul_1024_gflops": peak,
            "results": results}


def tables(res: dict) -> str:
    rows = []
    for name, r in res["results"].items():
        sps = r["steps_per_s"]
        torch_keys = [k for k in sps if k.startswith("torch")]
        nan = float("nan")
        row = [name, f"{r['n_params']:,}", sps["jaxml"], sps.get("jaxml_scan", nan), sps["jaxml_stock"]]
        row += [sps[k] for k in torch_keys]
        row += [r["speed_ratios"][f"jaxml/{k}"]["of_medians"] for k in torch_keys]
        row += [r["speed_ratios"].get(f"jaxml_scan/{k}", {}).get("of_medians", nan) for k in torch_keys]
        row += [r["speed_ratios"][f"jaxml_stock/{k}"]["of_medians"] for k in torch_keys]
        row += [r["speed_ratios"]["jaxml/jaxml_stock"]["of_medians"]]
        rows.append((row, torch_keys))
    if not rows:
        return ""
    torch_keys = rows[0][1]
    headers = (["model", "params", "jaxml (host loop) steps/s", "jaxml (scanned epoch) steps/s", "stock flax steps/s"]
               + [f"{k} steps/s" for k in torch_keys] + [f"jaxml host / {k}" for k in torch_keys]
               + [f"jaxml scan / {k}" for k in torch_keys] + [f"stock / {k}" for k in torch_keys]
               + ["jaxml host / stock"])
    m = res["machine"]
    head = (f"Batch {res['settings']['batch']}, {res['settings']['repeats']} interleaved repeats (medians), "
            f"{res['date']}, {m.get('cpu_model')} ({m.get('cpus_usable')} cores usable), backend "
            f"{res['backend']}, jax {res['versions'].get('jax')}, torch {res['versions'].get('torch')}, "
            f"malloc kept (jaxml.cpu_memory): {res['malloc']['applied']}; other processes used "
            f"{res['others_busy']} of the CPU time; wall {res['wall_s']:.0f} s.")
    text = head + "\n\n" + common.markdown_table(headers, [r for r, _ in rows])
    pk = res.get("jax_matmul_1024_gflops")
    if pk:  # files written before the FLOP count was added have neither
        keys = [k for k in next(iter(res["results"].values()))["steps_per_s"]]
        peak_rows = [[name, f"{r['train_flops_per_step'] / 1e9:.1f}"]
                     + [f"{r['model_gflops_per_s'][k]:.1f} ({100 * r['fraction_of_matmul_peak'][k]:.0f}%)"
                        if k in r["model_gflops_per_s"] else "—" for k in keys]
                     for name, r in res["results"].items()]
        text += (f"\n\nModel GFLOP/s (3x the forward pass's FLOPs per train step, XLA's cost analysis of the plain "
                 f"forward) and their fraction of the measured matmul peak (jax float32 1024x1024 matmul: "
                 f"{pk['before']:.0f} GFLOP/s before, {pk['after']:.0f} after the timed rounds; the larger is the "
                 f"peak):\n\n" + common.markdown_table(["model", "GFLOP per train step"]
                                                         + [f"{k} GFLOP/s (of peak)" for k in keys], peak_rows))
    return text


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=20, help="train steps per repeat (CNNs)")
    p.add_argument("--resnet-steps", type=int, default=2, help="train steps per repeat (ResNet-18)")
    p.add_argument("--torch-threads", default=None, help="comma-separated thread counts (default: all cores, 1)")
    p.add_argument("--quick", action="store_true", help="1 repeat, 2 steps, CNNs only (a smoke run)")
    p.add_argument("--out", default=str(HERE / "results" / "vision"), help="output path without suffix")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    a = parse_args(argv)
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for every contestant
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in models:
        spec(m)  # validates the name
    threads = [int(t) for t in a.torch_threads.split(",")] if a.torch_threads else None
    if a.quick:
        models, a.repeats, a.steps = [m for m in models if m != "resnet18"] or ["cnn2"], 1, 2
    res = run(models, a.repeats, a.steps, a.resnet_steps, threads)
    md = tables(res)
    print(md)
    common.write_results(a.out, res, md)
    return res


if __name__ == "__main__":
    main()
