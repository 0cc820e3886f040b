"""The dataset registry: :func:`load` and :func:`catalog`.

Each dataset has one :class:`DatasetSpec`: its splits, the folder and files it is read
from, a one-line description with shapes, and the reader. ``load`` checks the name and
the split (and the options against the reader's keyword arguments) before touching
any file, so a typo fails fast with a message that lists what is allowed.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cifar, idx, imdb, tabular, text
from .errors import InvalidSplitError, UnknownDatasetError
from .sources import resolve_root

__all__ = ["DatasetSpec", "REGISTRY", "IMAGE_DATASETS", "load", "catalog", "get_spec"]


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    returns: str                      # container class name
    shapes: str
    splits: tuple[str, ...]
    folder: str                       # relative to the data dir ("" = bundled with a package)
    files: tuple[str, ...]
    reader: Callable[..., Any]        # reader(split, root, **options)
    is_available: Callable[[Path], bool]
    tfds_name: str | None = None

    def options(self) -> tuple[str, ...]:
        params = list(inspect.signature(self.reader).parameters.values())
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _mnist_like(name: str, description: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        description=description,
        returns="ImageDataset",
        shapes="x uint8 (N,28,28,1), y int32 (N,); train 60,000, test 10,000",
        splits=("train", "test"),
        folder=name,
        files=idx.FILE_NAMES,
        reader=lambda split, root, *, tfds_data_dir=None: idx.load_mnist_like(
            name, split, root, tfds_data_dir=tfds_data_dir
        ),
        is_available=lambda root: idx.available(root, name),
        tfds_name=name,
    )


def _words(name: str, description: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        description=description,
        returns="WordStream",
        shapes="words: tuple[str] (90% train / 10% validation)",
        splits=("train", "validation", "all"),
        folder="text",
        files=(text.WORD_FILES[name],),
        reader=lambda split, root: text.load_words(name, split, root),
        is_available=lambda root: (root / "text" / text.WORD_FILES[name]).is_file(),
    )


def _tabular(name: str, description: str) -> DatasetSpec:
    _, n, d, k = tabular.TABULAR[name]
    return DatasetSpec(
        name=name,
        description=f"{description} (scikit-learn, bundled)",
        returns="TabularDataset",
        shapes=f"x float32 ({n},{d}), y int32, {k} classes; split all/train/test",
        splits=("all", "train", "test"),
        folder="",
        files=(f"sklearn.datasets.{tabular.TABULAR[name][0]}",),
        reader=lambda split, root, *, test_fraction=0.25, seed=0: tabular.load_tabular(
            name, split, test_fraction=test_fraction, seed=seed
        ),
        is_available=lambda root: tabular.available(),
    )


REGISTRY: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        _mnist_like("mnist", "MNIST handwritten digits, 10 classes"),
        _mnist_like("fashion_mnist", "Fashion-MNIST clothing images, 10 classes"),
        DatasetSpec(
            name="cifar10",
            description="CIFAR-10 colour images, 10 classes",
            returns="ImageDataset",
            shapes="x uint8 (N,32,32,3), y int32 (N,); train 50,000, test 10,000",
            splits=("train", "test"),
            folder="cifar10",
            files=(*cifar.FILE_NAMES, f"or {cifar.ARCHIVE}"),
            reader=lambda split, root, *, tfds_data_dir=None: cifar.load_cifar10(
                split, root, tfds_data_dir=tfds_data_dir
            ),
            is_available=cifar.available,
            tfds_name="cifar10",
        ),
        DatasetSpec(
            name="imdb",
            description="IMDB movie reviews, sentiment (1 = positive)",
            returns="SequenceDataset",
            shapes="x list of int32 (L_i,) or int32 (N,maxlen), y int32; 25,000 + 25,000",
            splits=("train", "test"),
            folder="imdb",
            files=(imdb.NPZ, f"or {imdb.ACL}/"),
            reader=imdb.load_imdb,
            is_available=imdb.available,
            tfds_name="imdb_reviews",
        ),
        DatasetSpec(
            name="shakespeare",
            description="Shakespeare, character level",
            returns="TextDataset",
            shapes="ids int32 (N,), vocab of characters; 90% train / 10% validation",
            splits=("train", "validation"),
            folder="shakespeare",
            files=("complete_works.txt", "or ../tiny_shakespeare/input.txt"),
            reader=text.load_shakespeare,
            is_available=lambda root: text.shakespeare_path(root, None) is not None,
        ),
        _words("kjv", "King James Bible, word level"),
        _words("austen", "Jane Austen's six novels, word level"),
        _tabular("digits", "8x8 handwritten digits"),
        _tabular("iris", "Iris flowers"),
        _tabular("wine", "Wine cultivars"),
        _tabular("breast_cancer", "Breast cancer Wisconsin (diagnostic)"),
    ]
}

# The image classification sets (``load`` returns an ImageDataset): mnist, fashion_mnist, cifar10.
IMAGE_DATASETS: tuple = tuple(name for name, spec in REGISTRY.items() if spec.returns == "ImageDataset")


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; UnknownDatasetError (with suggestions) otherwise."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise UnknownDatasetError(name, REGISTRY)
    return REGISTRY[name]


def load(name: str, split: str = "train", *, data_dir: str | os.PathLike | None = None, **options):
    """Load dataset ``name``'s ``split`` as numpy arrays in a small frozen dataclass.

    ``data_dir`` overrides ``$JAXML_DATA_DIR`` / ``~/.cache/jaxml/data``. ``options`` are
    the dataset's keyword options (e.g. ``num_words``/``maxlen`` for imdb, ``source`` for
    shakespeare, ``test_fraction``/``seed`` for tabular sets, ``tfds_data_dir`` for the
    tfds fallback); ``catalog()`` and the reader modules document them.
    """
    spec = get_spec(name)
    if split not in spec.splits:
        raise InvalidSplitError(name, split, spec.splits)
    allowed = spec.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"load({name!r}): unknown option(s) {', '.join(unknown)}; "
            f"{name!r} accepts: {', '.join(allowed) if allowed else 'no options'}"
        )
    return spec.reader(split, resolve_root(data_dir), **options)


def catalog(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One dict per dataset: name, description, returns, shapes, splits, options,
    source (folder searched), files, tfds name, and ``available`` (files present
    locally; for scikit-learn sets: scikit-learn importable)."""
    root = resolve_root(data_dir)
    rows = []
    for spec in REGISTRY.values():
        rows.append(
            {
                "name": spec.name,
                "description": spec.description,
                "returns": spec.returns,
                "shapes": spec.shapes,
                "splits": spec.splits,
                "options": spec.options(),
                "source": str(root / spec.folder) if spec.folder else "scikit-learn",
                "files": spec.files,
                "tfds": spec.tfds_name,
                "available": bool(spec.is_available(root)),
            }
        )
    return rows
