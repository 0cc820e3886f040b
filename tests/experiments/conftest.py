"""Experiment smoke tests run on jaxml's pytest plugin (jaxml.testing.plugin): ``run_tiny`` is its
``tiny_study`` fixture with these tests' default data folder, ``fake_data_dir``: the kit's learnable fake
MNIST and Fashion-MNIST only (jaxml.testing.fake_files.write_fake_data), so a study asked for another
dataset (CIFAR-10, IMDB) finds none and says so. ``study_command`` is the plugin's."""
from __future__ import annotations

from pathlib import Path

import pytest

from jaxml.testing.fake_files import write_fake_data


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory) -> Path:
    return write_fake_data(tmp_path_factory.mktemp("jaxml_data"), names=("mnist", "fashion_mnist"))


@pytest.fixture
def run_tiny(tiny_study, request):
    """``run_tiny(study, *overrides, data_dir=None, workdir=None) -> (summary, workdir)``: the plugin's
    ``tiny_study`` on ``fake_data_dir`` unless ``data_dir`` is given."""
    def run(study, *overrides, data_dir=None, workdir=None):
        data_dir = request.getfixturevalue("fake_data_dir") if data_dir is None else data_dir
        return tiny_study(study, *overrides, data_dir=data_dir, workdir=workdir)

    return run


