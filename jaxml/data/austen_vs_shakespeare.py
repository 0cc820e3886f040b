"""An offline stand-in for IMDB: passages of Jane Austen vs Shakespeare, labelled by source.

IMDB reviews are not on our machines; this builds a binary text-classification set of the same
form from the two local corpora, so sequence classifiers run on real English text:

* texts: ``<data dir>/text/austen.txt`` (Austen's six novels) and
  ``<data dir>/shakespeare/complete_works.txt`` (Shakespeare's works, or Karpathy's
  ``tiny_shakespeare/input.txt`` when that is what is there);
* tokenisation: IMDB's (:func:`jaxml.data.imdb.tokenize_review`: lowercase, runs of letters and
  digits with inner apostrophes);
* passages: consecutive, non-overlapping runs of ``passage_words`` words of each corpus, in
  corpus order; the longer corpus is cut to the shorter one's passage count, so the classes are
  balanced. Labels: 1 = Shakespeare, 0 = Austen;
* train/test: the first ``train_fraction`` of each corpus' passages (by position) are "train",
  the rest "test", so test passages come mostly from other novels and plays than training ones;
  within a split, passages alternate Austen/Shakespeare (no shuffle: shuffling is the training
  loop's job);
* ids exactly as :mod:`jaxml.data.imdb` (Keras convention): word ranks by frequency on the
  *training* passages, 1 = start, 2 = out of vocabulary, rank r -> r + 3, ids >= num_words -> 2;
  ``maxlen`` pads/truncates with :func:`jaxml.data.imdb.pad_sequences` ('pre', as Keras).

With the shared data (200-word passages): 3,625 passages per class, 3,624 train + 3,626 test.

``load_austen_vs_shakespeare(split, data_dir=None, num_words=10000, maxlen=None, ...)`` ->
:class:`SequenceDataset` (same fields and conventions as ``load("imdb", ...)``).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from .containers import SequenceDataset
from .errors import InvalidSplitError
from .imdb import INDEX_FROM, encode_reviews, pad_sequences, rank_words, tokenize_review
from .sources import not_found, resolve_root
from .text import shakespeare_path

__all__ = ["load_austen_vs_shakespeare", "passages", "NAME", "LABELS"]

NAME = "austen_vs_shakespeare"
LABELS = ("austen", "shakespeare")
SPLITS = ("train", "test")


def passages(tokens: list[str], passage_words: int) -> list[list[str]]:
    """Consecutive non-overlapping runs of ``passage_words`` tokens (a shorter tail is dropped)."""
    n = len(tokens) // passage_words
    return [tokens[i * passage_words:(i + 1) * passage_words] for i in range(n)]


@functools.lru_cache(maxsize=4)
def _tokens(root: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    base = Path(root)
    austen = base / "text" / "austen.txt"
    shakes = shakespeare_path(base, None)
    missing = [str(p) for p, ok in ((austen, austen.is_file()),
                                    (base / "shakespeare" / "complete_works.txt", shakes is not None)) if not ok]
    if missing:
        raise not_found(NAME, base, ["text/austen.txt", "shakespeare/complete_works.txt (or "
                                     "tiny_shakespeare/input.txt)"],
                        "this stand-in is built from the local Austen and Shakespeare corpora; see "
                        "load('austen') and load('shakespeare') for where to get them", missing=missing)
    read = lambda p: p.read_bytes().decode("utf-8")  # noqa: E731
    return tuple(tokenize_review(read(austen))), tuple(tokenize_review(read(shakes)))


def _check_int(name: str, v, low: int, allow_none: bool = False):
    if allow_none and v is None:
        return
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"{NAME}: {name} must be {'None or ' if allow_none else ''}an integer >= {low}, got {v!r}")


def load_austen_vs_shakespeare(split: str, data_dir: str | os.PathLike | None = None, *,
                               num_words: int | None = 10000, maxlen: int | None = None,
                               passage_words: int = 200, train_fraction: float = 0.5) -> SequenceDataset:
    """The ``split`` ("train" or "test") of the stand-in; see the module docstring."""
    if split not in SPLITS:
        raise InvalidSplitError(NAME, split, SPLITS)
    _check_int("num_words", num_words, 4, allow_none=True)
    _check_int("maxlen", maxlen, 1, allow_none=True)
    _check_int("passage_words", passage_words, 1)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"{NAME}: train_fraction must be in (0, 1), got {train_fraction!r}")
    austen_tokens, shakes_tokens = _tokens(str(resolve_root(data_dir)))
    per_class = min(len(austen_tokens), len(shakes_tokens)) // passage_words
    if per_class < 2:
        raise ValueError(f"{NAME}: the corpora give {per_class} passage(s) of {passage_words} words per class; "
                         "need at least 2 (use shorter passages)")
    cut = max(1, min(per_class - 1, int(round(per_class * train_fraction))))
    parts = {}
    for label, tokens in enumerate((austen_tokens, shakes_tokens)):
        ps = passages(list(tokens[:per_class * passage_words]), passage_words)
        parts[label] = {"train": ps[:cut], "test": ps[cut:]}

    def interleave(s):
        a, b = parts[0][s], parts[1][s]
        texts = [p for pair in zip(a, b) for p in pair]
        labels = np.tile(np.array([0, 1], np.int32), len(a))
        return texts, labels

    train_texts, _ = interleave("train")
    texts, y = interleave(split)
    ranks = rank_words(train_texts)
    seqs = encode_reviews(texts, ranks, num_words)
    vocab_size = num_words if num_words is not None else len(ranks) + INDEX_FROM + 1
    word_index = {w: r + INDEX_FROM for w, r in ranks.items() if r + INDEX_FROM < vocab_size}
    x = seqs if maxlen is None else pad_sequences(seqs, maxlen)
    return SequenceDataset(x, y, int(vocab_size), word_index)
