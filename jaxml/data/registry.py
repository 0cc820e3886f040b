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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cifar, idx, imdb, tabular, text
from .errors import DatasetNotFoundError, DownloadError, InvalidSplitError, UnknownDatasetError
from .sources import resolve_root
from .upstream import MANUAL, UPSTREAM

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

    When neither the data folder nor tensorflow_datasets has the files, a dataset of
    :data:`jaxml.data.upstream.UPSTREAM` is downloaded into ``<data dir>/<folder>/`` and
    verified (:mod:`jaxml.data.download`; imdb's ``source="aclImdb"`` fetches the raw
    archive, shakespeare's default and ``source="tiny"`` the tiny file), then read. With
    ``JAXML_OFFLINE=1`` nothing is downloaded and ``DatasetNotFoundError`` says how to.
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
    root = resolve_root(data_dir)
    try:
        return spec.reader(split, root, **options)
    except DownloadError:
        raise
    except DatasetNotFoundError as err:
        bundle = _download_bundle(name, options.get("source"))
        if bundle is None:
            raise
        from . import download as dl  # urllib and tarfile only when a download may happen

        if dl.offline():
            raise DatasetNotFoundError(
                f"{err}\n  Automatic download is off (JAXML_OFFLINE=1). {download_hint(name, bundle.variant)}"
            ) from None
        print(f"jaxml.data: {name!r} is not in {root}; downloading it ($JAXML_DATA_MIRROR first, then "
              f"upstream; JAXML_OFFLINE=1 turns this off)", file=sys.stderr)
        dl.download(name, root, bundle=bundle)
    return spec.reader(split, root, **options)


def _download_bundle(name: str, source: str | None):
    """The bundle ``load`` downloads for ``name`` read with option ``source`` (None: the default);
    None when nothing downloadable serves that source (e.g. shakespeare's complete_works)."""
    bundles = UPSTREAM.get(name, ())
    if source is None:
        return bundles[0] if bundles else None
    return next((b for b in bundles if b.variant == source), None)


def download_hint(name: str, variant: str | None = None) -> str:
    """One line saying how to fetch ``name`` (or why it cannot be fetched)."""
    if name in MANUAL:
        return f"Not downloadable: {MANUAL[name]}."
    bundles = UPSTREAM.get(name, ())
    if not bundles:
        return f"{name!r} is bundled with a package; nothing to download."
    bundle = next((b for b in bundles if b.variant == variant), bundles[0])
    arg = name if bundle is bundles[0] else f"{name}:{bundle.variant}"
    firsts = [f.urls[0] for f in bundle.files]
    folders = {u.rsplit("/", 1)[0] + "/" for u in firsts}
    urls = f"{folders.pop()} ({len(firsts)} files)" if len(firsts) > 1 and len(folders) == 1 else ", ".join(firsts)
    return (f"To fetch it (from {urls}, verified by SHA-256): "
            f"`python -m jaxml.data download {arg}` or `make data`, with JAXML_OFFLINE unset.")


def _download_kind(spec: DatasetSpec) -> str:
    bundles = UPSTREAM.get(spec.name, ())
    if bundles:
        size = bundles[0].total_size
        return "yes" + (f" ({size / 1e6:.0f} MB)" if size is not None else "")
    return "manual" if spec.name in MANUAL else "bundled"


def catalog(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One dict per dataset: name, description, returns, shapes, splits, options,
    source (folder searched), files, tfds name, ``download`` ("yes" when ``load`` and
    ``python -m jaxml.data download`` can fetch it, "manual", "bundled") and ``available``
    (files present locally; for scikit-learn sets: scikit-learn importable)."""
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
                "download": _download_kind(spec),
                "available": bool(spec.is_available(root)),
            }
        )
    return rows
