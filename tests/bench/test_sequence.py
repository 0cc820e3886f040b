"""bench.sequence times the Shakespeare GPT study's baby preset: same network, same optimizer settings.

(The benchmark itself is not run here: one GPT step of the baby model takes seconds.)
"""
from __future__ import annotations

from bench import sequence
from experiments import shakespeare_gpt as study


def test_gpt_workload_is_the_baby_preset():
    c = study.get_config("baby")
    gpt = sequence.GPT
    assert (gpt["num_layers"], gpt["num_heads"], gpt["embed_dim"]) == (c.num_layers, c.num_heads, c.embed_dim)
    assert (gpt["block_size"], gpt["batch_size"], gpt["dropout"]) == (c.block_size, c.batch_size, c.dropout)
    opt = sequence.GPT_OPTIMIZER
    assert opt["name"] == "adamw" and opt["schedule"] == c.schedule == "warmup_cosine"
    assert (opt["learning_rate"], opt["b2"], opt["weight_decay"], opt["clip_norm"]) == (
        c.learning_rate, c.b2, c.weight_decay, c.clip_norm)
    assert (opt["warmup_epochs"], opt["total_epochs"], opt["end_factor"]) == (
        c.warmup_iterations, c.iterations, c.end_factor)


def test_cli_defaults():
    args = sequence.parse_args([])
    assert (args.repeats, args.only, args.quick) == (5, "lstm,gpt", False)
    assert args.gpt_batch == str(sequence.GPT["batch_size"])
