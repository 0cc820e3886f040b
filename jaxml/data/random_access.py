"""Random-access views of image sets on disk, for streaming training (data larger than memory).

:func:`idx_records` opens MNIST / Fashion-MNIST's IDX files as a random-access dataset without
reading them into memory: a ``.gz`` file is decompressed once into a cache folder
(``$JAXML_CACHE_DIR/idx`` or ``~/.cache/jaxml/idx``, written to a temporary name and renamed, so
an interrupted decompression is never mistaken for a complete file), then memory-mapped. The
result follows the random-access protocol of ``grain`` and ``tfds.data_source`` — ``len(ds)``,
``ds[i] -> {"image": uint8 (28, 28, 1), "label": int32 ()}`` and ``ds.__getitems__(indices)`` —
so ``jaxml.train.StreamSource`` can feed it to the training driver batch by batch.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import zlib
from pathlib import Path

import numpy as np

from .errors import CorruptDataError, DatasetNotFoundError
from .idx import _CLASSES, _IDX_TYPES, _locate
from .sources import resolve_root

__all__ = ["IdxRecords", "idx_records", "memmap_idx"]


def _cache_dir(cache_dir) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("JAXML_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "jaxml") / "idx"


def _plain_file(path: Path, cache_dir) -> Path:
    """``path`` itself when not gzipped; else its decompressed copy in the cache (made once)."""
    if path.suffix != ".gz":
        return path
    stat = path.stat()
    tag = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    out = _cache_dir(cache_dir) / f"{path.stem}-{tag}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        try:
            with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
        except (EOFError, OSError, zlib.error) as err:
            tmp.unlink(missing_ok=True)
            raise CorruptDataError(f"{path}: not a complete gzip file ({err})") from err
        os.replace(tmp, out)
    return out


def memmap_idx(path, cache_dir=None) -> np.ndarray:
    """A read-only ``numpy.memmap`` of one IDX file (``.gz`` decompressed once into the cache)."""
    path = Path(path)
    plain = _plain_file(path, cache_dir)
    with open(plain, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[0] or head[1] or head[2] not in _IDX_TYPES or head[3] == 0:
            raise CorruptDataError(f"{path}: bad IDX magic number 0x{head.hex()}; is this an IDX file?")
        ndim = head[3]
        dims = tuple(int(d) for d in np.frombuffer(f.read(4 * ndim), dtype=">u4"))
    dtype = _IDX_TYPES[head[2]]
    header = 4 + 4 * ndim
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    size = plain.stat().st_size
    if size != expected:
        raise CorruptDataError(f"{path}: IDX header (shape {dims}) implies {expected} bytes, the file has {size}")
    return np.memmap(plain, dtype=dtype, mode="r", offset=header, shape=dims)


class IdxRecords:
    """Images and labels of one split, memory-mapped: ``ds[i] -> {"image": (H, W, 1) uint8,
    "label": int32}``; ``ds.__getitems__(indices)`` returns the records of many indices at once."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, class_names=()):
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise CorruptDataError(f"IDX images {images.shape} and labels {labels.shape} do not match "
                                   "(expected (N, H, W) and (N,))")
        self.images, self.labels, self.class_names = images, labels, tuple(class_names)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= int(i) < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} records")
        return {"image": np.asarray(self.images[int(i)])[..., None], "label": np.int32(self.labels[int(i)])}

    def __getitems__(self, indices) -> list:
        idx = np.asarray(indices, np.int64)
        images, labels = np.asarray(self.images[idx]), np.asarray(self.labels[idx])
        return [{"image": images[k][..., None], "label": np.int32(labels[k])} for k in range(idx.size)]


def idx_records(name: str, split: str, *, data_dir=None, cache_dir=None) -> IdxRecords:
    """``mnist`` / ``fashion_mnist`` split ``"train"`` or ``"test"`` from ``<data_dir>/<name>/`` as a
    memory-mapped random-access dataset (see the module docstring)."""
    if name not in _CLASSES:
        raise ValueError(f"idx_records reads {sorted(_CLASSES)}, got {name!r}")
    if split not in ("train", "test"):
        raise ValueError(f"idx_records: split must be 'train' or 'test', got {split!r}")
    folder = resolve_root(data_dir) / name
    paths, missing = _locate(folder, split)
    if missing:
        raise DatasetNotFoundError(f"{name} ({split}): missing {missing} in {folder}; "
                                   "see `python -m jaxml.data` for where to get the files")
    return IdxRecords(memmap_idx(paths[0], cache_dir), memmap_idx(paths[1], cache_dir), _CLASSES[name])
