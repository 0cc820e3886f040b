"""The trained-model commands (``jaxml.study.sample_text``, ``sample_images``, ``evaluate_checkpoint``)
on the work directories of tiny study runs (one run per study, shared by the module's tests)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from experiments import fashion_mnist_mlp, gan_mnist, mnist_cnn, ood_shift, shakespeare_gpt, vae_mnist
from jaxml.study import evaluate_checkpoint, sample_images, sample_text
from jaxml.study.trained import find_parts, load_trained

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 20
SMALL_GENERATIVE = ("--config.n_train=100", "--config.n_test=100", "--config.batch_size=50", "--config.epochs=1",
                    "--config.quality_samples=20")


@pytest.fixture(scope="module")
def tiny_run(fake_data_dir, tmp_path_factory):
    """``tiny_run(study, *overrides, data_dir=None) -> (summary, workdir)``, each (study, overrides)
    run once per module (the study's tiny preset, as ``run_tiny`` runs it)."""
    done = {}

    def run(study, *overrides, data_dir=None):
        key = (study.NAME, overrides)
        if key not in done:
            workdir = tmp_path_factory.mktemp(study.NAME) / "run"
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("JAXML_DATA_DIR", str(data_dir or fake_data_dir))
                summary = study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                               ["--config=tiny", f"--workdir={workdir}", *overrides])
            done[key] = summary, workdir
        return done[key]

    return run


def command(module, capsys, *args):
    """(exit status, stdout, stderr) of ``python -m jaxml.study.<module> args`` run in this process."""
    code = module.main([module.PROG, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def evaluated(capsys, workdir, *args) -> dict:
    code, out, err = command(evaluate_checkpoint, capsys, f"--workdir={workdir}", "--json", *args)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_evaluate_mnist_cnn_reproduces_logged_test_accuracy(tiny_run, capsys):
    summary, workdir = tiny_run(mnist_cnn)
    assert find_parts(workdir) == ["training"]
    final = summary["training"]["final"]
    for run in (0, 1):     # the two vmapped seeds: the leading axis of one checkpoint
        r = evaluated(capsys, workdir, f"--run={run}", "--split=test")
        assert (r["part"], r["weights"], r["examples"]) == ("training", "final", 50)   # no early stopping: final
        assert r["accuracy"] == pytest.approx(final["test_accuracy"][run], abs=1e-6)
        assert r["loss"] == pytest.approx(final["test_loss"][run], rel=1e-4)
    val = evaluated(capsys, workdir, "--run=1", "--split=validation")
    assert val["accuracy"] == pytest.approx(final["val_accuracy"][1], abs=1e-6)
    code, _, err = command(evaluate_checkpoint, capsys, f"--workdir={workdir}", "--run=2")
    assert code == 1
    assert err.strip().splitlines()[-1] == "evaluate_checkpoint: error: --run=2: part 'training' has 2 runs (0..1)"


def test_evaluate_ood_shift_shifted_and_rotated_sets(tiny_run, capsys):
    summary, workdir = tiny_run(ood_shift, "--config.models=mlp")
    accuracy = summary["mlp"]["accuracy"]          # per seed, the best-validation weights
    for run in (0, 1):
        for flag, label in (("--shift=4", "shifted up 4 px"), ("--rotate=90", "rotated 90°"),
                            ("--rotate=270", "rotated 270°"), ("--shift=0", "original")):
            r = evaluated(capsys, workdir, f"--run={run}", flag)
            assert r["weights"] == "best"
            assert r["accuracy"] == pytest.approx(accuracy[label][run], abs=1e-6), (run, flag)
    code, _, err = command(evaluate_checkpoint, capsys, f"--workdir={workdir}", "--shift=4", "--rotate=90")
    assert code == 1 and "not both" in err
    code, _, err = command(evaluate_checkpoint, capsys, f"--workdir={workdir}", "--part=cnn2")
    assert code == 1 and "no such part" in err and "parts: mlp" in err


def test_evaluate_fashion_mnist_mlp_run_folders_and_grid(tiny_run, capsys):
    summary, workdir = tiny_run(fashion_mnist_mlp, "--config.parts=batch_size,momentum", "--config.batch_sizes=(50,)")
    assert find_parts(workdir) == ["momentum", "batch_size/bs50"]
    # One folder per run (vmap_runs=False); the study tests the early-stopping best weights.
    for run in (0, 1):
        r = evaluated(capsys, workdir, "--part=batch_size/bs50", f"--run={run}")
        assert r["weights"] == "best"
        assert r["accuracy"] == pytest.approx(summary["batch_size"]["50"][run]["test_accuracy"], abs=1e-6)
    # momentum x seeds on the leading axis of one checkpoint; default part: the first (momentum).
    test_accuracy = summary["momentum"]["test_accuracy"]
    assert len(test_accuracy) == 4
    r = evaluated(capsys, workdir, "--run=3")
    assert r["part"] == "momentum" and r["accuracy"] == pytest.approx(test_accuracy[3], abs=1e-6)
    # The whole upstream test split (300 images in the fake data), not the study's 200.
    assert evaluated(capsys, workdir, "--run=3", "--whole_split")["examples"] == 300


def test_sample_text_from_the_char_gpt(tiny_run, capsys, tmp_path):
    (tmp_path / "shakespeare").mkdir()
    (tmp_path / "shakespeare" / "complete_works.txt").write_text(TEXT)
    summary, workdir = tiny_run(shakespeare_gpt, "--config.sweeps=()", data_dir=tmp_path)
    args = (f"--workdir={workdir}", "--prompt=First", "--temperature=0.8", "--top_k=5", "--num_tokens=30")
    code, out, err = command(sample_text, capsys, *args, "--seed=3")
    assert code == 0, err
    assert out.startswith("First") and len(out) == len("First") + 30 + 1      # + print's newline
    assert set(out[:-1]) <= set(TEXT)
    assert command(sample_text, capsys, *args, "--seed=3")[1] == out          # same seed, same text
    # top_k=1 is greedy: the same text whatever the seed.
    greedy = [command(sample_text, capsys, *args[:3], "--top_k=1", "--num_tokens=30", f"--seed={s}")[1]
              for s in (0, 1)]
    assert greedy[0] == greedy[1]
    trained = load_trained(workdir)
    assert trained.part == "main" and trained.weights == "best" and trained.spec["data"]["vocab"] == "".join(
        sorted(set(TEXT)))
    code, _, err = command(sample_text, capsys, f"--workdir={workdir}", "--prompt=Zebra")
    unknown = sorted(set("Zebra") - set(TEXT))
    assert code == 1 and f"characters {unknown} are not in the model's vocabulary" in err


@pytest.mark.parametrize("study", [gan_mnist, vae_mnist], ids=["gan", "vae"])
def test_sample_images_writes_the_grid(study, tiny_run, capsys, tmp_path):
    _, workdir = tiny_run(study, *SMALL_GENERATIVE)
    out = tmp_path / "grid.png"
    code, _, err = command(sample_images, capsys, f"--workdir={workdir}", f"--out={out}", "--num=10", "--seed=0")
    assert code == 0, err
    png = np.asarray(Image.open(out))
    # ceil(sqrt(10)) = 4 rows of 3 columns of 28x28 images, 1-pixel gaps, each pixel 2x2.
    assert png.shape == ((4 * 28 + 3) * 2, (3 * 28 + 2) * 2)
    assert png.dtype == np.uint8 and png.std() > 0       # not a blank image
    again = tmp_path / "again.png"
    command(sample_images, capsys, f"--workdir={workdir}", f"--out={again}", "--num=10", "--seed=0")
    other = tmp_path / "other.png"
    command(sample_images, capsys, f"--workdir={workdir}", f"--out={other}", "--num=10", "--seed=1")
    assert np.array_equal(np.asarray(Image.open(again)), png)
    assert not np.array_equal(np.asarray(Image.open(other)), png)
    code, _, err = command(evaluate_checkpoint, capsys, f"--workdir={workdir}")
    assert code == 1 and "this command needs a classifier" in err


def test_mistakes_are_one_line(tmp_path, capsys):
    code, _, err = command(sample_text, capsys, f"--workdir={tmp_path}")
    assert code == 1 and err.strip() == f"sample_text: error: no model.json under {tmp_path}: not a work directory " \
                                       "of a study that saves its model (or written before model.json existed)"
    code, _, err = command(sample_images, capsys, f"--workdir={tmp_path}", "--num=x")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--num" in err
    # From the real command line: one line on stderr, no traceback.
    proc = subprocess.run([sys.executable, "-m", "jaxml.study.evaluate_checkpoint", f"--workdir={tmp_path / 'nope'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"evaluate_checkpoint: error: work directory {tmp_path / 'nope'} "
                                                "does not exist"]
