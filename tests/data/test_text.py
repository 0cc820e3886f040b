"""Shakespeare characters, KJV / Austen words, build_vocab, trigram_windows."""
import numpy as np
import pytest

from jaxml.data import (
    DatasetNotFoundError,
    InvalidSplitError,
    TextDataset,
    WordStream,
    build_vocab,
    load,
    trigram_windows,
)
from jaxml.data.text import strip_kjv_references, tokenize_words

PLAY = "First Citizen:\nBefore we proceed any further, hear me speak.\r\n\nAll:\nSpeak, speak.\n"


def _write(root, rel, text):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode("utf-8"))
    return p


def test_shakespeare_vocab_split_roundtrip(tmp_path):
    _write(tmp_path, "shakespeare/complete_works.txt", PLAY)
    train = load("shakespeare", "train", data_dir=tmp_path)
    val = load("shakespeare", "validation", data_dir=tmp_path)
    assert isinstance(train, TextDataset)
    assert train.vocab == tuple(sorted(set(PLAY))) == val.vocab
    assert "\r" in train.vocab  # the file's characters, untranslated
    cut = int(len(PLAY) * 0.9)
    assert len(train) == cut and len(val) == len(PLAY) - cut
    assert train.ids.dtype == np.int32
    assert train.decode(train.ids) + val.decode(val.ids) == PLAY
    np.testing.assert_array_equal(train.encode(PLAY[:cut]), train.ids)
    assert train.decode(train.encode("Speak")) == "Speak"
    assert train.ids[0] == train.vocab.index("F")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        train.encode("Xyz")


def test_shakespeare_unicode(tmp_path):
    _write(tmp_path, "shakespeare/complete_works.txt", "café — naïve\n" * 3)
    ds = load("shakespeare", "train", data_dir=tmp_path)
    assert "é" in ds.vocab and "—" in ds.vocab
    assert ds.decode(ds.encode("naïve café")) == "naïve café"


def test_shakespeare_sources_and_no_test_split(tmp_path):
    _write(tmp_path, "tiny_shakespeare/input.txt", "abcabcabcd")
    tiny = load("shakespeare", "train", data_dir=tmp_path)  # only tiny present -> tiny
    assert tiny.vocab == ("a", "b", "c", "d") and len(tiny) == 9
    _write(tmp_path, "shakespeare/complete_works.txt", "xyz" * 10)
    assert load("shakespeare", data_dir=tmp_path).vocab == ("x", "y", "z")
    assert load("shakespeare", data_dir=tmp_path, source="tiny").vocab[0] == "a"
    with pytest.raises(InvalidSplitError, match="'test'.*'train', 'validation'"):
        load("shakespeare", "test", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown source"):
        load("shakespeare", data_dir=tmp_path, source="sonnets")


def test_shakespeare_missing_tiny_named(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load("shakespeare", data_dir=tmp_path, source="tiny")
    assert "tiny_shakespeare/input.txt" in str(info.value)
    assert "karpathy" in str(info.value)


KJV = (
    "Ge1:1 In the beginning God created the heaven and the earth.\n"
    "Ge1:2 And the earth was without form, and void.\n"
    "1Cor13:4 Charity suffereth long, and is kind; charity envieth not;\n"
    "SSol2:1 I am the rose of Sharon, and the LORD's lily of the valleys.\n"
)


def test_kjv_strips_references(tmp_path):
    _write(tmp_path, "text/kjv.txt", KJV)
    ds = load("kjv", "all", data_dir=tmp_path)
    assert isinstance(ds, WordStream) and ds.name == "kjv"
    words = list(ds.words)
    assert words[:5] == ["in", "the", "beginning", "god", "created"]
    assert "charity" in words and "lord's" in words
    assert not any(any(c.isdigit() for c in w) for w in words)
    assert "ge" not in words and "cor" not in words and "ssol" not in words
    n = len(words)
    train = load("kjv", "train", data_dir=tmp_path)
    val = load("kjv", "validation", data_dir=tmp_path)
    assert len(train) == int(0.9 * n) and list(train.words) + list(val.words) == words
    assert strip_kjv_references("Ge1:1 In\nPsa119:176 I have") == "In\nI have"


def test_austen_keeps_everything(tmp_path):
    _write(tmp_path, "text/austen.txt", "CHAPTER 1\n\n'Tis Mr. Darcy's \u2018house\u2019, she said--\"isn't it?\"\n")
    ds = load("austen", "all", data_dir=tmp_path)
    assert list(ds.words) == ["chapter", "tis", "mr", "darcy's", "house", "she", "said", "isn't", "it"]


def test_tokenize_words_rule():
    assert tokenize_words("Don't 'quote' rock'n'roll 42nd o'' ''") == [
        "don't", "quote", "rock'n'roll", "nd", "o"]


def test_build_vocab_ties_by_first_occurrence():
    words = "b a c a b d e d".split()
    # counts: b 2, a 2, d 2, c 1, e 1 -> ties in order of first occurrence
    assert build_vocab(words, 3) == ("b", "a", "d")
    assert build_vocab(words, 10) == ("b", "a", "d", "c", "e")
    with pytest.raises(ValueError):
        build_vocab(words, 0)


def test_trigram_windows_by_hand():
    words = "the cat sat on the mat the end".split()
    vocab = ("the", "cat", "sat", "on", "mat")
    x, y = trigram_windows(words, vocab)
    # windows: (the cat sat on) (cat sat on the) (sat on the mat) (on the mat the);
    # (the mat the end) and (mat the end ...) contain "end" -> dropped.
    np.testing.assert_array_equal(x, [[0, 1, 2], [1, 2, 3], [2, 3, 0], [3, 0, 4]])
    np.testing.assert_array_equal(y, [3, 0, 4, 0])
    assert x.dtype == np.int32 and y.dtype == np.int32 and x.shape == (4, 3)
    x0, y0 = trigram_windows(["the", "cat"], vocab)
    assert x0.shape == (0, 3) and y0.shape == (0,)


@pytest.mark.parametrize("rel, name", [("shakespeare/complete_works.txt", "shakespeare"),
                                       ("text/austen.txt", "austen"), ("text/kjv.txt", "kjv")])
def test_an_empty_corpus_is_refused_naming_the_file(tmp_path, rel, name):
    from jaxml.data import CorruptDataError

    path = _write(tmp_path, rel, "\n \n")
    with pytest.raises(CorruptDataError, match=f"{path}: the file is empty"):
        load(name, "train", data_dir=tmp_path)


def test_a_corpus_too_short_for_its_split_names_the_file(tmp_path):
    from jaxml.data import CorruptDataError

    path = _write(tmp_path, "text/austen.txt", "Emma Woodhouse handsome clever")  # 4 words: 3 train, 1 val
    assert len(load("austen", "validation", data_dir=tmp_path).words) == 1
    _write(tmp_path, "text/austen.txt", "Emma")
    with pytest.raises(CorruptDataError, match=rf"{path}: 1 words leave the 'train' split empty"):
        load("austen", "train", data_dir=tmp_path)
