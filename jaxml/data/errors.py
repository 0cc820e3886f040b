"""Exceptions raised by :mod:`jaxml.data`.

Every error the data layer raises on purpose derives from :class:`DataError`, so
``except DataError`` catches all of them. Each one also derives from the builtin
exception a caller would naturally expect, so older ``except`` clauses keep working:

``DataError(Exception)``
    Base class.
``DatasetNotFoundError(DataError, FileNotFoundError)``
    The dataset's files are not in the local data folder and tensorflow_datasets
    could not provide it either. The message names the dataset, the folder searched,
    the expected file names, and how to obtain them (upstream URL, ``JAXML_DATA_DIR``).
``CorruptDataError(DataError, ValueError)``
    A file exists but its content is not what the format promises: bad IDX magic
    number, a file shorter or longer than its header says (the message gives the
    file, the byte count the header implies and the actual one), an unreadable
    archive or pickle, labels out of range.
``UnknownDatasetError(DataError, ValueError)``
    ``load("mnsit")``: the message lists the known names and suggests the closest.
``DownloadError(DatasetNotFoundError)``
    A missing dataset could not be downloaded (:mod:`jaxml.data.download`): every URL
    failed, or a file's size or SHA-256 differed from the pinned value. The message names
    the dataset, the file, each URL tried with its cause, the expected size and hash, and
    the manual fallback (where to put the file by hand). Nothing partial is left behind.
``InvalidSplitError(DataError, ValueError)``
    ``load("shakespeare", "test")``: the message names the dataset, the split given
    and the splits allowed.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "DataError",
    "DatasetNotFoundError",
    "CorruptDataError",
    "DownloadError",
    "UnknownDatasetError",
    "InvalidSplitError",
]


class DataError(Exception):
    """Base class of every error raised on purpose by :mod:`jaxml.data`."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """The dataset is neither in the local data folder nor obtainable from tfds."""


class DownloadError(DatasetNotFoundError):
    """A missing dataset could not be downloaded and verified (see the message)."""


class CorruptDataError(DataError, ValueError):
    """A dataset file exists but does not hold what its format promises."""


class UnknownDatasetError(DataError, ValueError):
    """The dataset name is not in the registry."""

    def __init__(self, name: str, known: Iterable[str]):
        known = sorted(known)
        self.name = name
        self.known = tuple(known)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(
            f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(known)}."
        )


class InvalidSplitError(DataError, ValueError):
    """The split name is not one the dataset offers."""

    def __init__(self, dataset: str, split: str, allowed: Iterable[str]):
        self.dataset = dataset
        self.split = split
        self.allowed = tuple(allowed)
        super().__init__(
            f"Dataset {dataset!r} has no split {split!r}; "
            f"allowed splits: {', '.join(repr(s) for s in self.allowed)}."
        )
