"""IMDB: aclImdb folder (tokenisation, Keras ids by hand), imdb.npz, pad_sequences."""
import json

import numpy as np
import pytest

from jaxml.data import SequenceDataset, load
from jaxml.data.imdb import pad_sequences, tokenize_review
from jaxml.testing import fake_files as writers

# Hand computation for conftest.ACL_REVIEWS. Training reviews in load order
# (pos sorted by file name, then neg):
#   pos/0_9.txt  great movie great acting loved it
#   pos/1_8.txt  great fun 10 out of 10 don't miss it
#   neg/0_2.txt  boring movie i didn't like it
# Counts: great 3, it 3, movie 2, 10 2, all others 1; ties keep first occurrence, so
# ranks: great 1, it 2, movie 3, 10 4, acting 5, loved 6, fun 7, out 8, of 9, don't 10,
# miss 11, boring 12, i 13, didn't 14, like 15; id = rank + 3; every review starts with 1.
TRAIN_IDS_ALL = [
    [1, 4, 6, 4, 8, 9, 5],
    [1, 4, 10, 7, 11, 12, 7, 13, 14, 5],
    [1, 15, 6, 16, 17, 18, 5],
]
# num_words=10: ids >= 10 become the oov id 2.
TRAIN_IDS_10 = [
    [1, 4, 6, 4, 8, 9, 5],
    [1, 4, 2, 7, 2, 2, 7, 2, 2, 5],
    [1, 2, 6, 2, 2, 2, 5],
]
# test: "great acting and a great 'story'" / "awful movie" ("and", "a", "story", "awful"
# never occur in training -> 2).
TEST_IDS_ALL = [[1, 4, 8, 2, 2, 4, 2], [1, 2, 6]]


def test_tokenize_review():
    assert tokenize_review("Great movie, great acting.<br /><br />Loved it!") == [
        "great", "movie", "great", "acting", "loved", "it"]
    assert tokenize_review("Don't miss 'Alien' (1979)<br/>Really\u2019s") == [
        "don't", "miss", "alien", "1979", "really's"]


def test_acl_train_ids_by_hand(tmp_path):
    writers.write_acl(tmp_path)
    ds = load("imdb", "train", data_dir=tmp_path, num_words=None)
    assert isinstance(ds, SequenceDataset)
    assert [r.tolist() for r in ds.x] == TRAIN_IDS_ALL
    assert all(r.dtype == np.int32 for r in ds.x)
    np.testing.assert_array_equal(ds.y, [1, 1, 0])
    assert ds.y.dtype == np.int32
    assert ds.vocab_size == 19  # 15 words -> max id 18
    assert ds.word_index["great"] == 4 and ds.word_index["like"] == 18
    assert len(ds) == 3


def test_acl_num_words_and_word_index(tmp_path):
    writers.write_acl(tmp_path)
    ds = load("imdb", "train", data_dir=tmp_path, num_words=10)
    assert [r.tolist() for r in ds.x] == TRAIN_IDS_10
    assert ds.vocab_size == 10
    assert ds.word_index == {"great": 4, "it": 5, "movie": 6, "10": 7, "acting": 8, "loved": 9}


def test_acl_test_split_uses_training_ranks_and_maxlen(tmp_path):
    writers.write_acl(tmp_path)
    ds = load("imdb", "test", data_dir=tmp_path, num_words=None)
    assert [r.tolist() for r in ds.x] == TEST_IDS_ALL
    np.testing.assert_array_equal(ds.y, [1, 0])
    padded = load("imdb", "test", data_dir=tmp_path, num_words=None, maxlen=5)
    assert padded.x.dtype == np.int32
    np.testing.assert_array_equal(padded.x, [[8, 2, 2, 4, 2], [0, 0, 1, 2, 6]])


def test_pad_sequences_keras_defaults():
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], []]
    got = pad_sequences(seqs, 4)
    np.testing.assert_array_equal(got, [[0, 1, 2, 3], [0, 0, 4, 5], [7, 8, 9, 10], [0, 0, 0, 0]])
    assert got.dtype == np.int32
    post = pad_sequences(seqs, 4, padding="post", truncating="post", value=-1)
    np.testing.assert_array_equal(post, [[1, 2, 3, -1], [4, 5, -1, -1], [6, 7, 8, 9], [-1] * 4])
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences(seqs, 0)


def _write_npz(folder, with_word_index):
    folder.mkdir(parents=True)

    def obj(rows):
        a = np.empty(len(rows), dtype=object)
        for i, r in enumerate(rows):
            a[i] = list(r)
        return a

    # Keras stores frequency ranks (1 = most frequent); load_data adds 3 and prepends 1.
    np.savez(folder / "imdb.npz",
             x_train=obj([[1, 2, 3], [5, 9999, 10000, 12]]), y_train=np.array([1, 0]),
             x_test=obj([[4]]), y_test=np.array([0]))
    if with_word_index:
        (folder / "imdb_word_index.json").write_text(json.dumps({"the": 1, "and": 2, "zebra": 9999}))


def test_npz_keras_convention(tmp_path):
    _write_npz(tmp_path / "imdb", with_word_index=True)
    ds = load("imdb", "train", data_dir=tmp_path)
    assert [r.tolist() for r in ds.x] == [[1, 4, 5, 6], [1, 8, 2, 2, 15]]
    np.testing.assert_array_equal(ds.y, [1, 0])
    assert ds.vocab_size == 10000
    assert ds.word_index == {"the": 4, "and": 5}  # zebra -> 10002 >= num_words
    test = load("imdb", "test", data_dir=tmp_path, maxlen=3)
    np.testing.assert_array_equal(test.x, [[0, 1, 7]])
    everything = load("imdb", "train", data_dir=tmp_path, num_words=None)
    assert everything.x[1].tolist() == [1, 8, 10002, 10003, 15]
    assert everything.vocab_size == 10004


def test_npz_without_word_index(tmp_path):
    _write_npz(tmp_path / "imdb", with_word_index=False)
    assert load("imdb", "test", data_dir=tmp_path).word_index is None


def test_npz_preferred_and_source_option(tmp_path):
    _write_npz(tmp_path / "imdb", with_word_index=False)
    writers.write_acl(tmp_path)
    assert len(load("imdb", "train", data_dir=tmp_path)) == 2  # npz by default
    assert len(load("imdb", "train", data_dir=tmp_path, source="aclImdb")) == 3
    with pytest.raises(ValueError, match="source"):
        load("imdb", "train", data_dir=tmp_path, source="keras")


def test_imdb_bad_options(tmp_path):
    writers.write_acl(tmp_path)
    with pytest.raises(ValueError, match="num_words"):
        load("imdb", "train", data_dir=tmp_path, num_words=0)
    with pytest.raises(ValueError, match="maxlen"):
        load("imdb", "train", data_dir=tmp_path, maxlen=-1)
