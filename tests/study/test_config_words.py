"""--config.<key>=a,b for a tuple-of-strings field: bare words are accepted (quotes optional)."""
import ml_collections
import pytest

from jaxml.study.cli import parse_command_line
from jaxml.study.config import ConfigError


def get_config(preset=None):
    c = ml_collections.ConfigDict()
    c.models = ("mlp",)
    c.sizes = (1, 2)
    return c


def override(key, text):
    return parse_command_line([f"--config.{key}={text}"], get_config, ())[0]


@pytest.mark.parametrize("text, expected", [
    ("cnn2,cnn3", ("cnn2", "cnn3")), ("(cnn2, cnn3)", ("cnn2", "cnn3")), ("[cnn3]", ("cnn3",)),
    ("resnet18", ("resnet18",)), ("('a','b')", ("a", "b")), ("cross_entropy,mse", ("cross_entropy", "mse")),
])
def test_bare_words_for_string_tuples(text, expected):
    assert override("models", text).models == expected


def test_numeric_tuples_still_need_literals():
    assert override("sizes", "3,4").sizes == (3, 4)
    with pytest.raises(ConfigError, match="--config.sizes=3,x"):
        override("sizes", "3,x")


def test_dataclass_config_defaults_overrides_and_unknown_field():
    import dataclasses

    from jaxml.study.config import dataclass_config

    @dataclasses.dataclass
    class Cfg:
        lr: float = 0.1
        hidden: tuple = (4, 4)

    c = dataclass_config(Cfg, "toy", lr=0.5, hidden=[8])
    assert c.lr == 0.5 and c.hidden == (8,) and dataclass_config(Cfg, "toy").hidden == (4, 4)
    with pytest.raises(ConfigError, match=r"unknown toy field\(s\) \['nope'\]"):
        dataclass_config(Cfg, "toy", nope=1)
