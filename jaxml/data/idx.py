"""MNIST and Fashion-MNIST: the IDX file format (gzipped or not).

IDX layout (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number ``0x00 0x00 T D``
where ``T`` is the element type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64, all big-endian) and ``D`` the number of dimensions, then
``D`` big-endian uint32 sizes, then the data in C order. A file whose length differs
from what its header implies raises :class:`CorruptDataError`.

Files (upstream names, in ``<data dir>/<name>/``, each either ``.gz`` or plain):
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``. Split ``"train"`` = the 60,000 train files, ``"test"`` =
the 10,000 t10k files, in file order.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .containers import ImageDataset
from .errors import CorruptDataError
from .sources import find_first, not_found, tfds_images, try_tfds

__all__ = ["read_idx", "load_mnist_like", "MNIST_CLASSES", "FASHION_MNIST_CLASSES"]

_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILE_NAMES = tuple(f + ".gz" for pair in _FILES.values() for f in pair)

_HOW_TO = {
    "mnist": "download the four .gz files from http://yann.lecun.com/exdb/mnist/ "
    "(mirror: https://storage.googleapis.com/cvdf-datasets/mnist/)",
    "fashion_mnist": "download the four .gz files from "
    "https://github.com/zalandoresearch/fashion-mnist#get-the-data "
    "(http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)",
}
_CLASSES = {"mnist": MNIST_CLASSES, "fashion_mnist": FASHION_MNIST_CLASSES}


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (EOFError, OSError, zlib.error) as err:
            raise CorruptDataError(f"{path}: not a complete gzip file ({err})") from err
    return path.read_bytes()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed); returns a native-endian array."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise CorruptDataError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    zero0, zero1, type_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise CorruptDataError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x0000TTDD with "
            f"type TT in {{08,09,0b,0c,0d,0e}} and DD dimensions >= 1); is this an IDX file?"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(
            f"{path}: header needs {header} bytes for {ndim} dimensions, file has {len(raw)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[type_code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise CorruptDataError(
            f"{path}: IDX file {what}: its header (shape {dims}, {dtype.itemsize}-byte "
            f"elements) implies {expected} bytes, but it has {len(raw)} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _locate(folder: Path, split: str) -> tuple[list[Path | None], list[str]]:
    paths, missing = [], []
    for base in _FILES[split]:
        p = find_first(folder, (base + ".gz", base))
        paths.append(p)
        if p is None:
            missing.append(base + ".gz")
    return paths, missing


def available(root: Path, name: str) -> bool:
    folder = root / name
    return all(not _locate(folder, s)[1] for s in _FILES)


def _from_files(images_path: Path, labels_path: Path, class_names) -> ImageDataset:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise CorruptDataError(
            f"{images_path}: expected uint8 images of shape (N, H, W), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1:
        raise CorruptDataError(f"{labels_path}: expected labels of shape (N,), got {labels.shape}")
    if labels.shape[0] != images.shape[0]:
        raise CorruptDataError(
            f"{images_path} has {images.shape[0]} images but {labels_path} has "
            f"{labels.shape[0]} labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise CorruptDataError(
            f"{labels_path}: labels must lie in [0, {len(class_names)}); "
            f"found {labels.min()}..{labels.max()}"
        )
    return ImageDataset(images[..., None], labels.astype(np.int32), class_names)


def load_mnist_like(name: str, split: str, root: Path, *, tfds_data_dir=None) -> ImageDataset:
    """Load ``mnist`` or ``fashion_mnist`` (split "train" or "test") from ``root/name``."""
    folder = root / name
    class_names = _CLASSES[name]
    paths, missing = _locate(folder, split)
    if not missing:
        return _from_files(paths[0], paths[1], class_names)

    def convert(source):
        x, y = tfds_images(source, (28, 28, 1))
        return ImageDataset(x, y, class_names)

    result, reason = try_tfds(name, split, convert, tfds_data_dir=tfds_data_dir)
    if result is not None:
        return result
    raise not_found(
        name,
        folder,
        [f"{f} (or without .gz)" for f in FILE_NAMES],
        _HOW_TO[name],
        missing=missing,
        tfds_reason=reason,
    )
