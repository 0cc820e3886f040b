"""Experiment configs: validation messages, merging (the command line: test_cli.py)."""

import ml_collections
import pytest

from jaxml.study.config import check_choice, check_range, merge, to_dict
from jaxml.train import ConfigError

PRESETS = ("tiny", "full")


def get_config(preset=None):
    cfg = ml_collections.ConfigDict()
    cfg.epochs = 20
    cfg.learning_rate = 0.1
    cfg.augment = False
    cfg.dataset = "mnist"
    cfg.hidden_sizes = (128, 64)
    cfg.seed_list = [0, 1]
    cfg.optimizer = ml_collections.ConfigDict({"name": "sgd", "momentum": 0.9, "nested": {"depth": 3}})
    if preset == "tiny":
        cfg.epochs = 1
        cfg.hidden_sizes = (8,)
    return cfg


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_check_choice():
    cfg = get_config()
    check_choice(cfg, "optimizer.name", ["sgd", "adam"])
    with pytest.raises(ConfigError, match=r"config key 'dataset' = 'mnist' is not allowed; "
                                          r"expected one of \['cifar10', 'imdb'\]"):
        check_choice(cfg, "dataset", ("cifar10", "imdb"))


def test_check_range():
    cfg = get_config()
    check_range(cfg, "learning_rate", 0, 1)
    check_range(cfg, "hidden_sizes", low=1)
    with pytest.raises(ConfigError,
                       match=r"config key 'learning_rate' = 0\.1 is out of range; expected values in \(0\.1, 1\]"):
        check_range(cfg, "learning_rate", 0.1, 1, low_inclusive=False)
    with pytest.raises(ConfigError, match=r"'optimizer.momentum' = 0\.9 .*\[0, 0\.5\)"):
        check_range(cfg, "optimizer.momentum", 0, 0.5, high_inclusive=False)
    with pytest.raises(ConfigError, match=r"'hidden_sizes' = \(128, 64\) .*\[-inf, 100\]"):
        check_range(cfg, "hidden_sizes", high=100)
    with pytest.raises(ConfigError, match=r"'epochs' = 20 .*\[50, inf\]"):
        check_range(cfg, "epochs", low=50)


def test_merge_and_to_dict():
    cfg = get_config()
    merged = merge(cfg, {"epochs": 2, "optimizer": {"momentum": 0.0}})
    assert merged.epochs == 2 and merged.optimizer.momentum == 0.0 and merged.optimizer.name == "sgd"
    assert cfg.epochs == 20 and cfg.optimizer.momentum == 0.9  # a copy
    with pytest.raises(ConfigError, match="unknown config key 'epochz'"):
        merge(cfg, {"epochz": 2})
    assert to_dict(cfg)["optimizer"]["nested"] == {"depth": 3}
    assert to_dict({"a": 1}) == {"a": 1}


def test_check_config_names_the_first_bad_key():
    import ml_collections

    from jaxml.study.config import check_config

    c = ml_collections.ConfigDict({"model": "mlp", "seeds": (0, 1), "epochs": 3, "lr": 0.1, "dropout": 0.5,
                                   "parts": ("a",), "batch_size": 64, "n_train": 100})
    rules = dict(choices={"model": ("mlp", "cnn")}, subsets={"parts": ("a", "b")}, nonempty=["seeds"],
                 counts=["epochs", "batch_size"], positive=["lr"], fractions=["dropout"],
                 ranges={"batch_size": (1, c.n_train)})
    check_config(c, **rules)
    for key, value, match in [("model", "rnn", r"'model' = 'rnn' is not allowed; expected one of \['mlp', 'cnn'\]"),
                              ("parts", ("c",), r"'parts' has unknown entry 'c'"),
                              ("seeds", (), r"'seeds' must list at least one entry"),
                              ("epochs", 0, r"'epochs' = 0 is out of range; expected values in \[1, inf\]"),
                              ("lr", 0.0, r"'lr' = 0.0 is out of range; expected values in \(0, inf\]"),
                              ("dropout", 1.0, r"'dropout' = 1.0 is out of range; expected values in \[0, 1\)"),
                              ("batch_size", 101,
                               r"'batch_size' = 101 is out of range; expected values in \[1, 100\]")]:
        bad = ml_collections.ConfigDict(c.to_dict())
        bad[key] = value
        with pytest.raises(ConfigError, match=match):
            check_config(bad, **rules)


def test_check_config_nested_puts_the_key_in_front():
    import ml_collections

    from jaxml.study.config import check_config

    def check_agent(d):
        if d["tau"] > 1:
            raise ConfigError(f"agent config key 'tau' must be <= 1, got {d['tau']}")

    c = ml_collections.ConfigDict({"cartpole": {"tau": 0.5}, "lander": {"tau": 1.0}})
    check_config(c, nested={"cartpole": check_agent, "lander": check_agent})
    c.lander.tau = 2.0
    with pytest.raises(ConfigError, match=r"^config key 'lander': agent config key 'tau' must be <= 1, got 2.0$"):
        check_config(c, nested={"cartpole": check_agent, "lander": check_agent})


def test_check_config_counts_nested_sequences():
    import ml_collections

    from jaxml.study.config import check_config

    c = ml_collections.ConfigDict({"variants": ((6, 16), (32,)), "sizes": (4, 8)})
    check_config(c, counts=["variants", "sizes"])
    for value, match in [(((6, 0),), r"'variants' = \(\(6, 0\),\) is out of range; expected values in \[1, inf\]"),
                         (((6, 1.5),), r"'variants' = \(\(6, 1.5\),\) must be an integer >= 1"),
                         (((6, True),), r"must be an integer >= 1")]:
        c.variants = value
        with pytest.raises(ConfigError, match=match):
            check_config(c, counts=["variants"])
