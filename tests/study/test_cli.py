"""A study's command line (absl + ml_collections.config_flags): presets, the study's own file, a
user's own config file, typed overrides, one-line errors with suggestions, --help."""
import re

import ml_collections
import pytest

from jaxml.study.cli import help_text, parse_command_line
from jaxml.train import ConfigError

PRESETS = ("tiny", "full")


def get_config(preset=None):
    cfg = ml_collections.ConfigDict()
    cfg.epochs = 20
    cfg.learning_rate = 0.1
    cfg.augment = False
    cfg.dataset = "mnist"
    cfg.hidden_sizes = (128, 64)
    cfg.parts = ("a", "b")
    cfg.optimizer = ml_collections.ConfigDict({"name": "sgd", "momentum": 0.9, "nested": {"depth": 3}})
    if preset == "tiny":
        cfg.epochs = 1
        cfg.hidden_sizes = (8,)
    return cfg


def parse(*argv):
    return parse_command_line(list(argv), get_config, PRESETS)


@pytest.mark.parametrize("key, text, expected", [
    ("epochs", "5", 5),
    ("learning_rate", "0.01", 0.01),
    ("learning_rate", "1e-4", 1e-4),
    ("augment", "true", True),
    ("augment", "False", False),
    ("dataset", "fashion_mnist", "fashion_mnist"),
    ("hidden_sizes", "(256, 32)", (256, 32)),
    ("hidden_sizes", "256,32", (256, 32)),
    ("hidden_sizes", "16", (16,)),
    ("parts", "x,y", ("x", "y")),
    ("parts", "(x, y)", ("x", "y")),
    ("optimizer.momentum", "0.5", 0.5),
    ("optimizer.nested.depth", "7", 7),
])
def test_overrides_parse_by_field_type(key, text, expected):
    cfg, _ = parse(f"--config.{key}={text}")
    node = cfg
    for part in key.split("."):
        node = node[part]
    assert node == expected and type(node) is type(expected)


@pytest.mark.parametrize("argv, epochs, hidden, workdir", [
    ([], 20, (128, 64), None),
    (["--config=tiny"], 1, (8,), None),
    (["--config", "tiny"], 1, (8,), None),
    ([f"--config={__file__}:tiny"], 1, (8,), None),
    ([f"--config={__file__}"], 20, (128, 64), None),
    (["--config=tiny", "--config.epochs=3", "--workdir=d"], 3, (8,), "d"),
    (["--config=full", "--config.hidden_sizes=(4,4)", "--workdir", "e"], 20, (4, 4), "e"),
])
def test_presets_and_the_studys_own_file(argv, epochs, hidden, workdir):
    cfg, options = parse(*argv)
    assert (cfg.epochs, cfg.hidden_sizes, options.workdir) == (epochs, hidden, workdir)


def test_a_users_own_config_file(tmp_path):
    path = tmp_path / "my_config.py"
    path.write_text("import ml_collections\n\n"
                    "def get_config(arg=None):\n"
                    "    return ml_collections.ConfigDict({'epochs': 7 if arg == 'long' else 2, 'width': 3})\n")
    cfg, _ = parse(f"--config={path}", "--config.width=5")
    assert (cfg.epochs, cfg.width) == (2, 5)
    cfg, _ = parse(f"--config={path}:long")
    assert cfg.epochs == 7
    with pytest.raises(ConfigError, match=r"no such config file"):
        parse(f"--config={tmp_path / 'missing.py'}")


@pytest.mark.parametrize("argv, match", [
    (["--config.epoch=3"], r"^unknown config key 'epoch'\. Did you mean 'epochs'\?$"),
    (["--config.optimizer.nam=adam"], r"^unknown config key 'optimizer.nam'\. Did you mean 'optimizer.name'\?$"),
    (["--config.epochs=abc"], r"--config\.epochs=abc"),
    (["--config.learning_rate=fast"], r"--config\.learning_rate=fast"),
    (["--config=nope"], r"unknown preset 'nope'; expected one of \['tiny', 'full'\]"),
    (["--epochs=3"], r"Unknown command line flag 'epochs'"),
    (["--config"], r"--config needs a value"),
])
def test_mistakes_are_one_line_config_errors(argv, match):
    with pytest.raises(ConfigError, match=match) as info:
        parse(*argv)
    assert "\n" not in str(info.value)


def test_help_lists_the_flags_and_every_key():
    cfg, options = parse("--help")
    assert cfg is None and options.help
    text = help_text("demo", get_config, PRESETS)
    for flag in ("--config ", "--workdir", "--allow_config_change", "--tensorboard",
                 "--config.optimizer.nested.depth=3"):
        assert flag in text, flag
    assert re.search(r"a preset \(tiny, full\)", text)


def test_resume_flags():
    _, options = parse("--allow_config_change=epochs,progress", "--tensorboard")
    assert options.allow_config_change == ("epochs", "progress") and options.tensorboard
