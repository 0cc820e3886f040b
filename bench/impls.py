#!/usr/bin/env python
"""Does each "auto" switch pick the fastest formulation on this backend? One workload per switch, every candidate timed.

The library has three formulation switches whose "auto" value depends on the backend:
``attention_impl`` (:mod:`jaxml.models.attention_impl`), ``lstm_impl`` (:mod:`jaxml.models.lstm_scan`) and
``conv_impl`` (:mod:`jaxml.models.conv_impl`). Each candidate computes the same function of the same
parameters (the tests check that); this benchmark times a jitted forward + backward pass of each on the
default backend (CPU or GPU), interleaved in one process, and reports the median, each candidate's time over
that of the one "auto" picks, and whether "auto" picked the fastest.

Workloads (``--quick`` shrinks them to a smoke run):

- attention: causal self-attention, q/k/v (B, 6 heads, T 256, d 64) as the baby GPT's layers, float32 and
  bfloat16; loss sum(Z**2), gradients w.r.t. q, k and v. Candidates "plain", "xla", and "cudnn" on a GPU
  with bfloat16.
- lstm: ``Recurrent("lstm", 32)`` over (B 128, T 100, 16) float32 inputs (the IMDB LSTM's layer); gradients
  w.r.t. the parameters and the inputs. Candidates "autodiff", "custom_vjp".
- conv: ``nn.Conv(C, 3x3)`` over (B 128, 32, 32, 64) and (B 128, 16, 16, 128) float32 (ResNet-18's first and
  second stages); gradients w.r.t. the parameters and the inputs. Candidates "xla", "patches",
  "batch_chunked", "winograd" and "auto" itself (which may chunk by another size).

Usage: ``python -m bench.impls [--repeats 7] [--quick] [--only attention,lstm,conv]``; writes
``bench/results/impls_<backend>.json`` and ``.md`` (``--out`` sets the path without suffix).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent
FAMILIES = ("attention", "lstm", "conv")


def _timed_grad(loss, *args):
    """A zero-argument callable running one jitted value-and-gradient of ``loss`` at ``args``, and its compile s."""
    import jax

    compiled, seconds = common.compile_jitted(jax.jit(jax.value_and_grad(loss, argnums=tuple(range(len(args))))),
                                              *args)
    return (lambda: compiled(*args)), seconds


def attention_cases(quick: bool, batch: int | None):
    import jax
    import jax.numpy as jnp

    from jaxml.models.attention import scaled_dot_product_attention
    from jaxml.models.attention_impl import choose_attention_impl, jax_attention

    b, h, t, d = (2, 2, 32, 16) if quick else (batch or (64 if jax.default_backend() == "gpu" else 8), 6, 256, 64)
    for dtype in (jnp.float32, jnp.bfloat16):
        q, k, v = (jax.random.normal(jax.random.key(i), (b, h, t, d), dtype) for i in range(3))
        candidates = ["plain", "xla"] + (["cudnn"] if jax.default_backend() == "gpu" and dtype == jnp.bfloat16 else [])

        def loss_for(impl):
            def loss(q_, k_, v_):
                if impl == "plain":
                    z = scaled_dot_product_attention(q_, k_, v_, causal=True)[0]
                else:
                    z = jax_attention(q_, k_, v_, causal=True, implementation=impl)
                return jnp.sum(jnp.square(z.astype(jnp.float32)))
            return loss

        yield {"family": "attention", "workload": f"causal B{b} H{h} T{t} d{d}", "dtype": jnp.dtype(dtype).name,
               "auto": choose_attention_impl("auto", dtype=dtype, head_dim=d),
               "candidates": {c: _timed_grad(loss_for(c), q, k, v) for c in candidates}}


def lstm_cases(quick: bool, batch: int | None):
    import jax
    import jax.numpy as jnp

    from jaxml.models.lstm_scan import choose_lstm_impl
    from jaxml.models.rnn import Recurrent

    b, t, d, units = (4, 6, 3, 4) if quick else (batch or 128, 100, 16, 32)
    x = jax.random.normal(jax.random.key(0), (b, t, d))
    params = Recurrent("lstm", units).init(jax.random.key(1), x)

    def loss_for(impl):
        layer = Recurrent("lstm", units, lstm_impl=impl)
        return lambda p, x: jnp.sum(jnp.square(layer.apply(p, x)))

    yield {"family": "lstm", "workload": f"Recurrent lstm {units} B{b} T{t} D{d}", "dtype": "float32",
           "auto": choose_lstm_impl("auto"),
           "candidates": {c: _timed_grad(loss_for(c), params, x) for c in ("autodiff", "custom_vjp")}}


def conv_cases(quick: bool, batch: int | None):
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from jaxml.models.conv_impl import CHUNK, auto_chunk, choose_impl, conv_fn

    shapes = [(4, 8, 8)] if quick else [(batch or 128, 32, 64), (batch or 128, 16, 128)]  # (B, H = W, C)
    for b, hw, c in shapes:
        x = jax.random.normal(jax.random.key(0), (b, hw, hw, c))
        params = nn.Conv(c, (3, 3), padding="SAME").init(jax.random.key(1), x)

        def loss_for(impl, c=c):
            conv = nn.Conv(c, (3, 3), padding="SAME", conv_general_dilated=conv_fn(impl))
            return lambda p, inputs: jnp.sum(jnp.square(conv.apply(p, inputs)))

        # "auto" is a candidate of its own here: where it picks batch_chunked it may use another chunk size
        # (auto_chunk) than the plain "batch_chunked" setting (CHUNK images).
        pick = choose_impl("auto", x.shape, (3, 3, c, c), (1, 1), "SAME")
        chunks = f", chunks of {auto_chunk((hw, hw))}" if pick == "batch_chunked" else ""
        yield {"family": "conv", "workload": f"3x3 conv {c}->{c}, B{b} {hw}x{hw} (auto: {pick}{chunks}; "
                                             f"batch_chunked: chunks of {CHUNK})", "dtype": "float32",
               "auto": "auto", "candidates": {i: _timed_grad(loss_for(i), params, x)
                                              for i in ("xla", "patches", "batch_chunked", "winograd", "auto")}}


CASES = {"attention": attention_cases, "lstm": lstm_cases, "conv": conv_cases}


def run(families=FAMILIES, repeats: int = 7, quick: bool = False, batch: int | None = None) -> dict:
    import jax

    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()
    rows = []
    for family in families:
        for case in CASES[family](quick, batch):
            fns = {name: fn for name, (fn, _) in case["candidates"].items()}
            with common.CpuMonitor() as mon:
                times = common.interleave(fns, repeats=repeats, warmup=1)
            med = {name: common.median(v) for name, v in times.items()}
            fastest = min(med, key=med.get)
            auto = case["auto"]
            row = {k: case[k] for k in ("family", "workload", "dtype", "auto")}
            row.update(fastest=fastest, auto_is_fastest=fastest == auto, others_busy=mon.others_busy,
                       median_ms={n: 1e3 * m for n, m in med.items()},
                       over_auto={n: common.ratio(times[n], times[auto]) for n in times},
                       compile_s={n: s for n, (_, s) in case["candidates"].items()}, raw_seconds=times)
            rows.append(row)
            print(f"[bench/impls] {row['family']} {row['workload']} {row['dtype']}: "
                  + ", ".join(f"{n} {v:.2f} ms" for n, v in row["median_ms"].items())
                  + f"; auto = {auto}, fastest = {fastest}", flush=True)
    return {"date": common.now(), "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
            "settings": {"repeats": repeats, "quick": quick, "batch": batch, "families": list(families)},
            "machine": common.machine(), "versions": common.versions(), "rows": rows}


def markdown(res: dict) -> str:
    table = []
    for r in res["rows"]:
        for n, ms in r["median_ms"].items():
            o = r["over_auto"][n]
            over = f"{common.fmt(o['of_medians'])} ({common.fmt(o['paired_min'])}–{common.fmt(o['paired_max'])})"
            table.append([r["family"], r["workload"], r["dtype"], n + (" (auto)" if n == r["auto"] else ""), ms,
                          over, "yes" if n == r["fastest"] else "", r["compile_s"][n]])
    head = (f"Backend {res['backend']} ({', '.join(res['devices'][:1])}), {res['machine'].get('cpu_model')}, "
            f"{res['settings']['repeats']} interleaved repeats after 1 warm-up, {res['date']}. Time of one jitted "
            "forward + backward pass (median, ms); 'over auto' = candidate time / time of auto's pick "
            "(ratio of medians, paired range; > 1: slower than auto's pick).")
    return head + "\n\n" + common.markdown_table(
        ["family", "workload", "dtype", "candidate", "median ms", "over auto", "fastest", "compile s"], table)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="tiny shapes, 2 repeats (a smoke run)")
    p.add_argument("--only", default=",".join(FAMILIES), help=f"comma-separated subset of {','.join(FAMILIES)}")
    p.add_argument("--batch", type=int, default=None, help="batch size of every workload (default: per workload)")
    p.add_argument("--out", default=None, help="output path without suffix (default bench/results/impls_<backend>)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    families = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise SystemExit(f"unknown famil(ies) {sorted(unknown)}: choose from {', '.join(FAMILIES)}")
    res = run(families, repeats=2 if args.quick else args.repeats, quick=args.quick, batch=args.batch)
    text = markdown(res)
    print("\n" + text)
    path = common.write_results(args.out or str(HERE / "results" / f"impls_{res['backend']}"), res, text)
    print(f"wrote {path} and its .md")
    return res


if __name__ == "__main__":
    main()
