"""Where dataset files come from: the local data folder, then tensorflow_datasets.

Order of sources for a dataset ``name`` (DESIGN.md §3):

1. ``<data dir>/<name>/`` in the upstream file format, where ``<data dir>`` is the
   ``data_dir=`` argument, else ``$JAXML_DATA_DIR``, else ``~/.cache/jaxml/data``.
2. ``tensorflow_datasets`` (mnist, fashion_mnist, cifar10, imdb) when it is importable,
   through ``tfds.data_source(..., download=False)``: a random-access reader of an
   already prepared ``array_record`` copy that does not need TensorFlow. Its folder is
   the ``tfds_data_dir=`` option, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``.
   Nothing is ever downloaded.
3. Otherwise the reader raises :class:`~jaxml.data.errors.DatasetNotFoundError`, naming the
   dataset, the folder searched, the expected files and how to obtain them; ``load`` then
   downloads the upstream files into 1. when it can (:mod:`jaxml.data.download`, off with
   ``JAXML_OFFLINE=1``). Another dataset is never substituted.

``tensorflow_datasets`` is imported only inside :func:`tfds_source`.
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CorruptDataError, DatasetNotFoundError

__all__ = ["data_dir", "resolve_root", "find_first", "tfds_source", "try_tfds", "not_found"]

ENV_VAR = "JAXML_DATA_DIR"
DEFAULT_DIR = Path("~/.cache/jaxml/data")


def data_dir() -> Path:
    """The local data folder: ``$JAXML_DATA_DIR`` if set (and non-empty), else
    ``~/.cache/jaxml/data``. The folder is not created."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else DEFAULT_DIR.expanduser()


def resolve_root(root: str | os.PathLike | None) -> Path:
    """``root`` as a Path, or :func:`data_dir` when it is None."""
    return data_dir() if root is None else Path(root).expanduser()


def find_first(folder: Path, names: Sequence[str]) -> Path | None:
    """The first of ``folder/name`` for ``name`` in ``names`` that is a file, else None."""
    for name in names:
        p = folder / name
        if p.is_file():
            return p
    return None


# --------------------------------------------------------------------------- tfds


def tfds_importable() -> bool:
    return importlib.util.find_spec("tensorflow_datasets") is not None


def tfds_dir(option: str | os.PathLike | None = None) -> Path:
    """Folder tensorflow_datasets reads prepared datasets from."""
    if option is not None:
        return Path(option).expanduser()
    env = os.environ.get("TFDS_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else Path("~/tensorflow_datasets").expanduser()


def tfds_source(tfds_name: str, split: str, directory: Path) -> Sequence[dict]:
    """``tfds.data_source(tfds_name, split=split, data_dir=directory, download=False)``.

    Returns a sequence of example dicts (``len`` and integer indexing). Kept as a
    separate function so tests can replace it with a fake source.
    """
    import tensorflow_datasets as tfds  # lazy: heavy, optional

    return tfds.data_source(tfds_name, split=split, data_dir=str(directory), download=False)


def try_tfds(
    tfds_name: str,
    split: str,
    convert: Callable[[Sequence[dict]], Any],
    *,
    tfds_data_dir: str | os.PathLike | None = None,
) -> tuple[Any, str]:
    """Try to build a dataset from tensorflow_datasets.

    Returns ``(result, "")`` on success, else ``(None, reason)`` with a one-line reason
    for the not-found message. ``convert`` turns the data source into the dataset.
    Errors from ``convert`` that are our own (CorruptDataError) propagate.
    """
    if not tfds_importable():
        return None, "tensorflow_datasets is not installed (pip install tensorflow-datasets)"
    directory = tfds_dir(tfds_data_dir)
    try:
        source = tfds_source(tfds_name, split, directory)
    except Exception as err:  # noqa: BLE001 - any failure means "tfds cannot provide it"
        detail = " ".join(str(err).split())
        if len(detail) > 300:
            detail = detail[:297] + "..."
        return None, (
            f"tensorflow_datasets could not open a prepared array_record copy of "
            f"{tfds_name!r} under {directory} (set TFDS_DATA_DIR or tfds_data_dir=; "
            f"tfds said {type(err).__name__}: {detail})"
        )
    return convert(source), ""


def tfds_arrays(source: Sequence[dict], keys: Sequence[str]) -> dict[str, list]:
    """Read every example of a tfds data source; returns ``{key: [values...]}``."""
    n = len(source)
    out: dict[str, list] = {k: [] for k in keys}
    for i in range(n):
        example = source[i]
        for k in keys:
            if k not in example:
                raise CorruptDataError(
                    f"tfds example {i} has no field {k!r}; fields: {sorted(example)}"
                )
            out[k].append(example[k])
    return out


def tfds_images(source: Sequence[dict], shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (N,H,W,C), y int32 (N,)) from a tfds image data source."""
    cols = tfds_arrays(source, ("image", "label"))
    if not cols["image"]:
        return np.zeros((0, *shape), np.uint8), np.zeros((0,), np.int32)
    x = np.stack([np.asarray(im) for im in cols["image"]])
    if x.ndim == 3:  # (N, H, W) sources without a channel axis
        x = x[..., None]
    if x.shape[1:] != tuple(shape):
        raise CorruptDataError(f"tfds images have shape {x.shape[1:]}, expected {tuple(shape)}")
    y = np.asarray(cols["label"]).astype(np.int32).reshape(-1)
    return np.ascontiguousarray(x, dtype=np.uint8), y


# --------------------------------------------------------------------------- errors


def not_found(
    dataset: str,
    folder: Path,
    expected: Sequence[str],
    how_to: str,
    *,
    missing: Sequence[str] = (),
    tfds_reason: str | None = None,
) -> DatasetNotFoundError:
    """The DatasetNotFoundError for ``dataset`` (returned, for the caller to raise)."""
    lines = [
        f"Dataset {dataset!r} not found.",
        f"  Folder searched: {folder}",
        f"  Expected files there: {', '.join(expected)}",
    ]
    if missing:
        lines.append(f"  Missing: {', '.join(missing)}")
    if tfds_reason:
        lines.append(f"  Fallback: {tfds_reason}")
    lines.append(f"  To get it: {how_to}")
    lines.append(
        f"  The data folder is the data_dir= argument, else ${ENV_VAR} (now "
        f"{os.environ.get(ENV_VAR) or 'unset'}), else {DEFAULT_DIR}; set {ENV_VAR} to a "
        f"folder that holds the dataset's subfolder."
    )
    return DatasetNotFoundError("\n".join(lines))
