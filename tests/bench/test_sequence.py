"""bench.sequence times the Shakespeare GPT study's baby preset: same network, same optimizer settings.

The benchmark's baby GPT is not run here (one step takes seconds); the slow tier runs a tiny
configuration end to end, each contestant in its own process.
"""
from __future__ import annotations

import pytest

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
    assert (args.repeats, args.only, args.quick, args.lstm_repeats) == (5, "lstm,gpt", False, None)
    assert args.gpt_batch == str(sequence.GPT["batch_size"])


@pytest.mark.slow
def test_sequence_bench_tiny_runs_each_contestant_in_its_own_process(tmp_path):
    out = tmp_path / "sequence.json"
    res = sequence.main(["--only", "lstm,gpt", "--lstm-examples", "256", "--lstm-maxlen", "4", "--gpt-batch", "1",
                         "--repeats", "2", "--lstm-repeats", "3", "--torch-threads", "1", "--out", str(out)])
    assert res["settings"]["isolated_processes"] is True
    assert set(res["contestants"]) == {"jaxml_lstm_T4", "torch1t_lstm_T4", "jaxml_gpt_B1", "torch1t_gpt_B1"}
    assert all(len(ts) == (3 if "lstm" in name else 2) and min(ts) > 0
               for name, ts in res["raw_unit_seconds"].items())
    assert (res["settings"]["repeats"], res["settings"]["lstm_repeats"]) == (2, 3)
    assert set(res["compile_seconds"]) == {"jaxml_lstm_T4", "jaxml_gpt_B1"}
    assert res["contestants"]["jaxml_gpt_B1"]["matmul_params"] == res["contestants"]["torch1t_gpt_B1"]["matmul_params"]
    assert out.exists() and out.with_suffix(".md").exists()


@pytest.mark.slow
def test_an_isolated_contestant_reports_its_failure():
    from bench.isolated import Isolated

    with pytest.raises(RuntimeError, match="unknown workload 'cnn'"):
        Isolated("bench.sequence:contestant", kind="cnn", framework="jaxml")


def test_a_large_gpt_batch_group_holds_only_the_baseline_torch_contestant():
    frameworks = [("jaxml", None), ("torch", 2), ("torch", 1)]
    groups, units = sequence.plan_groups(only=("lstm", "gpt"), frameworks=frameworks, lstm_examples=300,
                                         lstm_maxlens=(20,), lstm_unroll=(1,), gpt_iters=1, gpt_batches=(8, 64))
    assert [list(g) for g in groups] == [["jaxml_lstm_T20", "torch2t_lstm_T20", "torch1t_lstm_T20"],
                                         ["jaxml_gpt_B8", "torch2t_gpt_B8", "torch1t_gpt_B8"],
                                         ["jaxml_gpt_B64", "torch2t_gpt_B64"]]
    assert units["jaxml_lstm_T20"] == ("lstm", 20, 3, sequence.LSTM_BATCH)
    assert groups[2]["torch2t_gpt_B64"]["threads"] == 2 and units["torch2t_gpt_B64"][3] == 64
