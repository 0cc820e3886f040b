"""Checks on the real datasets under $JAXML_DATA_DIR (skipped with a reason when absent)."""
import numpy as np
import pytest

from jaxml.data import load, train_val_test

pytestmark = pytest.mark.real_data


def test_mnist_train(real_data_dir):
    ds = load("mnist", "train", data_dir=real_data_dir("mnist"))
    assert ds.x.shape == (60_000, 28, 28, 1) and ds.x.dtype == np.uint8
    assert np.bincount(ds.y)[:2].tolist() == [5923, 6742]
    assert len(load("mnist", "test", data_dir=real_data_dir("mnist"))) == 10_000


def test_fashion_mnist_train_balanced(real_data_dir):
    ds = load("fashion_mnist", "train", data_dir=real_data_dir("fashion_mnist"))
    assert ds.x.shape == (60_000, 28, 28, 1)
    assert np.bincount(ds.y).tolist() == [6000] * 10


def test_fashion_mnist_mlp_split(real_data_dir):
    parts = train_val_test("fashion_mnist", 10_000, 2_000, 10_000, seed=0,
                           data_dir=real_data_dir("fashion_mnist"))
    assert parts["train"].x.shape == (10_000, 28, 28, 1)
    assert parts["validation"].x.shape == (2_000, 28, 28, 1)
    assert parts["test"].x.shape == (10_000, 28, 28, 1)
    assert np.bincount(parts["test"].y).tolist() == [1000] * 10


def test_shakespeare_vocab(real_data_dir):
    root = real_data_dir("shakespeare/complete_works.txt")
    text = (root / "shakespeare" / "complete_works.txt").read_bytes().decode("utf-8")
    train = load("shakespeare", "train", data_dir=root)
    val = load("shakespeare", "validation", data_dir=root)
    assert train.vocab == tuple(sorted(set(text))) and len(train.vocab) == 84
    assert len(train) + len(val) == len(text) == 5_057_321
    assert val.decode(val.ids[:200]) == text[len(train):len(train) + 200]


@pytest.mark.parametrize("name,low,high", [("kjv", 780_000, 800_000), ("austen", 715_000, 735_000)])
def test_word_corpora_sizes(real_data_dir, name, low, high):
    ds = load(name, "all", data_dir=real_data_dir(f"text/{name}.txt"))
    assert low < len(ds) < high
    assert ds.words[:3] == (("in", "the", "beginning") if name == "kjv" else ("sense", "and", "sensibility"))
