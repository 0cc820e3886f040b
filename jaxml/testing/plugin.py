"""jaxml's pytest plugin: fixtures and markers for testing models and studies built on jaxml.

Registered through the ``pytest11`` entry point, so installing jaxml makes it available in any project
(``-p jaxml.testing.plugin`` or ``-p jaxml.testing`` loads it explicitly; ``-p no:jaxml`` disables it).
Importing it loads no JAX: the fixtures import what they need when used.

Fixtures:

- ``fake_data_root`` (session): a folder with tiny learnable MNIST, Fashion-MNIST, CIFAR-10, IMDB
  (``aclImdb/``) and text corpora in their upstream formats (``jaxml.testing.fake_files.write_fake_data``);
- ``fake_data``: the same folder, with ``JAXML_DATA_DIR`` pointed at it (and ``JAXML_OFFLINE=1``) for the
  test; returns its path, so ``jaxml.data.load("mnist", "train")`` reads the fake files;
- ``cpu_devices``: ``cpu_devices(n, fn, *args)`` runs ``fn(*args)`` with ``n`` CPU devices — in this
  process if it has exactly ``n``, else in a subprocess (``jaxml.testing.devices``);
- ``tiny_study``: ``tiny_study(study, *overrides, data_dir=None, workdir=None) -> (summary, workdir)`` runs
  a study module's ``tiny`` preset (``python -m experiments.<name> --config=tiny``) into a temporary work
  directory on ``fake_data_root`` (or ``data_dir``);
- ``study_command``: ``study_command(module, *args) -> (exit status, stdout, stderr)`` runs a
  ``jaxml.trained`` command (``sample_text``, ``sample_images``, ``evaluate_checkpoint``) in this process;
- ``real_data_dir``: ``real_data_dir("mnist")`` is ``$JAXML_DATA_DIR`` when ``$JAXML_DATA_DIR/mnist``
  exists, else the test is skipped with the reason.

Markers: ``slow`` (takes more than ~30 s) and ``real_data`` (reads real datasets under ``$JAXML_DATA_DIR``).
Select with ``-m``: ``pytest -m "not slow"`` skips the slow tests, ``pytest -m real_data`` runs only the
real-data ones, ``pytest -m "not real_data"`` never reads real data.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pytest

MARKERS = (
    "slow: takes more than ~30 s; deselect with -m 'not slow'",
    "real_data: needs the real datasets under $JAXML_DATA_DIR; skipped with a reason when absent "
    "(select with -m real_data, deselect with -m 'not real_data')",
)


def pytest_configure(config):
    registered = {line.split(":")[0] for line in config.getini("markers")}
    for line in MARKERS:
        if line.split(":")[0] not in registered:
            config.addinivalue_line("markers", line)


class TinyRun(NamedTuple):
    """What ``tiny_study`` returns: the study's summary (what its ``main`` returned) and its work directory."""
    summary: object
    workdir: Path


@pytest.fixture(scope="session")
def fake_data_root(tmp_path_factory) -> Path:
    from jaxml.testing.fake_files import write_fake_data

    return write_fake_data(tmp_path_factory.mktemp("jaxml_fake_data"))


@pytest.fixture
def fake_data(fake_data_root, monkeypatch) -> Path:
    monkeypatch.setenv("JAXML_DATA_DIR", str(fake_data_root))
    monkeypatch.setenv("JAXML_OFFLINE", "1")
    return fake_data_root


@pytest.fixture(scope="session")
def cpu_devices():
    from jaxml.testing.devices import run_on_cpu_devices

    return run_on_cpu_devices


@pytest.fixture
def tiny_study(request, tmp_path, monkeypatch):
    def run(study, *overrides: str, data_dir=None, workdir=None) -> TinyRun:
        if data_dir is None:
            data_dir = request.getfixturevalue("fake_data_root")
        monkeypatch.setenv("JAXML_DATA_DIR", str(data_dir))
        monkeypatch.setenv("JAXML_OFFLINE", "1")
        workdir = Path(workdir) if workdir is not None else tmp_path / "run"
        summary = study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                       ["--config=tiny", f"--workdir={workdir}", *overrides])
        return TinyRun(summary, workdir)

    return run


@pytest.fixture
def study_command(capsys):
    def run(module, *args):
        capsys.readouterr()
        code = module.main([module.PROG, *map(str, args)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def real_data_dir():
    def find(name_or_path: str) -> Path:
        root = os.environ.get("JAXML_DATA_DIR", "").strip()
        if not root:
            pytest.skip("JAXML_DATA_DIR is not set; real-data test skipped")
        path = Path(root).expanduser() / name_or_path
        if not path.exists():
            pytest.skip(f"{path} is absent; real-data test skipped")
        return Path(root).expanduser()

    return find
