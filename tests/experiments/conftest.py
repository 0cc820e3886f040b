"""Fixtures for experiment smoke tests: small datasets written in the upstream formats, and
``run_tiny``, which runs a study's tiny preset end to end on them."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest


def write_idx_gz(path: Path, arr: np.ndarray) -> None:
    """Gzipped IDX (ubyte) as in the MNIST distribution: magic 0x0000 08 <ndim>, big-endian dims."""
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def fake_mnist_like(root: Path, name: str, n_train: int = 700, n_test: int = 300, seed: int = 0) -> Path:
    """A learnable stand-in: class c lights a 7x7 block at a class-dependent place, plus noise."""
    rng = np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            r, col = 3 + 7 * (c // 4), 3 + 7 * (c % 4)
            x[i, r:r + 7, col:col + 7] = 200
        write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return folder


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("jaxml_data")
    fake_mnist_like(root, "fashion_mnist")
    fake_mnist_like(root, "mnist", seed=1)
    return root


@pytest.fixture
def run_tiny(request, tmp_path, monkeypatch):
    """``run_tiny(study, *overrides, data_dir=None, workdir=None) -> (summary, workdir)``.

    Runs ``study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
    ["--config=tiny", f"--workdir={workdir}", *overrides])`` — the study's tiny preset, exactly as
    ``python -m experiments.<name> --config=tiny`` does — with ``JAXML_DATA_DIR`` pointed at
    ``data_dir``: by default the session's fake MNIST and Fashion-MNIST (``fake_data_dir``; studies
    on scikit-learn's bundled sets or simulated environments read nothing from it), else the
    folder a test wrote. ``workdir`` defaults to ``tmp_path / "run"``.
    """
    def run(study, *overrides: str, data_dir=None, workdir=None):
        if data_dir is None:
            data_dir = request.getfixturevalue("fake_data_dir")
        monkeypatch.setenv("JAXML_DATA_DIR", str(data_dir))
        workdir = Path(workdir) if workdir is not None else tmp_path / "run"
        summary = study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                       ["--config=tiny", f"--workdir={workdir}", *overrides])
        return summary, workdir

    return run


@pytest.fixture
def study_command(capsys):
    """``study_command(module, *args) -> (exit status, stdout, stderr)``: ``python -m
    jaxml.study.<module> args`` run in this process (``sample_text``, ``sample_images``,
    ``evaluate_checkpoint``), e.g. on the work directory of a ``run_tiny`` run."""
    def run(module, *args):
        capsys.readouterr()
        code = module.main([module.PROG, *map(str, args)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
