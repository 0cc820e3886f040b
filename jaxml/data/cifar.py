"""CIFAR-10, "python version" (https://www.cs.toronto.edu/~kriz/cifar.html).

Looked for, in order, in ``<data dir>/cifar10/``:

1. the batch files ``data_batch_1`` ... ``data_batch_5``, ``test_batch``, ``batches.meta``
   directly in the folder, or in ``cifar10/cifar-10-batches-py/`` (the archive's layout);
2. the archive ``cifar10/cifar-10-python.tar.gz``, read member by member with
   :mod:`tarfile` (nothing is extracted to disk).

Each batch is a pickle of a dict with ``data`` (uint8 (10000, 3072), each row the red,
green then blue 32x32 planes) and ``labels`` (list of ints). Images are returned NHWC:
(N, 32, 32, 3). Split "train" = the five data batches in order (50,000), "test" =
``test_batch`` (10,000). Class names come from ``batches.meta`` when present.

The pickles are read with a restricted unpickler that only rebuilds numpy arrays and
plain Python containers, so a tampered file cannot run code.
"""
from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .containers import ImageDataset
from .errors import CorruptDataError
from .sources import not_found, tfds_images, try_tfds

__all__ = ["load_cifar10", "CIFAR10_CLASSES", "FILE_NAMES", "ARCHIVE"]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
META = "batches.meta"
FILE_NAMES = (*TRAIN_BATCHES, *TEST_BATCHES, META)
ARCHIVE = "cifar-10-python.tar.gz"
SUBFOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def _unpickle(data: bytes, where: str) -> dict:
    try:
        obj = _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a corrupt file
        raise CorruptDataError(f"{where}: not a readable CIFAR-10 pickle ({err})") from err
    if not isinstance(obj, dict):
        raise CorruptDataError(f"{where}: expected a pickled dict, got {type(obj).__name__}")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _batch_arrays(batch: dict, where: str) -> tuple[np.ndarray, np.ndarray]:
    if "data" not in batch or "labels" not in batch:
        raise CorruptDataError(f"{where}: batch has no 'data'/'labels' (keys: {sorted(batch)})")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CorruptDataError(
            f"{where}: 'data' must be uint8 of shape (N, 3072), got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise CorruptDataError(
            f"{where}: {data.shape[0]} images but labels of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= 10):
        raise CorruptDataError(f"{where}: labels outside [0, 10): {labels.min()}..{labels.max()}")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), labels.astype(np.int32)


def _class_names(meta: dict | None) -> tuple[str, ...]:
    if meta is None or "label_names" not in meta:
        return CIFAR10_CLASSES
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta["label_names"])
    if len(names) != 10:
        raise CorruptDataError(f"{META}: expected 10 label names, got {len(names)}")
    return names


def _batch_folder(folder: Path, needed) -> Path | None:
    for cand in (folder, folder / SUBFOLDER):
        if all((cand / n).is_file() for n in needed):
            return cand
    return None


def _read_from_archive(archive: Path, needed) -> dict[str, dict]:
    found: dict[str, dict] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:  # one sequential pass over the compressed stream
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in needed and base not in found:
                    f = tar.extractfile(member)
                    found[base] = _unpickle(f.read(), f"{archive}:{member.name}")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise CorruptDataError(f"{archive}: unreadable tar.gz archive ({err})") from err
    return found


def available(root: Path) -> bool:
    folder = root / "cifar10"
    needed = (*TRAIN_BATCHES, *TEST_BATCHES)
    return _batch_folder(folder, needed) is not None or (folder / ARCHIVE).is_file()


def load_cifar10(split: str, root: Path, *, tfds_data_dir=None) -> ImageDataset:
    """Load CIFAR-10 split "train" or "test" from ``root/cifar10``."""
    folder = root / "cifar10"
    wanted = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    batches: dict[str, dict] | None = None
    meta = None
    bdir = _batch_folder(folder, wanted)
    if bdir is not None:
        batches = {n: _unpickle((bdir / n).read_bytes(), str(bdir / n)) for n in wanted}
        if (bdir / META).is_file():
            meta = _unpickle((bdir / META).read_bytes(), str(bdir / META))
    elif (folder / ARCHIVE).is_file():
        found = _read_from_archive(folder / ARCHIVE, {*wanted, META})
        missing = [n for n in wanted if n not in found]
        if missing:
            raise CorruptDataError(f"{folder / ARCHIVE}: archive lacks {', '.join(missing)}")
        batches = {n: found[n] for n in wanted}
        meta = found.get(META)

    if batches is not None:
        parts = [_batch_arrays(batches[n], n) for n in wanted]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        return ImageDataset(x, y, _class_names(meta))

    def convert(source):
        x, y = tfds_images(source, (32, 32, 3))
        return ImageDataset(x, y, CIFAR10_CLASSES)

    result, reason = try_tfds("cifar10", split, convert, tfds_data_dir=tfds_data_dir)
    if result is not None:
        return result
    raise not_found(
        "cifar10",
        folder,
        [*FILE_NAMES, f"(or the same in {SUBFOLDER}/, or the archive {ARCHIVE})"],
        f"download {URL} into {folder}/ (it can stay packed) or unpack it there",
        missing=[n for n in wanted if not (folder / n).is_file()],
        tfds_reason=reason,
    )
