"""jaxml.data: datasets as numpy arrays, deterministic splits, small pure transforms.

Load a dataset::

    from jaxml.data import load, train_val_test
    ds = load("fashion_mnist", "train")           # ImageDataset: x uint8 (60000,28,28,1), y int32
    parts = train_val_test("fashion_mnist", 10_000, 2_000, 10_000, seed=0)

Datasets (``catalog()`` lists them with shapes, files and availability;
``python -m jaxml.data`` prints that table):

============== ================ ==================== ==================================
name           returns          splits               files in ``<data dir>/``
============== ================ ==================== ==================================
mnist          ImageDataset     train, test          ``mnist/*-idx?-ubyte[.gz]``
fashion_mnist  ImageDataset     train, test          ``fashion_mnist/*-idx?-ubyte[.gz]``
cifar10        ImageDataset     train, test          ``cifar10/`` python batches or .tar.gz
imdb           SequenceDataset  train, test          ``imdb/imdb.npz`` or ``imdb/aclImdb/``
shakespeare    TextDataset      train, validation    ``shakespeare/complete_works.txt``
                                                     or ``tiny_shakespeare/input.txt``
kjv, austen    WordStream       train, validation,   ``text/kjv.txt``, ``text/austen.txt``
                                all
digits, iris,  TabularDataset   all, train, test     bundled with scikit-learn
wine,
breast_cancer
============== ================ ==================== ==================================

Where data comes from (see :mod:`jaxml.data.sources`): ``<data dir>/<name>/`` in the
upstream format, where ``<data dir>`` is the ``data_dir=`` argument, else
``$JAXML_DATA_DIR``, else ``~/.cache/jaxml/data`` (:func:`data_dir`); then
tensorflow_datasets (mnist, fashion_mnist, cifar10, imdb) if it is installed and has a
prepared copy; then a verified download from upstream (:mod:`jaxml.data.download`; mnist,
fashion_mnist, cifar10, imdb, tiny shakespeare; off with ``JAXML_OFFLINE=1``;
``python -m jaxml.data download NAME`` fetches up front). No other dataset is ever substituted.

Errors (all subclasses of :class:`DataError`; see :mod:`jaxml.data.errors`):

- :class:`DatasetNotFoundError` (also ``FileNotFoundError``): files missing; the message
  names the dataset, the folder searched, the expected files, where to download them
  and ``JAXML_DATA_DIR``. Its subclass :class:`DownloadError`: a download failed (each
  URL and its cause, the pinned size and hash, the manual route).
- :class:`CorruptDataError` (also ``ValueError``): a file's content contradicts its
  format (e.g. truncated IDX: file, expected and actual byte counts; bad magic number).
- :class:`UnknownDatasetError` (also ``ValueError``): unknown name; lists known names.
- :class:`InvalidSplitError` (also ``ValueError``): the dataset, the split given, the
  allowed splits.

Plain ``ValueError``/``TypeError`` signal bad arguments (sizes in ``train_val_test``,
unknown options to ``load``, wrong ranks in ``transforms``).

Image splits as model inputs: :func:`unit_arrays` (pixels / 255), :func:`standardised_arrays`
(per channel with the training set's statistics); ``IMAGE_DATASETS`` names the image sets.
Word helpers: :func:`build_vocab`, :func:`trigram_windows` (:mod:`jaxml.data.text`).
Tables with named numeric and categorical columns and missing values: :func:`read_csv_table` (any CSV
with a label column), :func:`load_penguins` (the table ``palmerpenguins`` ships) ->
:class:`RawTable`; :class:`TabularEncoder` (median imputation + missing indicators, standardisation,
one-hot with a "missing" category, all fitted on the training rows), :func:`stratified_split`,
:func:`class_weights`, :func:`encode_splits` (:mod:`jaxml.data.tabular_csv`, :mod:`jaxml.data.tabular_prep`).
Transforms: :mod:`jaxml.data.transforms` (the only module that imports JAX; it is
imported on first use, so ``import jaxml.data`` loads numpy only).
"""
from .containers import ImageDataset, SequenceDataset, TabularDataset, TextDataset, WordStream
from .errors import (
    CorruptDataError,
    DataError,
    DatasetNotFoundError,
    DownloadError,
    InvalidSplitError,
    UnknownDatasetError,
)
from .registry import IMAGE_DATASETS, catalog, load
from .sources import data_dir
from .splits import standardised_arrays, train_val_test, unit_arrays
from .tabular_csv import RawTable, load_penguins, read_csv_table
from .tabular_prep import TabularEncoder, class_weights, encode_splits, stratified_split
from .text import build_vocab, trigram_windows

__all__ = [
    "load",
    "catalog",
    "data_dir",
    "train_val_test",
    "unit_arrays",
    "standardised_arrays",
    "IMAGE_DATASETS",
    "build_vocab",
    "trigram_windows",
    "DataError",
    "DatasetNotFoundError",
    "DownloadError",
    "CorruptDataError",
    "UnknownDatasetError",
    "InvalidSplitError",
    "ImageDataset",
    "TextDataset",
    "WordStream",
    "SequenceDataset",
    "TabularDataset",
    "RawTable",
    "read_csv_table",
    "load_penguins",
    "TabularEncoder",
    "stratified_split",
    "class_weights",
    "encode_splits",
    "transforms",
]


def __getattr__(name: str):
    # ``jaxml.data.transforms`` imports JAX; load it only when asked for.
    if name == "transforms":
        import importlib

        return importlib.import_module(".transforms", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
