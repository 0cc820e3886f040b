"""The small frozen dataclasses that :func:`jaxml.data.load` returns.

They hold plain numpy arrays with fixed dtypes; constructors check shapes and dtypes so
a reader bug surfaces here rather than deep inside a jitted training step. The
dataclasses are frozen (fields cannot be reassigned) but the arrays themselves are
ordinary writable numpy arrays. Equality is identity (``eq=False``): comparing
arrays element-wise is never what ``==`` on a dataset should mean.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ImageDataset",
    "TextDataset",
    "WordStream",
    "SequenceDataset",
    "TabularDataset",
]


def _check_labels(cls: str, y: np.ndarray, n: int) -> None:
    if not isinstance(y, np.ndarray) or y.dtype != np.int32 or y.ndim != 1:
        raise ValueError(
            f"{cls}.y must be an int32 numpy array of shape (N,); got "
            f"{type(y).__name__} {getattr(y, 'dtype', '')} {getattr(y, 'shape', '')}"
        )
    if y.shape[0] != n:
        raise ValueError(f"{cls}: x has {n} examples but y has {y.shape[0]}")


def _as_index(indices) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
        raise ValueError(f"indices must be a 1-D integer array; got {idx.dtype} {idx.shape}")
    return idx


@dataclasses.dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images and integer labels.

    x: uint8 array (N, H, W, C), NHWC (MNIST-like: C=1; CIFAR-10: C=3).
    y: int32 array (N,), values in ``range(len(class_names))``.
    class_names: the name of each class, indexed by label.
    """

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self):
        if not isinstance(self.x, np.ndarray) or self.x.dtype != np.uint8 or self.x.ndim != 4:
            raise ValueError(
                "ImageDataset.x must be a uint8 numpy array of shape (N, H, W, C); got "
                f"{type(self.x).__name__} {getattr(self.x, 'dtype', '')} "
                f"{getattr(self.x, 'shape', '')}"
            )
        _check_labels("ImageDataset", self.y, self.x.shape[0])
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, indices) -> "ImageDataset":
        """The examples at ``indices`` (a 1-D integer array), as a new dataset."""
        idx = _as_index(indices)
        return ImageDataset(self.x[idx], self.y[idx], self.class_names)


@dataclasses.dataclass(frozen=True, eq=False)
class TabularDataset:
    """Feature vectors and integer labels.

    x: float32 array (N, D); y: int32 array (N,);
    feature_names: D names; class_names: the name of each class, indexed by label.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]

    def __post_init__(self):
        if not isinstance(self.x, np.ndarray) or self.x.dtype != np.float32 or self.x.ndim != 2:
            raise ValueError(
                "TabularDataset.x must be a float32 numpy array of shape (N, D); got "
                f"{getattr(self.x, 'dtype', '')} {getattr(self.x, 'shape', '')}"
            )
        _check_labels("TabularDataset", self.y, self.x.shape[0])
        object.__setattr__(self, "feature_names", tuple(str(f) for f in self.feature_names))
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if len(self.feature_names) != self.x.shape[1]:
            raise ValueError(
                f"TabularDataset: {len(self.feature_names)} feature names for "
                f"{self.x.shape[1]} columns"
            )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, indices) -> "TabularDataset":
        """The rows at ``indices`` (a 1-D integer array), as a new dataset."""
        idx = _as_index(indices)
        return TabularDataset(self.x[idx], self.y[idx], self.feature_names, self.class_names)


@dataclasses.dataclass(frozen=True, eq=False)
class TextDataset:
    """A character-level corpus.

    ids: int32 array (N,), ``vocab[ids[i]]`` is the i-th character.
    vocab: the sorted distinct characters of the whole source file, so every split of
        the same file shares one vocabulary.
    """

    ids: np.ndarray
    vocab: tuple[str, ...]
    _codepoints: np.ndarray = dataclasses.field(init=False, repr=False)

    def __post_init__(self):
        vocab = tuple(self.vocab)
        if any(len(c) != 1 for c in vocab):
            raise ValueError("TextDataset.vocab must hold single characters")
        cps = np.array([ord(c) for c in vocab], dtype=np.uint32)
        if cps.size and np.any(np.diff(cps.astype(np.int64)) <= 0):
            raise ValueError("TextDataset.vocab must be sorted and without duplicates")
        if not isinstance(self.ids, np.ndarray) or self.ids.dtype != np.int32 or self.ids.ndim != 1:
            raise ValueError("TextDataset.ids must be an int32 numpy array of shape (N,)")
        object.__setattr__(self, "vocab", vocab)
        object.__setattr__(self, "_codepoints", cps)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        """Character ids (int32, shape (len(text),)); ValueError for a character not in vocab."""
        cps = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        ids = np.searchsorted(self._codepoints, cps)
        ok = ids < len(self._codepoints)
        ok[ok] = self._codepoints[ids[ok]] == cps[ok]
        if not np.all(ok):
            bad = sorted({text[i] for i in np.flatnonzero(~ok)[:20]})
            raise ValueError(f"characters not in the vocabulary: {bad!r}")
        return ids.astype(np.int32)

    def decode(self, ids) -> str:
        """The string whose character ids are ``ids`` (any integer array-like)."""
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.vocab)):
            raise ValueError(f"ids must lie in [0, {len(self.vocab)}); got {ids.min()}..{ids.max()}")
        return self._codepoints[ids.reshape(-1)].astype("<u4").tobytes().decode("utf-32-le")


@dataclasses.dataclass(frozen=True, eq=False)
class WordStream:
    """A corpus as one long sequence of word tokens (see ``jaxml.data.text`` for the rule)."""

    words: Sequence[str]
    name: str

    def __len__(self) -> int:
        return len(self.words)


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceDataset:
    """Integer token sequences with integer labels (IMDB sentiment).

    x: a list of int32 arrays (one per example, variable length) when loaded with
        ``maxlen=None``, else an int32 array (N, maxlen), padded/truncated like Keras'
        ``pad_sequences`` defaults.
    y: int32 array (N,) (IMDB: 1 = positive, 0 = negative).
    vocab_size: every id in x is < vocab_size. Ids: 0 padding, 1 start, 2 out of
        vocabulary, word of frequency rank r (1-based) -> r + 3.
    word_index: word -> id as it appears in x (only ids < vocab_size), or None when
        the source has no words (imdb.npz without imdb_word_index.json).
    """

    x: list | np.ndarray
    y: np.ndarray
    vocab_size: int
    word_index: dict | None

    def __post_init__(self):
        _check_labels("SequenceDataset", self.y, len(self.x))

    def __len__(self) -> int:
        return len(self.x)
