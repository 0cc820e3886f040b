"""A character-level GPT on Shakespeare: training curves, samples, and block-size / head sweeps.

Coursework question: can a small decoder-only transformer learn to write Shakespeare-like text
character by character, and how do the context length (block size) and the number of attention
heads change what it learns?

Data: ``jaxml.data.load("shakespeare", "train" | "validation")`` (the complete works, 84
characters; first 90% train, last 10% validation). Model: :class:`jaxml.models.transformer.GPT`.
Training: the one driver, ``jaxml.train.fit``, with a :class:`jaxml.recipes.lm.BlockSource` of random
(batch, block) windows of the training text — one driver "epoch" is ``eval_interval`` iterations
(one compiled ``lax.scan``), the records' ``updates`` count iterations — and the next-token loss
(:func:`jaxml.recipes.lm.next_token_loss`) in the default classifier steps; AdamW. After every
interval (and at iteration 0) the loss on ``eval_batches`` random batches of train and of validation
(two more block sources with the fixed seed ``eval_seed``: the same batches every time); the
best-validation parameters (``EarlyStopping("val_loss", "min", patience=None)``: best among the
evaluations after training began) kept and checkpointed in the run's work directory, which a rerun
resumes; 500 characters sampled from a newline before and after training (from the best
parameters; ``sample_temperature``, ``sample_top_k``).

Outputs (``jaxml.study.experiment.run_parts``): ``results.md``, ``summary.json`` (``main``: the main
run; ``block_size``/``num_heads``: ``{"runs": [...]}``), ``main/`` (``metrics.jsonl``,
``checkpoints/``, ``loss.png``), ``<sweep>/`` (a work directory per value, ``sweep_<sweep>.png``).

Presets (``--config=``):

==============  ======  =====  =====  =====  =====  =======  ========  ===============================
preset          layers  heads  embed  block  batch  dropout  iters     optimizer
==============  ======  =====  =====  =====  =====  =======  ========  ===============================
``coursework``  4       4      64     32     16     0.0      5,000     AdamW lr 1e-3 constant (wd 0.01)
``cpu``         4       4      128    64     12     0.0      2,000     AdamW β2 0.99, cosine 1e-3 -> 1e-4
``baby``        6       6      384    256    64     0.2      5,000     AdamW β2 0.99, warmup 100,
                                                                       cosine 1e-3 -> 1e-4, wd 0.1,
                                                                       clip 1.0
``tiny``        1       2      16     8      4      0.0      20        (smoke test)
==============  ======  =====  =====  =====  =====  =======  ========  ===============================

Sweeps (``sweeps``, each a separate short run of ``sweep_iterations`` from the preset's settings,
curves on one plot per sweep plus a sample per run): ``block_size`` in ``sweep_block_sizes``
(2, 16, 64) and ``num_heads`` in ``sweep_heads`` (2, 4, 8). A sweep point whose settings equal
the main run's (same block, heads, iterations, evaluation interval, sample length) is that run.

    python -m experiments.shakespeare_gpt                      # coursework preset + sweeps
    python -m experiments.shakespeare_gpt --config=cpu --config.sweeps="()"
    python -m experiments.shakespeare_gpt --config=tiny        # seconds; used by the smoke test
"""
from __future__ import annotations

import pathlib
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.models import count_params
from jaxml.models.transformer import GPT, make_generate
from jaxml.recipes.lm import BlockSource, next_token_loss
from jaxml.report import line_plot, markdown_table
from jaxml.study.config import ConfigError, check_choice, check_config, check_range
from jaxml.study.experiment import machine_summary, run_experiment, run_parts
from jaxml.study.model_spec import write_model_spec
from jaxml.train import EarlyStopping, create_state, fit, make_eval_step, make_optimizer, make_train_step

NAME = "shakespeare_gpt"
PRESETS = ("coursework", "cpu", "baby", "tiny")
SWEEPS = ("block_size", "num_heads")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    preset = preset or "coursework"
    c = ml_collections.ConfigDict()
    c.preset = preset
    c.seed = 0
    c.num_layers, c.num_heads, c.embed_dim = 4, 4, 64
    c.block_size, c.batch_size = 32, 16
    c.dropout = 0.0
    c.iterations = 5000
    c.learning_rate = 1e-3
    c.b2 = 0.999
    c.weight_decay = 0.01        # torch.optim.AdamW's default, as in the coursework script
    c.schedule = "constant"      # or "warmup_cosine"
    c.warmup_iterations = 0
    c.end_factor = 0.1           # cosine: final lr = end_factor * learning_rate
    c.clip_norm = 0.0
    c.eval_interval = 250
    c.eval_batches = 50
    c.eval_seed = 0              # the evaluation batches (the same for every run and seed)
    c.sample_chars = 500
    c.sample_temperature = 1.0
    c.sample_top_k = 0
    c.sweeps = SWEEPS
    c.sweep_block_sizes = (2, 16, 64)
    c.sweep_heads = (2, 4, 8)
    c.sweep_iterations = 1000
    c.sweep_eval_interval = 250
    c.sweep_sample_chars = 200
    c.progress = True
    c.half_precision = False  # True: the model computes in bfloat16 (params, logits float32): GPUs/TPUs
    if preset == "cpu":
        c.embed_dim, c.block_size, c.batch_size = 128, 64, 12
        c.iterations = 2000
        c.b2, c.weight_decay = 0.99, 0.1
        c.schedule = "warmup_cosine"
        c.eval_batches = 20
    elif preset == "baby":
        c.num_layers, c.num_heads, c.embed_dim = 6, 6, 384
        c.block_size, c.batch_size = 256, 64
        c.dropout = 0.2
        c.iterations = 5000
        c.b2, c.weight_decay, c.clip_norm = 0.99, 0.1, 1.0
        c.schedule, c.warmup_iterations = "warmup_cosine", 100
        c.eval_batches = 200
        c.sweep_heads = (2, 4, 8)  # 384 is divisible by each
    elif preset == "tiny":
        c.num_layers, c.num_heads, c.embed_dim = 1, 2, 16
        c.block_size, c.batch_size = 8, 4
        c.iterations, c.eval_interval, c.eval_batches = 20, 20, 2
        c.sample_chars = 20
        # Sweep values equal to the main run's settings reuse that run (no extra compiles).
        c.sweep_block_sizes = (8,)
        c.sweep_heads = (2,)
        c.sweep_iterations, c.sweep_eval_interval, c.sweep_sample_chars = 20, 20, 20
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "schedule", ("constant", "warmup_cosine"))
    for s in c.sweeps:
        if s not in SWEEPS:
            raise ConfigError(f"config key 'sweeps' has unknown sweep {s!r}; expected a subset of {list(SWEEPS)}")
    check_range(c, "eval_seed", 0)
    for key in ("num_layers", "num_heads", "embed_dim", "block_size", "batch_size", "iterations", "eval_interval",
                "eval_batches", "sample_chars", "sweep_iterations", "sweep_eval_interval", "sweep_sample_chars",
                "sweep_block_sizes", "sweep_heads"):
        check_range(c, key, 1)
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "dropout", 0, 1, high_inclusive=False)
    check_range(c, "sample_temperature", 0, low_inclusive=False)
    check_range(c, "end_factor", 0, 1)
    check_config(c, nonnegative=("clip_norm", "weight_decay", "warmup_iterations", "sample_top_k"),
                 ranges={"b2": (0, 1)})  # and every *seed key (check_config's rule)
    for key, every in (("iterations", "eval_interval"), ("sweep_iterations", "sweep_eval_interval")):
        if c[key] % c[every]:
            raise ConfigError(f"config key {key!r} = {c[key]} must be a multiple of {every!r} = {c[every]}")
    for h in [c.num_heads, *(c.sweep_heads if "num_heads" in c.sweeps else ())]:
        if c.embed_dim % h:
            raise ConfigError(f"config key 'embed_dim' = {c.embed_dim} is not divisible by num_heads = {h}")
    if c.schedule == "warmup_cosine" and c.warmup_iterations >= c.iterations:
        raise ConfigError(f"config key 'warmup_iterations' = {c.warmup_iterations} must be < iterations")


def optimizer(c, iterations: int):
    cfg = {"name": "adamw", "learning_rate": c.learning_rate, "b2": c.b2, "weight_decay": c.weight_decay,
           "clip_norm": c.clip_norm, "schedule": c.schedule}
    if c.schedule == "warmup_cosine":
        cfg.update(warmup_epochs=c.warmup_iterations, total_epochs=iterations, end_factor=c.end_factor)
    return make_optimizer(cfg, steps_per_epoch=1)  # iteration-based: one "epoch" = one iteration


def train_one(c, data: dict, *, block_size: int, num_heads: int, iterations: int, eval_interval: int,
              sample_chars: int, workdir: pathlib.Path, desc: str) -> dict:
    train, val = data["train"], data["validation"]
    gpt_kwargs = {"vocab_size": train.vocab_size, "block_size": block_size, "num_layers": c.num_layers,
                  "num_heads": num_heads, "embed_dim": c.embed_dim, "dropout_rate": c.dropout,
                  "dtype": jnp.bfloat16 if c.half_precision else jnp.float32}
    model = GPT(**gpt_kwargs)
    # For python -m jaxml.trained.sample_text: the model and its characters, next to its checkpoints.
    write_model_spec(workdir, "gpt", gpt_kwargs, study=NAME, data={"vocab": "".join(train.vocab)})
    init_key, train_key, sample_key = jax.random.split(jax.random.PRNGKey(c.seed), 3)
    tx = optimizer(c, iterations)
    # Initialise inside jit: one compiled program instead of hundreds of eager ops.
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, block_size), jnp.int32)))(init_key)
    n_params = count_params(state.params)
    generate = make_generate(model)
    prompt = jnp.asarray(train.encode("\n"))

    def sample(params):
        out = generate(params, sample_key, prompt, sample_chars, temperature=c.sample_temperature,
                       top_k=c.sample_top_k)
        return train.decode(np.asarray(out)[1:])

    t0 = time.perf_counter()
    before = sample(state.params)
    sample_seconds = time.perf_counter() - t0
    train_ids, val_ids = jnp.asarray(train.ids), jnp.asarray(val.ids)
    blocks = {"batch_size": c.batch_size, "block_size": block_size}
    eval_sets = {"train_eval": BlockSource(train_ids, steps=c.eval_batches, seed=c.eval_seed, name="train ids",
                                           **blocks),
                 "val": BlockSource(val_ids, steps=c.eval_batches, seed=c.eval_seed, name="validation ids", **blocks)}
    # One driver "epoch" = eval_interval iterations (one compiled scan); the default classifier steps
    # with the next-token loss (passed explicitly: the driver's check of the default steps wants
    # source arrays named x and y).
    res = fit(state, BlockSource(train_ids, steps=eval_interval, name="train ids", **blocks), key=train_key,
              epochs=iterations // eval_interval, train_step=make_train_step(next_token_loss),
              eval_step=make_eval_step(next_token_loss), eval_sets=eval_sets,
              early_stopping=EarlyStopping("val_loss", "min", patience=None), eval_before=True, workdir=workdir,
              progress=c.progress, desc=desc)
    t0 = time.perf_counter()
    after = sample(res.best_state.params)
    sample_seconds += time.perf_counter() - t0
    history = _history(res)
    best = next(h for h in res.run_history(0) if h["epoch"] == int(res.best_epoch[0]))
    # Every iteration trained in this work directory over the driver's cumulative training seconds (a
    # resumed or finished rerun reports the same rate as the uninterrupted run would).
    trained = int(res.updates[0])
    return {"block_size": block_size, "num_heads": num_heads, "parameters": n_params, "iterations": iterations,
            "history": history, "best_val_loss": best["val_loss"], "best_iteration": best["updates"],
            "final_train_loss": history[-1]["train_loss"], "final_val_loss": history[-1]["val_loss"],
            "train_seconds": res.train_seconds, "compile_seconds": res.compile_seconds,
            "tokens_per_second": trained * c.batch_size * block_size / res.train_seconds if res.train_seconds else 0.0,
            "resumed_from_iteration": None if res.resumed_from is None else res.resumed_from * eval_interval,
            "sample_before": before, "sample_after": after, "sample_seconds": sample_seconds,
            "generate_compiles": generate.cache_size()}


def _history(res) -> list:
    """One row per evaluation (iteration 0 included) from the driver's records: the evaluated train
    and validation loss/accuracy, and the running training loss of the interval before it."""
    rows = []
    for h in res.run_history(0):
        row = {"iteration": h["updates"], "train_loss": h["train_eval_loss"], "val_loss": h["val_loss"],
               "train_accuracy": h["train_eval_accuracy"], "val_accuracy": h["val_accuracy"],
               "seconds": h.get("epoch_seconds", 0.0) + h["eval_seconds"]}
        if "train_loss" in h:
            row["running_train_loss"] = h["train_loss"]
        rows.append(row)
    return rows


def _curves(result: dict, label: str) -> dict:
    it = np.array([h["iteration"] for h in result["history"]])
    return {f"{label} train": (it, np.array([h["train_loss"] for h in result["history"]])),
            f"{label} validation": (it, np.array([h["val_loss"] for h in result["history"]]))}


def _row(r: dict, **extra) -> dict:
    return {**extra, "parameters": r["parameters"], "iterations": r["iterations"],
            "train loss": round(r["final_train_loss"], 4), "val loss": round(r["final_val_loss"], 4),
            "best val loss (iteration)": f"{r['best_val_loss']:.4f} ({r['best_iteration']})",
            "train time (s)": f"{r['train_seconds']:.1f}", "tokens/s": f"{r['tokens_per_second']:,.0f}"}


def _fence(text: str) -> str:
    return "```text\n" + text.replace("```", "'''") + "\n```"


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    data = {s: jdata.load("shakespeare", s) for s in ("train", "validation")}
    print(f"shakespeare: {len(data['train']):,} train / {len(data['validation']):,} validation characters, "
          f"vocabulary {data['train'].vocab_size}", flush=True)
    intro = [("Setup", f"Shakespeare (complete works), {len(data['train']):,} train / {len(data['validation']):,} "
                       f"validation characters, vocabulary {data['train'].vocab_size}. Preset `{c.preset}`: "
                       f"{c.num_layers} layers, {c.num_heads} heads, embedding {c.embed_dim}, block {c.block_size}, "
                       f"batch {c.batch_size}, dropout {c.dropout}, {c.iterations} iterations, AdamW lr "
                       f"{c.learning_rate} (β2 {c.b2}, weight decay {c.weight_decay}, schedule {c.schedule}), "
                       f"evaluation every {c.eval_interval} iterations (one compiled scan of `jaxml.train.fit` each) "
                       f"on {c.eval_batches} batches per split (the same batches every time, seed {c.eval_seed}); "
                       f"best-validation parameters among the evaluations after iteration 0; seed {c.seed}. "
                       f"Machine: {machine_summary()}.")]
    runs = {}

    def main_part(part_dir):
        r = runs["main"] = train_one(c, data, block_size=c.block_size, num_heads=c.num_heads,
                                     iterations=c.iterations, eval_interval=c.eval_interval,
                                     sample_chars=c.sample_chars, workdir=part_dir, desc=c.preset)
        line_plot(part_dir / "loss.png", _curves(r, c.preset), xlabel="iteration", ylabel="cross-entropy (nats)",
                  title=f"GPT `{c.preset}`: loss on {c.eval_batches} averaged batches")
        text = (markdown_table([_row(r, preset=c.preset)])
                + "\n\n### Sample before training\n\n" + _fence(r["sample_before"])
                + f"\n\n### Sample after training (best-validation parameters, iteration {r['best_iteration']})"
                + "\n\n" + _fence(r["sample_after"]) + "\n\n![loss](main/loss.png)")
        return text, r

    def sweep_part(sweep):
        def part(part_dir):
            values = c.sweep_block_sizes if sweep == "block_size" else c.sweep_heads
            results, rows, curves, samples = [], [], {}, []
            for v in values:
                kw = {"block_size": c.block_size, "num_heads": c.num_heads, sweep: int(v)}
                print(f"\n--- {sweep} = {v} ---", flush=True)
                same = (kw["block_size"] == c.block_size and kw["num_heads"] == c.num_heads
                        and (c.sweep_iterations, c.sweep_eval_interval, c.sweep_sample_chars)
                        == (c.iterations, c.eval_interval, c.sample_chars))
                if same:  # exactly the main run (same seed, settings and keys): reuse it
                    r = runs["main"]
                else:
                    r = train_one(c, data, iterations=c.sweep_iterations, eval_interval=c.sweep_eval_interval,
                                  sample_chars=c.sweep_sample_chars, workdir=part_dir / str(v), desc=f"{sweep}={v}",
                                  **kw)
                results.append(r)
                rows.append(_row(r, **{sweep: int(v)}))
                curves.update(_curves(r, f"{sweep}={v}"))
                samples.append(f"**{sweep} = {v}:**\n\n" + _fence(r["sample_after"]))
            line_plot(part_dir / f"sweep_{sweep}.png", curves, xlabel="iteration", ylabel="cross-entropy (nats)",
                      title=f"Sweep over {sweep} ({c.sweep_iterations} iterations each)")
            text = (markdown_table(rows) + "\n\n" + "\n\n".join(samples)
                    + f"\n\n![sweep]({sweep}/sweep_{sweep}.png)")
            return text, {"runs": results}
        return part

    parts = {"main": ("Result", main_part), **{s: (f"Sweep: {s}", sweep_part(s)) for s in SWEEPS}}
    return run_parts(f"Character-level GPT on Shakespeare (`{c.preset}`)", parts, ("main", *c.sweeps), workdir,
                     intro)


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
