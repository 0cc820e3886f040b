"""Text corpora: Shakespeare (characters) and KJV / Austen (words), plus word helpers.

Shakespeare (``load("shakespeare", split, source=...)``) -> :class:`TextDataset`
    ``source="complete_works"``: ``<data dir>/shakespeare/complete_works.txt``;
    ``source="tiny"``: Karpathy's ``<data dir>/tiny_shakespeare/input.txt``;
    default: complete_works when present, else tiny. The file is decoded as UTF-8 and
    used exactly as stored (no newline translation). The vocabulary is the sorted set of
    characters of the whole file, so train and validation share it. Split "train" is
    the first ``int(0.9 * len)`` characters and "validation" the rest (as nanoGPT's
    ``prepare.py``); there is no "test" split.

KJV and Austen (``load("kjv"|"austen", split)``) -> :class:`WordStream`
    ``<data dir>/text/kjv.txt`` (one verse a line, each starting with its reference
    such as ``Ge1:1 `` or ``1Cor13:4 ``, which is removed) and ``<data dir>/text/austen.txt``.
    Tokenisation rule (:func:`tokenize_words`): lowercase; curly apostrophes become
    ``'``; a word is a maximal run of letters (Unicode letters; digits and ``_`` are not
    letters) possibly joined by inner apostrophes, so ``don't`` and ``lord's`` stay whole
    while quotation marks around a word (``'tis`` -> ``tis``) and digits are dropped.
    Split "train" is the first ``int(0.9 * n)`` words, "validation" the rest, "all" all.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .containers import TextDataset, WordStream
from .errors import CorruptDataError
from .sources import not_found

__all__ = [
    "load_shakespeare",
    "load_words",
    "tokenize_words",
    "build_vocab",
    "trigram_windows",
    "TRAIN_FRACTION",
]

TRAIN_FRACTION = 0.9

SHAKESPEARE_FILES = {
    "complete_works": ("shakespeare", "complete_works.txt"),
    "tiny": ("tiny_shakespeare", "input.txt"),
}
_SHAKESPEARE_HOW_TO = (
    "put Shakespeare's works as one UTF-8 file at shakespeare/complete_works.txt "
    "(e.g. Project Gutenberg's https://www.gutenberg.org/ebooks/100), or Karpathy's "
    "tiny Shakespeare at tiny_shakespeare/input.txt (https://raw.githubusercontent.com/"
    "karpathy/char-rnn/master/data/tinyshakespeare/input.txt)"
)

WORD_FILES = {"kjv": "kjv.txt", "austen": "austen.txt"}
_WORD_HOW_TO = {
    "kjv": "put the King James Bible at text/kjv.txt, one verse a line prefixed by its "
    "reference ('Ge1:1 In the beginning ...'), e.g. from the Debian package bible-kjv-text "
    "(https://packages.debian.org/bible-kjv-text); plain text from "
    "https://www.gutenberg.org/ebooks/10 also works (without references)",
    "austen": "put Jane Austen's novels concatenated as plain text at text/austen.txt, "
    "e.g. from Project Gutenberg (https://www.gutenberg.org/ebooks/author/68) or the R "
    "package janeaustenr",
}

_WORD_RE = re.compile(r"[^\W\d_]+(?:'+[^\W\d_]+)*")
_KJV_REF_RE = re.compile(r"^[ \t]*[0-9]?[A-Za-z]+[0-9]+:[0-9]+[ \t]*", re.MULTILINE)


def _read_text(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptDataError(f"{path}: not UTF-8 text ({err})") from err
    if not text.strip():
        raise CorruptDataError(f"{path}: the file is empty ({len(text)} characters, no text); expected a UTF-8 "
                               "text corpus")
    return text


def _check_split(path: Path, part_size: int, total: int, split: str, unit: str) -> None:
    if part_size == 0:
        raise CorruptDataError(f"{path}: {total} {unit} leave the {split!r} split empty "
                               f"({TRAIN_FRACTION:.0%} train / {1 - TRAIN_FRACTION:.0%} validation); "
                               "expected a longer text")


def _split_point(n: int) -> int:
    return int(n * TRAIN_FRACTION)


# --------------------------------------------------------------------------- shakespeare


def shakespeare_path(root: Path, source: str | None) -> Path | None:
    if source is not None and source not in SHAKESPEARE_FILES:
        raise ValueError(
            f"shakespeare: unknown source {source!r}; use one of {sorted(SHAKESPEARE_FILES)}"
        )
    order = [source] if source else ["complete_works", "tiny"]
    for s in order:
        p = root.joinpath(*SHAKESPEARE_FILES[s])
        if p.is_file():
            return p
    return None


def load_shakespeare(split: str, root: Path, *, source: str | None = None) -> TextDataset:
    """Character-level Shakespeare; see the module docstring."""
    path = shakespeare_path(root, source)
    if path is None:
        wanted = [source] if source else list(SHAKESPEARE_FILES)
        files = ["/".join(SHAKESPEARE_FILES[s]) for s in wanted]
        raise not_found("shakespeare", root, files, _SHAKESPEARE_HOW_TO)
    text = _read_text(path)
    cps = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    uniq, ids = np.unique(cps, return_inverse=True)
    vocab = tuple(chr(int(c)) for c in uniq)
    ids = ids.astype(np.int32).reshape(-1)
    cut = _split_point(ids.shape[0])
    part = ids[:cut] if split == "train" else ids[cut:]
    _check_split(path, part.shape[0], ids.shape[0], split, "characters")
    return TextDataset(np.ascontiguousarray(part), vocab)


# --------------------------------------------------------------------------- words


def tokenize_words(text: str) -> list[str]:
    """Words of ``text`` by the rule in the module docstring (lowercased)."""
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


def strip_kjv_references(text: str) -> str:
    """Remove the verse reference (``Ge1:1 ``, ``1Cor13:4 ``) at the start of each line."""
    return _KJV_REF_RE.sub("", text)


def load_words(name: str, split: str, root: Path) -> WordStream:
    """``kjv`` or ``austen`` as a WordStream; see the module docstring."""
    path = root / "text" / WORD_FILES[name]
    if not path.is_file():
        raise not_found(name, root / "text", [WORD_FILES[name]], _WORD_HOW_TO[name])
    text = _read_text(path)
    if name == "kjv":
        text = strip_kjv_references(text)
    words = tokenize_words(text)
    total = len(words)
    cut = _split_point(total)
    if split == "train":
        words = words[:cut]
    elif split == "validation":
        words = words[cut:]
    _check_split(path, len(words), total, split, "words")
    return WordStream(tuple(words), name)


def build_vocab(words: Iterable[str], k: int) -> tuple[str, ...]:
    """The ``k`` most frequent words, most frequent first.

    Ties in frequency are broken by first occurrence in ``words`` (earlier first). When
    there are fewer than ``k`` distinct words, all of them are returned.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"build_vocab: k must be a positive integer, got {k!r}")
    # Counter keeps first-insertion order and most_common sorts stably by count.
    return tuple(w for w, _ in Counter(words).most_common(int(k)))


def trigram_windows(words: Sequence[str], vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All windows of 4 consecutive words whose four words are all in ``vocab``.

    Returns ``x`` int32 (M, 3), the ids of the first three words, and ``y`` int32 (M,),
    the id of the fourth; a word's id is its index in ``vocab``. Windows are in corpus
    order and overlap (stride 1).
    """
    index = {w: i for i, w in enumerate(vocab)}
    if len(index) != len(vocab):
        raise ValueError("trigram_windows: vocab has duplicate words")
    ids = np.fromiter((index.get(w, -1) for w in words), dtype=np.int64)
    if ids.shape[0] < 4:
        return np.zeros((0, 3), np.int32), np.zeros((0,), np.int32)
    win = np.lib.stride_tricks.sliding_window_view(ids, 4)
    win = win[np.all(win >= 0, axis=1)].astype(np.int32)
    return np.ascontiguousarray(win[:, :3]), np.ascontiguousarray(win[:, 3])
