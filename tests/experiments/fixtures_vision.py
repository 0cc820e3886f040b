"""Fixtures and helpers for the vision studies' smoke tests (imported by their test files).

``write_fake_cifar10(root)`` writes a tiny, learnable CIFAR-10 in the upstream "python version"
format: ``cifar10/data_batch_1..5``, ``test_batch`` and ``batches.meta``, each a pickle
(protocol 2, bytes keys) of a dict with ``b"data"`` uint8 (N, 3072) — every row the 32x32 red
plane, then green, then blue — and ``b"labels"`` (a list of ints); the meta file holds
``b"label_names"``. Class c paints an 8x8 block in colour ``COLOURS[c]`` at a class-dependent
place over dark noise, so even a few training steps beat chance.

Test modules import this file by path (the suite runs with ``--import-mode=importlib``, so
test folders are not on ``sys.path``)::

    fixtures = load_fixtures()          # see the snippet at the top of test_cifar10_cnn.py
    fake_cifar_dir = fixtures.fake_cifar_dir
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# One RGB colour per class (distinct hues) and a place on a 3x4 grid of 8x8 blocks.
COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255],
                    [0, 255, 255], [255, 128, 0], [128, 0, 255], [255, 255, 255], [128, 255, 128]], np.uint8)


def fake_cifar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (n, 32, 32, 3) NHWC, y int (n,)): learnable class-coloured blocks over noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 50, (n, 32, 32, 3)).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = 2 + 10 * (c // 4), 1 + 8 * (c % 4)
        x[i, r:r + 8, col:col + 8] = COLOURS[c]
    return x, y


def cifar_rows(x_NxHxWx3: np.ndarray) -> np.ndarray:
    """NHWC uint8 images -> CIFAR rows (N, 3072): the R plane, then G, then B, each row-major."""
    return np.ascontiguousarray(x_NxHxWx3.transpose(0, 3, 1, 2)).reshape(x_NxHxWx3.shape[0], 3 * 32 * 32)


def write_fake_cifar10(root: Path, per_batch: int = 24, n_test: int = 60, seed: int = 0) -> Path:
    """Write ``root/cifar10/`` (5 x ``per_batch`` training images, ``n_test`` test images)."""
    folder = Path(root) / "cifar10"
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}": fake_cifar_images(per_batch, seed + i) for i in range(1, 6)}
    batches["test_batch"] = fake_cifar_images(n_test, seed + 99)
    for name, (x, y) in batches.items():
        payload = {b"batch_label": name.encode(), b"labels": [int(v) for v in y], b"data": cifar_rows(x)}
        (folder / name).write_bytes(pickle.dumps(payload, protocol=2))
    meta = {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_cases_per_batch": per_batch,
            b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


@pytest.fixture(scope="session")
def fake_cifar_dir(tmp_path_factory) -> Path:
    """A data dir holding only a tiny fake ``cifar10/`` (120 train, 60 test images)."""
    root = tmp_path_factory.mktemp("jaxml_cifar")
    write_fake_cifar10(root)
    return root
