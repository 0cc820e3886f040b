"""The Austen-vs-Shakespeare IMDB stand-in, on small corpora written by the test."""
import numpy as np
import pytest

from jaxml.data import DatasetNotFoundError, InvalidSplitError, SequenceDataset
from jaxml.data.austen_vs_shakespeare import load_austen_vs_shakespeare as load


@pytest.fixture()
def corpora(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "shakespeare").mkdir()
    # Austen: 4 passages of 3 words (+ a tail that is dropped); Shakespeare: 5 passages (one cut).
    (tmp_path / "text" / "austen.txt").write_text("Miss Bennet smiled. Miss Bennet laughed.\nMr Darcy "
                                                  "smiled, miss Bennet sighed. tail")
    (tmp_path / "shakespeare" / "complete_works.txt").write_text(
        "Thou art gone. THOU ART here; thou art lost, thou didst weep. O thou art!")
    return tmp_path


def test_passages_labels_split_and_ids_by_hand(corpora):
    train = load("train", data_dir=corpora, passage_words=3, num_words=None)
    test = load("test", data_dir=corpora, passage_words=3, num_words=None)
    assert isinstance(train, SequenceDataset)
    # 4 passages per class (Shakespeare cut to Austen's 4); first half of each corpus -> train,
    # alternating Austen (0) / Shakespeare (1).
    np.testing.assert_array_equal(train.y, [0, 1, 0, 1])
    np.testing.assert_array_equal(test.y, [0, 1, 0, 1])
    # Training passages: [miss bennet smiled] [thou art gone] [miss bennet laughed] [thou art here]
    # Ranks on them: miss 1, bennet 2, thou 3, art 4, smiled 5, gone 6, laughed 7, here 8 -> id r + 3.
    assert [r.tolist() for r in train.x] == [[1, 4, 5, 8], [1, 6, 7, 9], [1, 4, 5, 10], [1, 6, 7, 11]]
    # Test passages: [mr darcy smiled] [thou art lost] [miss bennet sighed] [thou didst weep];
    # unseen words are 2.
    assert [r.tolist() for r in test.x] == [[1, 2, 2, 8], [1, 6, 7, 2], [1, 4, 5, 2], [1, 6, 2, 2]]
    assert train.word_index["miss"] == 4 and train.vocab_size == 12


def test_num_words_and_padding_follow_keras(corpora):
    ds = load("train", data_dir=corpora, passage_words=3, num_words=6, maxlen=6)
    assert ds.x.dtype == np.int32 and ds.x.shape == (4, 6)
    # ids >= 6 -> 2 (oov); 'pre' padding with 0.
    np.testing.assert_array_equal(ds.x[1], [0, 0, 1, 2, 2, 2])
    np.testing.assert_array_equal(ds.x[0], [0, 0, 1, 4, 5, 2])
    assert set(ds.word_index) == {"miss", "bennet"}


def test_errors_are_named(corpora, tmp_path_factory):
    with pytest.raises(InvalidSplitError, match="'validation'"):
        load("validation", data_dir=corpora)
    with pytest.raises(ValueError, match="passage_words must be an integer >= 1"):
        load("train", data_dir=corpora, passage_words=0)
    with pytest.raises(ValueError, match="need at least 2"):
        load("train", data_dir=corpora, passage_words=10)
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(DatasetNotFoundError, match="austen.txt"):
        load("train", data_dir=empty)
