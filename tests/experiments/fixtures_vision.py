"""The vision studies' fake CIFAR-10 (imported by path by their test files; the suite runs with
``--import-mode=importlib``): the kit's learnable CIFAR-10 (jaxml.testing.fake_files.write_fake_cifar10:
class c paints an 8x8 block of colour ``COLOURS[c]``; 5 x 24 training images, 60 test images)."""
from __future__ import annotations

from pathlib import Path

import pytest

from jaxml.testing.fake_files import CIFAR_CLASS_NAMES as CLASS_NAMES
from jaxml.testing.fake_files import fake_cifar_images, write_fake_data

__all__ = ["CLASS_NAMES", "fake_cifar_dir", "fake_cifar_images"]


@pytest.fixture(scope="session")
def fake_cifar_dir(tmp_path_factory) -> Path:
    """A data dir holding only the kit's tiny fake ``cifar10/`` (120 train, 60 test images)."""
    return write_fake_data(tmp_path_factory.mktemp("jaxml_cifar"), names=("cifar10",))
