"""IMDB movie-review sentiment (Maas et al. 2011) as integer sequences.

Sources, in ``<data dir>/imdb/`` (option ``source="npz"|"aclImdb"``; default: npz when
present, else aclImdb), then tensorflow_datasets' ``imdb_reviews``:

``imdb.npz`` (Keras, https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz)
    Object arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``. Keras stores each
    word as its frequency rank (1 = most frequent); we apply exactly what
    ``keras.datasets.imdb.load_data`` applies (prepend start_char=1, add index_from=3,
    ids >= num_words -> oov_char=2), but NOT its seed-113 shuffle (file order is kept)
    and NOT its dropping of reviews longer than maxlen (we truncate instead, below).
    ``word_index`` comes from ``imdb/imdb_word_index.json`` (Keras' word -> rank file)
    when present, else it is None.
``aclImdb/{train,test}/{pos,neg}/*.txt`` (https://ai.stanford.edu/~amaas/data/sentiment/)
    Order: ``pos`` files sorted by file name (plain string sort), then ``neg`` files
    sorted by file name; no shuffle. Tokenisation (:func:`tokenize_review`): lowercase,
    ``<br />`` (any ``<br>`` tag) -> space, curly apostrophes -> ``'``; a word is a
    maximal run of letters and digits possibly joined by inner apostrophes (so quotes
    around a word are dropped, ``don't`` stays whole). Word ranks are frequencies on the
    *training* reviews (ties: first occurrence first), and ids follow Keras: 0 padding,
    1 start of review, 2 out of vocabulary, rank r (1-based) -> r + 3, ids >= num_words
    -> 2. Test reviews use the training ranks (unseen words -> 2).
tensorflow_datasets ``imdb_reviews`` (plain_text)
    Same tokenisation and ids as aclImdb, in the data source's order.

Options: ``num_words=10000`` (None keeps every word), ``maxlen=None``: a list of int32
arrays; an int: an int32 (N, maxlen) array from :func:`pad_sequences` with Keras'
defaults (padding="pre", truncating="pre", value=0). Labels: 1 positive, 0 negative.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import sources
from .containers import SequenceDataset
from .errors import CorruptDataError
from .sources import not_found, tfds_arrays, try_tfds

__all__ = ["load_imdb", "pad_sequences", "tokenize_review", "rank_words", "encode_reviews"]

START, OOV, INDEX_FROM = 1, 2, 3
NPZ = "imdb.npz"
WORD_INDEX_JSON = "imdb_word_index.json"
ACL = "aclImdb"
_URL_NPZ = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
_URL_ACL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"

_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TOKEN_RE = re.compile(r"[^\W_]+(?:'+[^\W_]+)*")


def tokenize_review(text: str) -> list[str]:
    """Words of one review (rule in the module docstring)."""
    text = _BR_RE.sub(" ", text.lower()).replace("\u2019", "'")
    return _TOKEN_RE.findall(text)


def rank_words(token_lists: Iterable[Sequence[str]]) -> dict[str, int]:
    """word -> frequency rank (1 = most frequent; ties: first occurrence first)."""
    counts: Counter = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return {w: r for r, (w, _) in enumerate(counts.most_common(), start=1)}


def _limit(ids: np.ndarray, num_words: int | None) -> np.ndarray:
    if num_words is not None:
        ids = np.where(ids >= num_words, OOV, ids)
    return ids.astype(np.int32)


def encode_reviews(
    token_lists: Iterable[Sequence[str]], ranks: dict[str, int], num_words: int | None
) -> list[np.ndarray]:
    """Keras-convention id sequences: [1, rank+3 or 2 for unknown, ...], limited to num_words."""
    out = []
    for tokens in token_lists:
        ids = np.fromiter(
            (ranks[t] + INDEX_FROM if t in ranks else OOV for t in tokens),
            dtype=np.int64,
            count=len(tokens),
        )
        out.append(_limit(np.concatenate([[START], ids]), num_words))
    return out


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    maxlen: int,
    *,
    padding: str = "pre",
    truncating: str = "pre",
    value: int = 0,
) -> np.ndarray:
    """int32 (N, maxlen) array, like ``keras.preprocessing.sequence.pad_sequences``.

    Sequences longer than ``maxlen`` lose their start (``truncating="pre"``) or end
    ("post"); shorter ones are filled with ``value`` before (``padding="pre"``) or after
    ("post"). An empty sequence becomes a row of ``value``.
    """
    if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 1:
        raise ValueError(f"pad_sequences: maxlen must be a positive integer, got {maxlen!r}")
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {arg} must be 'pre' or 'post', got {v!r}")
    out = np.full((len(sequences), int(maxlen)), value, dtype=np.int32)
    for i, seq in enumerate(sequences):
        s = np.asarray(seq, dtype=np.int32).reshape(-1)
        if s.size == 0:
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "pre":
            out[i, maxlen - s.size:] = s
        else:
            out[i, : s.size] = s
    return out


# --------------------------------------------------------------------------- readers


def _acl_available(folder: Path) -> bool:
    acl = folder / ACL
    return all((acl / s / lab).is_dir() for s in ("train", "test") for lab in ("pos", "neg"))


def available(root: Path) -> bool:
    folder = root / "imdb"
    return (folder / NPZ).is_file() or _acl_available(folder)


def _read_acl(acl: Path, split: str) -> tuple[list[list[str]], np.ndarray]:
    tokens, labels = [], []
    for label, sub in ((1, "pos"), (0, "neg")):
        d = acl / split / sub
        if not d.is_dir():
            raise CorruptDataError(f"{acl}: missing folder {split}/{sub}/")
        for p in sorted(d.glob("*.txt"), key=lambda q: q.name):
            tokens.append(tokenize_review(p.read_text(encoding="utf-8", errors="replace")))
            labels.append(label)
    return tokens, np.asarray(labels, dtype=np.int32)


def _finish(seqs: list[np.ndarray], y: np.ndarray, vocab_size: int, word_index, maxlen):
    x = seqs if maxlen is None else pad_sequences(seqs, maxlen)
    return SequenceDataset(x, y, int(vocab_size), word_index)


def _from_texts(train_tokens, tokens, y, num_words, maxlen) -> SequenceDataset:
    ranks = rank_words(train_tokens)
    seqs = encode_reviews(tokens, ranks, num_words)
    # Ids run up to len(ranks) + INDEX_FROM (id 3 itself is unused, as in Keras).
    vocab_size = num_words if num_words is not None else len(ranks) + INDEX_FROM + 1
    word_index = {w: r + INDEX_FROM for w, r in ranks.items() if r + INDEX_FROM < vocab_size}
    return _finish(seqs, y, vocab_size, word_index, maxlen)


def _load_npz(folder: Path, split: str, num_words, maxlen) -> SequenceDataset:
    path = folder / NPZ
    try:
        with np.load(path, allow_pickle=True) as f:  # object arrays need pickle
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as err:
        raise CorruptDataError(f"{path}: missing array {err}") from err
    except Exception as err:  # noqa: BLE001
        raise CorruptDataError(f"{path}: not a readable .npz file ({err})") from err
    seqs = {}
    for s in ("train", "test"):
        xs, ys = arrays[f"x_{s}"], arrays[f"y_{s}"]
        if len(xs) != len(ys):
            raise CorruptDataError(f"{path}: x_{s} has {len(xs)} reviews, y_{s} {len(ys)}")
        seqs[s] = [
            np.concatenate([[START], np.asarray(r, dtype=np.int64).reshape(-1) + INDEX_FROM])
            for r in xs
        ]
    if num_words is not None:
        vocab_size = num_words
    else:
        vocab_size = 1 + max([OOV] + [int(r.max()) for s in seqs.values() for r in s])
    word_index = None
    wi_path = folder / WORD_INDEX_JSON
    if wi_path.is_file():
        ranks = json.loads(wi_path.read_text(encoding="utf-8"))
        word_index = {
            w: int(r) + INDEX_FROM for w, r in ranks.items() if int(r) + INDEX_FROM < vocab_size
        }
    y = np.asarray(arrays[f"y_{split}"]).astype(np.int32).reshape(-1)
    return _finish([_limit(r, num_words) for r in seqs[split]], y, vocab_size, word_index, maxlen)


def _tfds_texts(source) -> tuple[list[list[str]], np.ndarray]:
    cols = tfds_arrays(source, ("text", "label"))
    tokens = [
        tokenize_review(t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t))
        for t in cols["text"]
    ]
    return tokens, np.asarray(cols["label"]).astype(np.int32).reshape(-1)


def load_imdb(
    split: str,
    root: Path,
    *,
    num_words: int | None = 10000,
    maxlen: int | None = None,
    source: str | None = None,
    tfds_data_dir=None,
) -> SequenceDataset:
    """IMDB reviews as id sequences; see the module docstring."""
    if num_words is not None and (
        isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer)) or num_words < 4
    ):
        raise ValueError(f"imdb: num_words must be None or an integer >= 4, got {num_words!r}")
    if maxlen is not None and (
        isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 1
    ):
        raise ValueError(f"imdb: maxlen must be None or a positive integer, got {maxlen!r}")
    if source not in (None, "npz", "aclImdb"):
        raise ValueError(f"imdb: source must be None, 'npz' or 'aclImdb', got {source!r}")
    folder = root / "imdb"
    if source in (None, "npz") and (folder / NPZ).is_file():
        return _load_npz(folder, split, num_words, maxlen)
    if source in (None, "aclImdb") and _acl_available(folder):
        acl = folder / ACL
        train_tokens, train_y = _read_acl(acl, "train")
        if split == "train":
            return _from_texts(train_tokens, train_tokens, train_y, num_words, maxlen)
        tokens, y = _read_acl(acl, split)
        return _from_texts(train_tokens, tokens, y, num_words, maxlen)

    def convert(src):
        tokens, y = _tfds_texts(src)
        train_tokens = tokens
        if split != "train":
            train_src = sources.tfds_source("imdb_reviews", "train", sources.tfds_dir(tfds_data_dir))
            train_tokens, _ = _tfds_texts(train_src)
        return _from_texts(train_tokens, tokens, y, num_words, maxlen)

    result, reason = (None, "")
    if source is None:
        result, reason = try_tfds("imdb_reviews", split, convert, tfds_data_dir=tfds_data_dir)
    if result is not None:
        return result
    raise not_found(
        "imdb",
        folder,
        [NPZ, f"or {ACL}/{{train,test}}/{{pos,neg}}/*.txt"],
        f"download Keras' {_URL_NPZ} into {folder}/, or unpack {_URL_ACL} there",
        tfds_reason=reason or None,
    )
