#!/usr/bin/env python
"""Decoding speed: jaxml's cached, compiled generation vs ``transformers``' ``generate`` (PyTorch CPU eager),
interleaved in one process; and the char GPT's sampler with and without the key/value cache.

Workloads (random weights: speed does not depend on the values):

- ``gpt2``: GPT-2 small's shape (12 layers, 12 heads, width 768, vocabulary 50,257) and a small one
  (4 layers, 4 heads, width 256, vocabulary 8,000), built by ``transformers.GPT2LMHeadModel``,
  saved, and loaded by jaxml (the same weights in both). Prompts of ``--prompt-len`` random tokens,
  batch 1 and 8, ``--new-tokens`` (128) greedy tokens, no EOS (every row runs the full length).
  * ``jaxml``: ``jaxml.pretrained.generate.make_generate(model)``: one compiled program (prefill,
    then a ``while_loop`` of single-token steps over the cache), timed per call after warm-up.
  * ``torch``: ``model.generate(..., do_sample=False, use_cache=True)`` under ``torch.no_grad()``.
  Also timed alone: the prefill (one forward pass over the prompt filling the cache; jaxml: a
  jitted ``model.apply(..., cache=...)``, torch: ``model(prompt, use_cache=True)``); per-token time =
  (generate - prefill) / (new tokens - 1).
- ``char``: ``jaxml.models.transformer.make_generate`` (the Shakespeare GPT's sampler) with
  ``use_cache=False`` (re-runs the whole block window per token, the old sampler) vs the cached one,
  for the study's ``coursework`` preset (4 layers, 64 wide, block 32; 500 characters: 31 cached steps,
  then windowed ones) and the ``baby`` preset (6 layers, 384 wide, block 256; 255 characters, all cached).

Contestants run round-robin per repeat; the figure is the ratio of medians. The CPU share other
processes took during the timing (``CpuMonitor``) and the load average are recorded.

Usage: ``python -m bench.decode [--repeats 3] [--only gpt2|char] [--quick]``; writes
``bench/results/decode.json`` and ``bench/results/decode.md`` and prints the tables.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent
SHAPES = {"gpt2-small": dict(n_layer=12, n_head=12, n_embd=768, vocab_size=50257),
          "small": dict(n_layer=4, n_head=4, n_embd=256, vocab_size=8000)}
CHAR = {"coursework": dict(num_layers=4, num_heads=4, embed_dim=64, block_size=32, new=500),
        "baby": dict(num_layers=6, num_heads=6, embed_dim=384, block_size=256, new=255)}


def bench_gpt2(args, rows, raw):
    import tempfile

    import torch
    import transformers

    from jaxml.pretrained.convert import load_pretrained
    from jaxml.pretrained.generate import make_generate

    for name in args.shapes:
        torch.manual_seed(0)
        cfg = transformers.GPT2Config(n_positions=1024, bos_token_id=0, eos_token_id=0, **SHAPES[name])
        hf = transformers.GPT2LMHeadModel(cfg).eval()
        hf.generation_config.eos_token_id = None
        hf.generation_config.pad_token_id = 0
        with tempfile.TemporaryDirectory() as d:
            hf.save_pretrained(d)
            pre = load_pretrained(d)
        generate = make_generate(pre.model)
        for b in args.batches:
            row, times = _gpt2_case(args, name, b, hf, pre, generate)
            rows.append(row)
            raw[f"{name}/b{b}"] = times
            print(row, flush=True)


def _gpt2_case(args, name, b, hf, pre, generate):
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    from jaxml.models.gpt2 import init_cache

    n = args.new_tokens
    ids = np.random.default_rng(b).integers(1, pre.config.vocab_size, (b, args.prompt_len)).astype(np.int32)
    t_ids = torch.tensor(ids, dtype=torch.long)
    x = jnp.asarray(ids)
    prefill = jax.jit(lambda p, x: pre.model.apply({"params": p}, x, cache=init_cache(
        pre.config, x.shape[0], x.shape[1] + n))[0])

    def jax_gen():
        return generate(pre.params, ids, max_new_tokens=n, eos_token_id=-1)

    def torch_gen():
        with torch.no_grad():
            return hf.generate(t_ids, attention_mask=torch.ones_like(t_ids), max_new_tokens=n, min_new_tokens=n,
                               do_sample=False, use_cache=True)

    def jax_prefill():
        return prefill(pre.params, x)

    def torch_prefill():
        with torch.no_grad():
            return hf(t_ids, use_cache=True).logits

    t0 = time.perf_counter()
    first = jax_gen()
    compile_s = time.perf_counter() - t0
    same = bool(np.array_equal(first, torch_gen().numpy()))
    with common.CpuMonitor() as mon:
        times = common.interleave({"jaxml": jax_gen, "torch": torch_gen, "jaxml_prefill": jax_prefill,
                                   "torch_prefill": torch_prefill}, repeats=args.repeats, warmup=1)
    med = {k: common.median(v) for k, v in times.items()}
    row = {"model": name, "batch": b, "prompt": args.prompt_len, "new tokens": n,
           "jaxml tok/s": b * n / med["jaxml"], "torch tok/s": b * n / med["torch"],
           "ratio (jaxml/torch)": med["torch"] / med["jaxml"],
           "jaxml prefill ms": 1e3 * med["jaxml_prefill"], "torch prefill ms": 1e3 * med["torch_prefill"],
           "jaxml ms/token": 1e3 * (med["jaxml"] - med["jaxml_prefill"]) / (n - 1),
           "torch ms/token": 1e3 * (med["torch"] - med["torch_prefill"]) / (n - 1),
           "jaxml first call s (compile+run)": compile_s, "same tokens": same, "others busy": mon.others_busy}
    return row, times


def bench_char(args, rows, raw):
    for name, c in CHAR.items():
        row, times = _char_case(args, name, c)
        rows.append(row)
        raw[f"char/{name}"] = times
        print(row, flush=True)


def _char_case(args, name, c):
    import jax
    import jax.numpy as jnp

    from jaxml.models.transformer import GPT, make_generate

    model = GPT(vocab_size=84, block_size=c["block_size"], num_layers=c["num_layers"], num_heads=c["num_heads"],
                embed_dim=c["embed_dim"])
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, c["block_size"]), jnp.int32))["params"]
    old, new = make_generate(model, use_cache=False), make_generate(model)
    prompt = jnp.array([0], jnp.int32)
    n = c["new"] if not args.quick else min(c["new"], 16)
    fns = {"windowed": lambda: old(params, jax.random.key(1), prompt, n),
           "cached": lambda: new(params, jax.random.key(1), prompt, n)}
    same = bool((fns["windowed"]() == fns["cached"]()).all())
    with common.CpuMonitor() as mon:
        times = common.interleave(fns, repeats=args.repeats, warmup=1)
    med = {k: common.median(v) for k, v in times.items()}
    row = {"preset": name, "block": c["block_size"], "new chars": n, "windowed chars/s": n / med["windowed"],
           "cached chars/s": n / med["cached"], "speed-up": med["windowed"] / med["cached"],
           "same tokens": same, "others busy": mon.others_busy}
    return row, times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=("gpt2", "char"))
    ap.add_argument("--quick", action="store_true", help="small shape only, 16 new tokens, 1 repeat")
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--out", default=str(HERE / "results" / "decode"))
    args = ap.parse_args(argv)
    args.shapes, args.batches = list(SHAPES), [1, 8]
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # as the other benchmarks (jaxml.cpu_memory); recorded in machine()
    if args.quick:
        args.shapes, args.new_tokens, args.repeats = ["small"], 16, 1
    load_before = common.load_average()
    gpt_rows, char_rows, raw = [], [], {}
    if args.only in (None, "gpt2"):
        bench_gpt2(args, gpt_rows, raw)
    if args.only in (None, "char"):
        bench_char(args, char_rows, raw)
    payload = {"settings": vars(args), "machine": common.machine(),
               "versions": common.versions("torch", "transformers"),
               "date": common.now(), "load_average_before": load_before, "load_average_after": common.load_average(),
               "gpt2": gpt_rows, "char": char_rows, "raw_seconds": raw}
    md = []
    for title, rows in (("GPT-2 generation (greedy)", gpt_rows), ("char GPT sampler", char_rows)):
        if rows:
            md.append(f"### {title}\n\n" + common.markdown_table(list(rows[0]), [[common.fmt(v) if isinstance(
                v, float) else v for v in r.values()] for r in rows]))
    text = "\n\n".join(md)
    print(text)
    if args.out:
        common.write_results(args.out, payload, text)


if __name__ == "__main__":
    main()
