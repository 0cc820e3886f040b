#!/usr/bin/env python
"""Training speed of the sequence models: jaxml vs PyTorch CPU eager, interleaved in one process.

Workloads (the settings of ``experiments/imdb_sentiment.py`` part (c) and of
``experiments/shakespeare_gpt.py``'s ``baby`` preset):

- ``lstm``: Embedding(10000, 16) -> LSTM(32) -> Dense(1) logit, binary cross-entropy, RMSprop lr 1e-3
  (rho 0.9, eps 1e-7), batch 128, ``--lstm-maxlen`` tokens per review (default 20, as part (c);
  ``--lstm-maxlen 20,200`` adds the length of part (e)), ``--lstm-examples`` synthetic reviews
  (uniform random ids; default 20,000 = IMDB's training split after the 20% validation hold-out).
  One unit = one epoch (every example once, fresh permutation, last partial batch trained on).
  * ``jaxml``: ``SequenceClassifier(body="lstm")`` under ``make_epoch_fn(make_train_step(...))``,
    jitted with the state donated: exactly what ``fit`` runs (one compiled ``lax.scan`` per epoch).
  * ``torch``: nn.Embedding, nn.LSTM(batch_first=True), nn.Linear, BCEWithLogitsLoss,
    torch.optim.RMSprop; a Python loop over ``randperm`` slices of in-memory tensors.
- ``gpt``: the ``baby`` GPT (6 layers, 6 heads, 384 wide, block 256, batch 64, dropout 0.2,
  vocabulary 84), AdamW lr 1e-3 (β2 0.99, weight decay 0.1), gradient clipping at norm 1.0, random
  (batch, block) windows of a synthetic token stream. One unit = ``--gpt-iters`` iterations.
  * ``jaxml``: ``GPT`` + the driver's scanned epoch over a ``jaxml.recipes.lm.BlockSource`` of
    ``--gpt-iters`` steps with ``make_train_step(next_token_loss)`` (the iterations as one compiled
    scan, jitted with the state donated: what ``fit`` runs per evaluation interval), the study's
    optimizer (``GPT_OPTIMIZER``: the baby preset's schedule).
  * ``torch``: the same architecture written as nanoGPT writes it (fused qkv Linear,
    ``F.scaled_dot_product_attention(is_causal=True)``, GELU (tanh form, as flax's ``nn.gelu``),
    pre-LayerNorm, learned positions, untied head), torch.optim.AdamW, clip_grad_norm_.
  Achieved FLOP/s use nanoGPT's count per token ``6 N + 12 L T D`` (N = parameters minus the
  token and position embeddings, which are lookups) and are reported as a fraction of this
  machine's measured float32 1024x1024 matmul rate (``common.jax_matmul_gflops``).

Each workload's contestants (jaxml, torch with all threads, torch with 1 thread) are interleaved on
their own, round after round in alternating order (``common.interleave``), so the noise of this
shared machine hits them alike; the figure is the ratio of medians (and the median of paired ratios).
``--gpt-batch 8,64`` times the GPT at several batch sizes in one run.
torch runs with ``torch.set_num_threads(os.cpu_count())`` (the goal's baseline) and with 1 thread (on
a loaded machine OpenMP threads spin-wait on each other); XLA uses its default thread pool. From GPT batch
``ONE_TORCH_FROM_GPT_BATCH`` (64) on, only the first (the baseline) runs: three such contestants at once
need ~20 GB.

Usage: ``python -m bench.sequence [--repeats 5] [--quick] [--only lstm|gpt] [--no-torch]``;
writes ``bench/results/sequence.json`` and ``bench/results/sequence.md`` and prints the tables.
"""
from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
import time

if __package__ in (None, ""):  # run as a file (python bench/sequence.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common
from bench.isolated import InProcess, Isolated

HERE = pathlib.Path(__file__).resolve().parent

GOAL = 1.0  # jaxml steps/s >= PyTorch eager steps/s
VOCAB, EMBED, UNITS, LSTM_BATCH, LSTM_LR = 10_000, 16, 32, 128, 1e-3
GPT = dict(num_layers=6, num_heads=6, embed_dim=384, block_size=256, batch_size=64, dropout=0.2, vocab=84)
# The baby preset's optimizer (experiments/shakespeare_gpt.py, 5,000 iterations): AdamW, 100 warm-up iterations,
# then a cosine decay to 0.1 x the learning rate. tests/bench/test_sequence.py checks it against the preset.
# From this GPT batch size on, a group holds jaxml and only the first torch thread count (the goal's baseline):
# at batch 64 the three contestants' peak resident sets were 6.1 (jaxml), 7.2 (torch, 2 threads) and 7.0 GB
# (torch, 1 thread), and one `make bench` run on the 24 GB VM had the group killed by the kernel's OOM killer
# (bench/README.md, "make bench, 2026-12-04/05, seventh session").
ONE_TORCH_FROM_GPT_BATCH = 64
GPT_OPTIMIZER = dict(name="adamw", learning_rate=1e-3, b2=0.99, weight_decay=0.1, clip_norm=1.0,
                     schedule="warmup_cosine", warmup_epochs=100, total_epochs=5_000, end_factor=0.1)


# ----------------------------------------------------------------------------- LSTM (part c)

def lstm_data(n: int, maxlen: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, size=(n, maxlen)).astype(np.int32)
    y = rng.integers(0, 2, size=n).astype(np.int32)
    return x, y


class JaxUnits:
    """A compiled unit of work plus the state it carries; each call runs one unit (blocking)."""

    def __init__(self, compiled, state, args_fn):
        self.compiled, self.state, self.args_fn, self.calls = compiled, state, args_fn, 0

    def __call__(self):
        import jax

        self.state, out = self.compiled(self.state, *self.args_fn(self.calls))
        self.calls += 1
        return jax.block_until_ready((self.state, out))


def build_jax_lstm(x, y, unroll: int = 1):
    import jax
    import jax.numpy as jnp

    from jaxml.models.rnn import SequenceClassifier
    from jaxml.train import create_state, make_optimizer
    from jaxml.train.epoch import make_epoch_fn
    from jaxml.train.steps import make_train_step

    model = SequenceClassifier(vocab_size=VOCAB, embed_dim=EMBED, body="lstm", units=(UNITS,), unroll=unroll)
    tx = make_optimizer({"name": "rmsprop", "learning_rate": LSTM_LR, "eps": 1e-7})
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.asarray(x[:1])))(jax.random.PRNGKey(0))
    data = {"x": jnp.asarray(x), "y": jnp.asarray(y)}
    epoch = jax.jit(make_epoch_fn(make_train_step("binary_cross_entropy"), LSTM_BATCH), donate_argnums=0)
    keys = jax.random.split(jax.random.PRNGKey(1), 64)
    compiled, seconds = common.compile_jitted(epoch, state, data, keys[0])
    return JaxUnits(compiled, state, lambda i: (data, keys[i % len(keys)])), seconds


class TorchLSTM:
    def __init__(self, torch, x, y, threads: int, seed: int = 0):
        nn = torch.nn
        torch.manual_seed(seed)
        self.torch, self.threads = torch, threads

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(VOCAB, EMBED)
                self.lstm = nn.LSTM(EMBED, UNITS, batch_first=True)
                self.out = nn.Linear(UNITS, 1)

            def forward(self, tokens):
                _, (h, _) = self.lstm(self.emb(tokens))
                return self.out(h[-1]).squeeze(-1)

        self.model = Net()
        self.opt = torch.optim.RMSprop(self.model.parameters(), lr=LSTM_LR, alpha=0.9, eps=1e-7)
        self.loss = nn.BCEWithLogitsLoss()
        self.x, self.y = torch.from_numpy(x).long(), torch.from_numpy(y).float()
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self):
        torch = self.torch
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        perm = torch.randperm(self.x.shape[0], generator=self.gen)
        for idx in perm.split(LSTM_BATCH):
            self.opt.zero_grad()
            loss = self.loss(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.opt.step()


# ----------------------------------------------------------------------------- GPT (baby)

def gpt_flops_per_token(n_matmul_params: int) -> float:
    return 6 * n_matmul_params + 12 * GPT["num_layers"] * GPT["block_size"] * GPT["embed_dim"]


def build_jax_gpt(stream, iters: int, batch: int = GPT["batch_size"]):
    import jax
    import jax.numpy as jnp

    from jaxml.models import count_params
    from jaxml.models.transformer import GPT as Model
    from jaxml.recipes.lm import BlockSource, next_token_loss
    from jaxml.train import create_state, make_optimizer, make_train_step
    from jaxml.train.epoch import scan_epoch

    model = Model(vocab_size=GPT["vocab"], block_size=GPT["block_size"], num_layers=GPT["num_layers"],
                  num_heads=GPT["num_heads"], embed_dim=GPT["embed_dim"], dropout_rate=GPT["dropout"])
    tx = make_optimizer(dict(GPT_OPTIMIZER), steps_per_epoch=1)  # iteration-based: one "epoch" = one iteration
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, GPT["block_size"]), jnp.int32)))(
        jax.random.PRNGKey(0))
    p = state.params
    n_matmul = count_params(p) - p["wte"].size - p["wpe"].size
    source = BlockSource(jnp.asarray(stream), batch, GPT["block_size"], steps=iters)
    epoch = jax.jit(scan_epoch(make_train_step(next_token_loss), source), donate_argnums=0)
    keys = jax.random.split(jax.random.PRNGKey(2), 64)
    compiled, seconds = common.compile_jitted(epoch, state, source.arrays, keys[0])
    return JaxUnits(compiled, state, lambda i: (source.arrays, keys[i % len(keys)])), seconds, n_matmul


class TorchGPT:
    def __init__(self, torch, stream, iters: int, threads: int, seed: int = 0, batch: int = GPT["batch_size"]):
        nn, F = torch.nn, torch.nn.functional
        torch.manual_seed(seed)
        self.torch, self.iters, self.threads, self.batch = torch, iters, threads, batch
        d, h, t, v, pdrop = GPT["embed_dim"], GPT["num_heads"], GPT["block_size"], GPT["vocab"], GPT["dropout"]

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
                self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
                self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
                self.gelu, self.drop = nn.GELU(approximate="tanh"), nn.Dropout(pdrop)

            def forward(self, x):
                b, tt, _ = x.shape
                q, k, vv = self.c_attn(self.ln_1(x)).split(d, dim=2)
                q, k, vv = (z.view(b, tt, h, d // h).transpose(1, 2) for z in (q, k, vv))
                y = F.scaled_dot_product_attention(q, k, vv, dropout_p=pdrop if self.training else 0.0,
                                                   is_causal=True)
                x = x + self.drop(self.c_proj(y.transpose(1, 2).contiguous().view(b, tt, d)))
                return x + self.drop(self.proj(self.gelu(self.fc(self.ln_2(x)))))

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.wte, self.wpe = nn.Embedding(v, d), nn.Embedding(t, d)
                self.drop = nn.Dropout(pdrop)
                self.blocks = nn.ModuleList([Block() for _ in range(GPT["num_layers"])])
                self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, v)

            def forward(self, idx):
                x = self.drop(self.wte(idx) + self.wpe(torch.arange(idx.shape[1])))
                for blk in self.blocks:
                    x = blk(x)
                return self.head(self.ln_f(x))

        self.model = Net().train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
        self.data = torch.from_numpy(stream).long()
        self.gen = torch.Generator().manual_seed(seed)
        self.n_matmul = sum(p.numel() for p in self.model.parameters()) - self.model.wte.weight.numel() \
            - self.model.wpe.weight.numel()

    def __call__(self):
        torch, F = self.torch, self.torch.nn.functional
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        b, t = self.batch, GPT["block_size"]
        for _ in range(self.iters):
            ix = torch.randint(len(self.data) - t, (b,), generator=self.gen)
            x = torch.stack([self.data[i:i + t] for i in ix])
            y = torch.stack([self.data[i + 1:i + 1 + t] for i in ix])
            logits = self.model(x)
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()


# ----------------------------------------------------------------------------- contestants

def gpt_stream():
    """The synthetic token stream every GPT contestant samples its windows from (seeded)."""
    import numpy as np

    return np.random.default_rng(0).integers(0, GPT["vocab"], size=1_000_000).astype(np.int32)


def contestant(kind: str, framework: str, threads: int | None = None, *, maxlen: int = 20, examples: int = 20_000,
               unroll: int = 1, batch: int = GPT["batch_size"], iters: int = 1):
    """``(unit, info)`` of one contestant: ``unit()`` runs one unit of work; ``info`` holds its compile
    seconds and matmul parameter count where they apply. What ``run`` builds in each contestant's process
    (``bench.isolated.Isolated``) or, with ``isolate=False``, in its own."""
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for every contestant
    if kind == "lstm":
        x, y = lstm_data(examples, maxlen)
        if framework == "jaxml":
            unit, seconds = build_jax_lstm(x, y, unroll=unroll)
            return unit, {"compile_seconds": seconds}
        import torch

        return TorchLSTM(torch, x, y, threads), {}
    if kind != "gpt":
        raise ValueError(f"unknown workload {kind!r}; expected 'lstm' or 'gpt'")
    if framework == "jaxml":
        unit, seconds, n = build_jax_gpt(gpt_stream(), iters, batch=batch)
        return unit, {"compile_seconds": seconds, "n_matmul": n}
    import torch

    unit = TorchGPT(torch, gpt_stream(), iters, threads, batch=batch)
    return unit, {"n_matmul": unit.n_matmul}


# ----------------------------------------------------------------------------- the run

def plan_groups(*, only, frameworks, lstm_examples, lstm_maxlens, lstm_unroll, gpt_iters, gpt_batches):
    """``(groups, units)``: one group of contestants per workload, interleaved on its own (each contestant is
    built, and with ``isolate=True`` run, in a process of its own, so none inherits another's heap or threads).
    ``frameworks`` lists ``(framework, threads)``, jaxml first, then torch's thread counts with the goal's
    baseline first; a group is ``{name: contestant kwargs}``; ``units[name]`` is (workload, sequence length,
    steps per unit, batch)."""
    groups, units = [], {}
    if "lstm" in only:
        steps = math.ceil(lstm_examples / LSTM_BATCH)
        for maxlen in lstm_maxlens:
            group = {}
            for framework, t in frameworks:
                for u in (lstm_unroll if framework == "jaxml" else (1,)):
                    name = (f"jaxml_lstm_T{maxlen}" + (f"_unroll{u}" if u != 1 else "") if framework == "jaxml"
                            else f"torch{t}t_lstm_T{maxlen}")
                    group[name] = dict(kind="lstm", framework=framework, threads=t, maxlen=maxlen,
                                       examples=lstm_examples, unroll=u)
                    units[name] = ("lstm", maxlen, steps, LSTM_BATCH)
            groups.append(group)
    if "gpt" in only:
        for b in gpt_batches:
            group = {}
            for framework, t in (frameworks[:2] if b >= ONE_TORCH_FROM_GPT_BATCH else frameworks):
                name = f"jaxml_gpt_B{b}" if framework == "jaxml" else f"torch{t}t_gpt_B{b}"
                group[name] = dict(kind="gpt", framework=framework, threads=t, batch=b, iters=gpt_iters)
                units[name] = ("gpt", GPT["block_size"], gpt_iters, b)
            groups.append(group)
    return groups, units


def run(*, only=("lstm", "gpt"), repeats: int = 5, warmup: int = 1, lstm_repeats: int | None = None,
        lstm_examples: int = 20_000,
        lstm_maxlens=(20,), lstm_unroll=(1,), gpt_iters: int = 1, gpt_batches=(GPT["batch_size"],),
        torch: bool = True, torch_threads=None, isolate: bool = True, log=print) -> dict:
    t_start = time.perf_counter()
    torch_mod = common.optional_import("torch") if torch else None
    notes = []
    if torch and torch_mod is None:
        notes.append("torch is not importable: the PyTorch baseline was skipped.")
    # One torch contestant per thread count; the first (all cores) is the goal's baseline. On a
    # loaded machine torch's OpenMP threads can spin-wait on each other, so 1 thread is timed too.
    torch_threads = list(dict.fromkeys(torch_threads or [os.cpu_count(), 1]))
    frameworks = [("jaxml", None)] + [("torch", t) for t in (torch_threads if torch_mod is not None else [])]
    groups, units = plan_groups(only=only, frameworks=frameworks, lstm_examples=lstm_examples,
                                lstm_maxlens=lstm_maxlens, lstm_unroll=lstm_unroll, gpt_iters=gpt_iters,
                                gpt_batches=gpt_batches)
    log(f"[bench/sequence] timing {[list(g) for g in groups]}, each group interleaved "
        f"({'each contestant in its own process' if isolate else 'all in this process'}): {warmup} warm-up, "
        f"{repeats} repeats" + (f" ({lstm_repeats} for the LSTM groups)" if lstm_repeats else "") + " ...")
    peak = {"before": common.jax_matmul_gflops()}
    load_before = common.load_average()
    raw, compile_s, n_matmul = {}, {}, {}
    with common.CpuMonitor() as monitor:
        for group in groups:
            log(f"[bench/sequence] building {list(group)} ...")
            make = Isolated if isolate else InProcess
            built = {name: make("bench.sequence:contestant", **spec) for name, spec in group.items()}
            try:
                is_lstm = all(spec["kind"] == "lstm" for spec in group.values())
                common.interleave(built, repeats=lstm_repeats if is_lstm and lstm_repeats else repeats,
                                  warmup=warmup)
                for name, c in built.items():
                    raw[name] = c.seconds[warmup:]  # the contestant's own timing of each unit
                    if "compile_seconds" in c.info:
                        compile_s[name] = c.info["compile_seconds"]
                    if "n_matmul" in c.info:
                        n_matmul[name] = c.info["n_matmul"]
            finally:
                for c in built.values():
                    c.close()
    load_after = common.load_average()
    peak["after"] = common.jax_matmul_gflops()
    ceiling = max(peak["before"], peak["after"])

    per = {}
    for name, ts in raw.items():
        kind, length, steps, batch = units[name]
        s = common.spread(ts)
        row = {"workload": kind, "sequence_length": length, "batch": batch, "steps_per_unit": steps, "unit_seconds": s,
               "steps_per_second": steps / s["median"]}
        if kind == "gpt":
            tokens = steps * batch * GPT["block_size"]
            row["tokens_per_second"] = tokens / s["median"]
            row["matmul_params"] = n_matmul[name]
            row["model_gflops_per_second"] = gpt_flops_per_token(n_matmul[name]) * row["tokens_per_second"] / 1e9
            row["fraction_of_matmul_peak"] = row["model_gflops_per_second"] / ceiling
        per[name] = row
    comparisons = []
    for group in groups:  # each jaxml contestant against its group's torch contestants, the goal's baseline first
        bases = [n for n in group if not n.startswith("jaxml_")]
        for name in (n for n in group if n.startswith("jaxml_")):
            for i, base in enumerate(bases):
                r = common.ratio(raw[base], raw[name])  # time ratio torch/jax = speed ratio jax/torch
                comparisons.append({"name": f"{name} / {base} (steps/s)", "ratio": r["of_medians"], "paired": r,
                                    "goal": f">= {GOAL}" if i == 0 else "—",
                                    "met": (r["of_medians"] >= GOAL) if i == 0 else None})
    return {"benchmark": "sequence", "date": common.now(),
            "settings": {"lstm": {"examples": lstm_examples, "maxlens": list(lstm_maxlens), "batch": LSTM_BATCH,
                                  "vocab": VOCAB, "embed": EMBED, "units": UNITS, "optimizer": "RMSprop 1e-3",
                                  "unroll": list(lstm_unroll), "data": "synthetic uniform ids"},
                         "gpt": {**GPT, "batch_sizes": list(gpt_batches), "iters_per_unit": gpt_iters,
                                 "optimizer": "AdamW 1e-3 b2 0.99 wd 0.1 clip 1",
                                 "data": "synthetic uniform stream of 1e6 tokens"},
                         "repeats": repeats, "lstm_repeats": lstm_repeats or repeats, "warmup": warmup,
                         "isolated_processes": isolate,
                         "groups": [list(g) for g in groups],  # each interleaved alone, ABBA (common.interleave)
                         "torch_threads": torch_threads if torch_mod is not None else None,
                         "xla_flags": os.environ.get("XLA_FLAGS", "")},
            "machine": {**common.machine(), "load_average_before_timing": load_before,
                        "load_average_after_timing": load_after,
                        "other_processes_cpu_share_during_timing": monitor.others_busy},
            "versions": common.versions(*(("torch",) if torch_mod is not None else ())),
            "jax_matmul_1024_gflops": peak, "compile_seconds": compile_s, "contestants": per,
            "comparisons": comparisons, "raw_unit_seconds": raw, "notes": notes,
            "total_seconds": time.perf_counter() - t_start}


def tables(res: dict) -> str:
    rows = []
    for name, c in res["contestants"].items():
        rows.append([name, c["sequence_length"], c.get("batch", "—"), c["steps_per_unit"], c["unit_seconds"]["median"],
                     c["steps_per_second"], c.get("tokens_per_second", "—"),
                     c.get("model_gflops_per_second", "—"),
                     f"{100 * c['fraction_of_matmul_peak']:.1f}%" if "fraction_of_matmul_peak" in c else "—",
                     f"{100 * c['unit_seconds']['rel_iqr']:.0f}%"])
    out = [common.markdown_table(["contestant", "T", "B", "steps/unit", "median unit s", "steps/s", "tokens/s",
                                  "model GFLOP/s", "of matmul peak", "IQR/median"], rows)]
    rows = [[c["name"], c["ratio"], c["paired"]["paired_median"],
             f"{common.fmt(c['paired']['paired_min'])}–{common.fmt(c['paired']['paired_max'])}", c["goal"],
             "n/a" if c["met"] is None else ("yes" if c["met"] else "NO")] for c in res["comparisons"]]
    if rows:
        out.append(common.markdown_table(["comparison", "ratio (of medians)", "median paired ratio", "paired range",
                                          "goal", "met?"], rows))
    out.append(common.markdown_table(["compiled function", "compile s"],
                                     [[k, v] for k, v in res["compile_seconds"].items()]))
    return "\n\n".join(out)


def report(res: dict) -> str:
    m, pk = res["machine"], res["jax_matmul_1024_gflops"]
    head = (f"## bench/sequence.py — {res['date']}\n\n{m['cpu_model']}, {m['cpus_usable']} usable cores; other "
            f"processes used {m['other_processes_cpu_share_during_timing']} of the CPU time during the timed "
            f"rounds (load average {m['load_average_before_timing']} -> {m['load_average_after_timing']}); "
            + ", ".join(f"{k} {v}" for k, v in res["versions"].items() if v)
            + f"\n\njax float32 1024x1024 matmul: {pk['before']:.0f} GFLOP/s before, {pk['after']:.0f} after the "
              f"timed rounds (the 'matmul peak' is the larger).\n\n")
    return head + tables(res) + "".join(f"\n\nNote: {n}" for n in res["notes"]) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--lstm-repeats", type=int, default=None,
                   help="repeats of the LSTM groups (default: --repeats). An LSTM round takes about a second, so "
                        "more repeats cost little and keep a short disturbance of the machine out of the median")
    p.add_argument("--quick", action="store_true", help="3 repeats, 4,000 LSTM examples")
    p.add_argument("--only", default="lstm,gpt", help="comma-separated workloads: lstm, gpt")
    p.add_argument("--lstm-examples", type=int, default=None)
    p.add_argument("--lstm-maxlen", default="20", help="comma-separated sequence lengths (default 20)")
    p.add_argument("--lstm-unroll", default="1", help="comma-separated scan unroll factors for jaxml")
    p.add_argument("--gpt-iters", type=int, default=1, help="GPT iterations per timed unit")
    p.add_argument("--gpt-batch", default=str(GPT["batch_size"]),
                   help=f"comma-separated GPT batch sizes (default {GPT['batch_size']}, the baby preset's)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--same-process", action="store_true",
                   help="build and run every contestant in this process (default: each in its own, bench/isolated.py)")
    p.add_argument("--torch-threads", default=None,
                   help="comma-separated torch.set_num_threads values (default: os.cpu_count(),1); the first "
                        "is the goal's baseline")
    p.add_argument("--out", default=str(HERE / "results" / "sequence.json"), help="JSON path ('' = none)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for every contestant
    repeats = 3 if args.quick and args.repeats == 5 else args.repeats
    res = run(only=tuple(args.only.split(",")), repeats=repeats, warmup=args.warmup, lstm_repeats=args.lstm_repeats,
              lstm_examples=args.lstm_examples or (4_000 if args.quick else 20_000),
              lstm_maxlens=tuple(int(v) for v in args.lstm_maxlen.split(",")),
              lstm_unroll=tuple(int(v) for v in args.lstm_unroll.split(",")), gpt_iters=args.gpt_iters,
              gpt_batches=tuple(int(v) for v in args.gpt_batch.split(",")),
              torch=not args.no_torch, isolate=not args.same_process,
              torch_threads=[int(t) for t in args.torch_threads.split(",")] if args.torch_threads else None)
    text = report(res)
    print("\n" + text)
    if args.out:
        path = common.write_results(args.out, res, text)
        print(f"wrote {path} and its .md ({res['total_seconds']:.0f} s in all)")
    return res


if __name__ == "__main__":
    main()
