"""Pretrained transformers: a small BERT (masked LM) and a small GPT-2 (byte-level BPE) trained on a
local corpus, then the homework's fill-mask and text-generation prompts through jaxml's pipelines.

Data: Jane Austen (or Shakespeare) text, trained here: the homework's pretrained checkpoints cannot be
downloaded on our machines (``--config.model_dir`` runs them where a user has them).

Coursework question: load ``bert-base-uncased`` / ``roberta-base`` into a fill-mask pipeline and
``gpt2`` into text generation, and find in the source where attention's scores, scaling, masks,
softmax and head concatenation happen (answered for jaxml's models in ``docs/attention.md``). With no
internet here, this study trains the same two architectures, small, on a local corpus and runs the
same prompts; with ``--config.model_dir`` pointing at a real Hugging Face folder (e.g. a downloaded
``bert-base-uncased``, ``roberta-base`` or ``gpt2``) it runs the homework's exact pipeline on it instead.

Data: the raw text of ``$JAXML_DATA_DIR/text/austen.txt`` (``corpus="austen"``) or Shakespeare's
complete works (``corpus="shakespeare"``); first 90% of the characters train, the rest validation.
Tokenizers (``jaxml.pretrained.tokenizer``): a WordPiece (BERT's scheme, lowercase) and a byte-level
BPE (GPT-2's), each ``vocab_size`` entries, trained on the training text.

Training: the one driver, ``jaxml.train.fit``, on :class:`jaxml.recipes.lm.BlockSource` windows of the
token stream. BERT: the masked-LM step of :mod:`jaxml.recipes.mlm` (15% of tokens, 80/10/10, each
window wrapped ``[CLS] ... [SEP]``); GPT-2: the next-token steps of :mod:`jaxml.recipes.lm`. AdamW,
``iterations`` steps, evaluation every ``eval_interval`` on ``eval_batches`` fixed validation batches,
best-validation parameters kept (checkpointed; a rerun resumes). Each trained model is exported as a
Hugging Face folder (``<part>/hf_model``: config.json, model.safetensors, tokenizer.json) — the
folders ``--config.model_dir`` accepts.

Then: ``fill_mask(..., "I got a [MASK] in my class.", top_k=5)`` and ``generate_text(..., "Once upon
a time,", ...)`` (greedy, and sampled with top-k 50 as transformers' default).

Presets: ``cpu`` (4 layers, width 128, 4 heads, sequences of 64 tokens, vocabulary 4,000, batch 16,
1,000 iterations per model: minutes on 2 CPU cores; far too little to learn English well) and ``tiny``
(the smoke test).

    python -m experiments.pretrained_transformers                           # cpu preset
    python -m experiments.pretrained_transformers --config.model_dir=/path/to/bert-base-uncased
    python -m experiments.pretrained_transformers --config=tiny
"""
from __future__ import annotations

import json
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data.sources import data_dir
from jaxml.models import count_params
from jaxml.models.bert import Bert, BertConfig
from jaxml.models.gpt2 import GPT2, GPT2Config
from jaxml.pretrained.convert import Pretrained, load_pretrained, save_pretrained
from jaxml.pretrained.pipelines import fill_mask, generate_text
from jaxml.pretrained.tokenizer import load_tokenizer, train_bpe, train_wordpiece
from jaxml.recipes.lm import BlockSource, next_token_loss
from jaxml.recipes.mlm import make_mlm_eval_step, make_mlm_train_step
from jaxml.report import markdown_table
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import machine_summary, run_experiment, run_parts
from jaxml.train import EarlyStopping, create_state, fit, make_eval_step, make_optimizer, make_train_step

NAME = "pretrained_transformers"
PRESETS = ("cpu", "tiny")
PARTS = ("bert", "gpt2")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    preset = preset or "cpu"
    c = ml_collections.ConfigDict()
    c.preset = preset
    c.seed = 0
    c.corpus = "austen"
    c.model_dir = ""  # a Hugging Face folder: run the homework pipeline on it instead of training
    c.parts = PARTS
    c.vocab_size = 4000
    c.num_layers, c.num_heads, c.width = 4, 4, 128
    c.seq_len, c.batch_size = 64, 16
    c.dropout = 0.1
    c.iterations, c.eval_interval, c.eval_batches = 1000, 250, 10
    c.learning_rate, c.weight_decay = 1e-3, 0.01
    c.mask_prompt = "I got a [MASK] in my class."
    c.text_prompt = "Once upon a time,"
    c.top_k = 5
    c.max_new_tokens = 30
    c.num_return_sequences = 3
    c.progress = True
    if preset == "tiny":
        c.vocab_size = 300
        c.num_layers, c.num_heads, c.width = 1, 2, 16
        c.seq_len, c.batch_size = 16, 4
        c.iterations, c.eval_interval, c.eval_batches = 20, 10, 2
        c.max_new_tokens, c.num_return_sequences = 5, 2
    return c


def validate(c) -> None:
    check_config(c, choices={"preset": PRESETS, "corpus": ("austen", "shakespeare")}, subsets={"parts": PARTS},
                 counts=("vocab_size", "num_layers", "num_heads", "width", "seq_len", "batch_size", "iterations",
                         "eval_interval", "eval_batches", "top_k", "max_new_tokens", "num_return_sequences"),
                 positive=("learning_rate",), nonnegative=("weight_decay",), fractions=("dropout",))
    if c.width % c.num_heads:
        raise ConfigError(f"config key 'width' = {c.width} is not divisible by num_heads = {c.num_heads}")
    if c.model_dir and not (pathlib.Path(c.model_dir) / "config.json").exists():
        raise ConfigError(f"config key 'model_dir' = {c.model_dir!r}: no config.json there (expected a Hugging "
                          "Face model folder)")


def corpus_text(name: str) -> tuple[str, str]:
    """(train text, validation text): the first 90% of the characters, and the rest."""
    if name == "shakespeare":
        split = {s: jdata.load("shakespeare", s) for s in ("train", "validation")}
        return tuple(split[s].decode(split[s].ids) for s in ("train", "validation"))
    path = data_dir() / "text" / "austen.txt"
    if not path.exists():
        jdata.load("austen", "train")  # raises the catalog's error: what to download and where
    text = path.read_text(encoding="utf-8")
    cut = int(0.9 * len(text))
    return text[:cut], text[cut:]


def _train(c, model, tok, ids_train, ids_val, steps, workdir, desc, block):
    tx = make_optimizer({"name": "adamw", "learning_rate": c.learning_rate, "weight_decay": c.weight_decay},
                        steps_per_epoch=1)
    init_key, train_key = jax.random.split(jax.random.key(c.seed))
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, c.seq_len), jnp.int32)))(init_key)
    blocks = {"batch_size": c.batch_size, "block_size": block}
    res = fit(state, BlockSource(ids_train, steps=c.eval_interval, **blocks), key=train_key,
              epochs=c.iterations // c.eval_interval, train_step=steps[0], eval_step=steps[1],
              eval_sets={"val": BlockSource(ids_val, steps=c.eval_batches, seed=1, **blocks)},
              early_stopping=EarlyStopping("val_loss", "min", patience=None), eval_before=True,
              workdir=workdir, progress=c.progress, desc=desc)
    history = [{"iteration": h["updates"], "val_loss": h["val_loss"], "val_accuracy": h["val_accuracy"],
                **({"train_loss": h["train_loss"]} if "train_loss" in h else {})} for h in res.run_history(0)]
    return res.best_state.params, {"parameters": count_params(state.params), "history": history,
                                   "best_val_loss": min(h["val_loss"] for h in history[1:]),
                                   "train_seconds": res.train_seconds, "compile_seconds": res.compile_seconds}


def _fill_table(results) -> str:
    return markdown_table([{"token_str": r["token_str"], "score": f"{r['score']:.4f}", "sequence": r["sequence"]}
                           for r in results])


def _generations(c, model, params, tok) -> dict:
    greedy = generate_text(model, params, tok, c.text_prompt, max_new_tokens=c.max_new_tokens)
    sampled = generate_text(model, params, tok, c.text_prompt, max_new_tokens=c.max_new_tokens, do_sample=True,
                            top_k=50, num_return_sequences=c.num_return_sequences, rng=jax.random.key(c.seed))
    return {"greedy": greedy[0]["generated_text"], "sampled": [s["generated_text"] for s in sampled]}


def _gen_text(g) -> str:
    return ("Greedy:\n\n```text\n" + g["greedy"] + "\n```\n\nSampled (top-k 50):\n\n"
            + "\n\n".join("```text\n" + s + "\n```" for s in g["sampled"]))


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    if c.model_dir:
        return _pretrained_folder(c, workdir)
    train_text, val_text = corpus_text(c.corpus)
    print(f"{c.corpus}: {len(train_text):,} train / {len(val_text):,} validation characters", flush=True)
    intro = [("Setup", f"Corpus `{c.corpus}` ({len(train_text):,} / {len(val_text):,} characters train / validation). "
                       f"Preset `{c.preset}`: {c.num_layers} layers, width {c.width}, {c.num_heads} heads, sequences "
                       f"of {c.seq_len} tokens, vocabulary {c.vocab_size}, batch {c.batch_size}, dropout {c.dropout}, "
                       f"{c.iterations} iterations of AdamW lr {c.learning_rate} (weight decay {c.weight_decay}), "
                       f"evaluation every {c.eval_interval} on {c.eval_batches} fixed validation batches; seed "
                       f"{c.seed}. Machine: {machine_summary()}.")]

    def bert_part(part_dir):
        tok = train_wordpiece(iter(train_text.splitlines()), vocab_size=c.vocab_size)
        ids = [np.asarray(tok.encode(t, add_special_tokens=False), np.int32) for t in (train_text, val_text)]
        cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=c.width, num_hidden_layers=c.num_layers,
                         num_attention_heads=c.num_heads, intermediate_size=4 * c.width,
                         max_position_embeddings=c.seq_len, pad_token_id=tok.pad_token_id, dropout_rate=c.dropout)
        model = Bert(cfg)
        kw = dict(mask_token_id=tok.mask_token_id, vocab_size=tok.vocab_size, special_ids=tok.special_ids,
                  cls_id=tok.cls_token_id, sep_id=tok.sep_token_id)
        params, r = _train(c, model, tok, jnp.asarray(ids[0]), jnp.asarray(ids[1]),
                           (make_mlm_train_step(**kw), make_mlm_eval_step(**kw)), part_dir, "bert", c.seq_len - 2)
        save_pretrained(str(part_dir / "hf_model"), Pretrained("bert", cfg, model, params), tok)
        r["fill_mask"] = fill_mask(model, params, tok, c.mask_prompt, top_k=c.top_k)
        r["tokens"] = {"train": int(ids[0].size), "validation": int(ids[1].size)}
        text = (f"{r['parameters']:,} parameters; best validation masked-LM loss {r['best_val_loss']:.3f} nats "
                f"({r['train_seconds']:.0f} s training). `fill_mask(\"{c.mask_prompt}\")`:\n\n"
                + _fill_table(r["fill_mask"]))
        return text, r

    def gpt2_part(part_dir):
        tok = train_bpe(iter(train_text.splitlines(keepends=True)), vocab_size=c.vocab_size)
        ids = [np.asarray(tok.encode(t), np.int32) for t in (train_text, val_text)]
        cfg = GPT2Config(vocab_size=tok.vocab_size, n_positions=c.seq_len, n_embd=c.width, n_layer=c.num_layers,
                         n_head=c.num_heads, dropout_rate=c.dropout, bos_token_id=tok.eos_token_id,
                         eos_token_id=tok.eos_token_id)
        model = GPT2(cfg)
        params, r = _train(c, model, tok, jnp.asarray(ids[0]), jnp.asarray(ids[1]),
                           (make_train_step(next_token_loss), make_eval_step(next_token_loss)), part_dir, "gpt2",
                           c.seq_len)
        save_pretrained(str(part_dir / "hf_model"), Pretrained("gpt2", cfg, model, params), tok)
        r["generate_text"] = _generations(c, model, params, tok)
        r["tokens"] = {"train": int(ids[0].size), "validation": int(ids[1].size)}
        text = (f"{r['parameters']:,} parameters; best validation next-token loss {r['best_val_loss']:.3f} nats "
                f"({r['train_seconds']:.0f} s training). `generate_text(\"{c.text_prompt}\")`:\n\n"
                + _gen_text(r["generate_text"]))
        return text, r

    parts = {"bert": ("BERT (masked LM) + fill-mask", bert_part), "gpt2": ("GPT-2 (BPE) + text generation", gpt2_part)}
    return run_parts(f"Pretrained transformers trained on {c.corpus} (`{c.preset}`)", parts, c.parts, workdir, intro)


def _pretrained_folder(c, workdir):
    pre, tok = load_pretrained(c.model_dir), load_tokenizer(c.model_dir)

    def part(part_dir):
        r = {"model_dir": str(c.model_dir), "kind": pre.kind, "parameters": count_params(pre.params)}
        if pre.kind == "gpt2":
            model = GPT2(pre.config)
            r["generate_text"] = _generations(c, model, pre.params, tok)
            text = _gen_text(r["generate_text"])
        else:
            prompt = c.mask_prompt.replace("[MASK]", tok.mask_token)
            r["fill_mask"] = fill_mask(pre.model, pre.params, tok, prompt, top_k=c.top_k)
            text = f"`fill_mask(\"{prompt}\")`:\n\n" + _fill_table(r["fill_mask"])
        (part_dir / "pipeline.json").write_text(json.dumps(r, indent=1) + "\n")
        return f"`{c.model_dir}` ({pre.kind}, {r['parameters']:,} parameters). " + text, r

    return run_parts(f"The homework pipeline on {c.model_dir}", {"pipeline": ("Pipeline", part)}, ("pipeline",),
                     workdir)


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
