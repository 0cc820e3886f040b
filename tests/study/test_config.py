"""Experiment configs: typed overrides, validation messages, command-line parsing, merging."""
import re

import ml_collections
import pytest

from jaxml.study.config import check_choice, check_range, merge, parse_command_line, set_override, to_dict
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


@pytest.mark.parametrize("key, text, expected", [
    ("epochs", "5", 5),
    ("learning_rate", "0.01", 0.01),
    ("learning_rate", "3", 3.0),
    ("learning_rate", "1e-4", 1e-4),
    ("augment", "true", True),
    ("augment", "False", False),
    ("augment", "1", True),
    ("augment", "no", False),
    ("dataset", "fashion_mnist", "fashion_mnist"),
    ("dataset", "123", "123"),
    ("hidden_sizes", "(256, 32)", (256, 32)),
    ("hidden_sizes", "256,32", (256, 32)),
    ("hidden_sizes", "16", (16,)),
    ("hidden_sizes", "[4, 5]", (4, 5)),
    ("seed_list", "3,4,5", [3, 4, 5]),
    ("optimizer.momentum", "0.5", 0.5),
    ("optimizer.name", "adam", "adam"),
    ("optimizer.nested.depth", "7", 7),
])
def test_set_override_parses_by_field_type(key, text, expected):
    cfg = get_config()
    set_override(cfg, key, text)
    node = cfg
    for part in key.split("."):
        node = node[part]
    assert node == expected and type(node) is type(expected)


@pytest.mark.parametrize("key, match", [
    ("epoch", r"unknown config key 'epoch'\. Did you mean 'epochs'\?"),
    ("optimizer.momentun", r"unknown config key 'optimizer.momentun'\. Did you mean 'optimizer.momentum'\?"),
    ("epochs.sub", r"unknown config key 'epochs.sub'"),
])
def test_unknown_key_suggests_the_closest(key, match):
    with pytest.raises(ConfigError, match=match) as info:
        set_override(get_config(), key, "1")
    assert "did you mean" in str(info.value).lower()
    assert "optimizer.nested.depth" in str(info.value)  # lists the known keys


def test_unknown_key_without_close_match():
    with pytest.raises(ConfigError, match=r"unknown config key 'zzzz'\. Known keys: augment, dataset, epochs, "):
        set_override(get_config(), "zzzz", "1")


@pytest.mark.parametrize("key, text", [
    ("epochs", "abc"), ("epochs", "2.5"), ("learning_rate", "fast"), ("augment", "maybe"),
    ("hidden_sizes", "(1,"),
])
def test_wrong_type_names_the_key(key, text):
    with pytest.raises(ConfigError, match=re.escape(f"config key '{key}': cannot use '{text}'")):
        set_override(get_config(), key, text)


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


@pytest.mark.parametrize("argv, epochs, hidden, workdir", [
    ([], 20, (128, 64), None),
    (["--config=tiny"], 1, (8,), None),
    (["--config=experiments/x.py:tiny"], 1, (8,), None),
    (["--config=experiments/x.py"], 20, (128, 64), None),
    (["--config=tiny", "--config.epochs=3", "--workdir=d"], 3, (8,), "d"),
    (["--config.hidden_sizes=(4,4)", "--config=full"], 20, (4, 4), None),
])
def test_parse_command_line(argv, epochs, hidden, workdir):
    cfg, wd = parse_command_line(argv, get_config, PRESETS)
    assert (cfg.epochs, cfg.hidden_sizes, wd) == (epochs, hidden, workdir)


def test_parse_command_line_nested_override():
    cfg, _ = parse_command_line(["--config.optimizer.nested.depth=3", "--config.optimizer.momentum=0"],
                                get_config, PRESETS)
    assert cfg.optimizer.nested.depth == 3 and cfg.optimizer.momentum == 0.0
    assert isinstance(cfg.optimizer.momentum, float)


@pytest.mark.parametrize("argv, match", [
    (["--config=huge"], r"unknown preset 'huge'; expected one of \['tiny', 'full'\]"),
    (["--config=experiments/x.py:huge"], r"unknown preset 'huge'"),
    (["--lr=3"], r"unknown flag --lr"),
    (["--workdir"], r"cannot parse argument '--workdir'"),
    (["tiny"], r"cannot parse argument 'tiny'"),
    (["--config.epochz=3"], r"unknown config key 'epochz'\. Did you mean 'epochs'"),
    (["--config.epochs=three"], r"config key 'epochs': cannot use 'three'"),
])
def test_parse_command_line_rejects(argv, match):
    with pytest.raises(ConfigError, match=match):
        parse_command_line(argv, get_config, PRESETS)


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
