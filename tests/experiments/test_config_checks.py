"""Every config key of every study is checked before anything runs: a bad value raises
ConfigError naming the key (issue: no silent wrong results). Nothing here trains or loads data."""
from __future__ import annotations

import importlib
import math
import pkgutil

import ml_collections
import pytest

import experiments
from jaxml.study.config import ConfigError, _flat_keys, _get

STUDIES = sorted(m.name for m in pkgutil.iter_modules(experiments.__path__))
# Keys whose any value of their type is meaningful (say why).
FREE_FORM = {
    ("gan_mnist", "classifier_cache"): "a folder path for the shared quality classifier",
    ("vae_mnist", "classifier_cache"): "a folder path for the shared quality classifier",
    ("mini_cnn_gradients", "teacher_w"): "teacher weights: any finite numbers (NaN is still refused)",
    ("mini_cnn_gradients", "teacher_v"): "teacher weights: any finite numbers (NaN is still refused)",
    ("pretrained_transformers", "mask_prompt"): "free text: the fill-mask prompt",
    ("pretrained_transformers", "text_prompt"): "free text: the generation prompt",
}


def _validator(module):
    return getattr(module, "validate", None) or module.check


def _bad_values(value):
    """Values of ``value``'s type that no study accepts for a count, rate, fraction, seed or choice."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [-1]
    if isinstance(value, float):
        return [-1.0, math.nan]
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [type(value)([-1, *value[1:]]), type(value)([math.nan, *value[1:]])]
    if isinstance(value, str):
        return ["no-such-value"]
    return []


def _replaced(cfg, key, value):
    out = ml_collections.ConfigDict(cfg.to_dict())
    node, parts = out, key.split(".")
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return out


def _cases():
    for name in STUDIES:
        module = importlib.import_module(f"experiments.{name}")
        base = module.get_config("tiny")
        for key in _flat_keys(base):
            if (name, key) in FREE_FORM:
                continue
            for bad in _bad_values(_get(base, key)):
                if isinstance(bad, (tuple, list)) and isinstance(_get(base, key)[0], int) and any(
                        isinstance(b, float) and math.isnan(b) for b in bad):
                    continue  # NaN in a tuple of integers is not a value ConfigDict keeps
                yield pytest.param(name, key, bad, id=f"{name}:{key}={bad!r}")


@pytest.mark.parametrize("name,key,bad", list(_cases()))
def test_bad_value_is_refused_naming_the_key(name, key, bad):
    module = importlib.import_module(f"experiments.{name}")
    try:
        cfg = _replaced(module.get_config("tiny"), key, bad)
    except TypeError:
        pytest.skip("ConfigDict refuses the value's type itself")
    with pytest.raises(ConfigError, match=key.rsplit(".", 1)[-1]):
        _validator(module)(cfg)


def test_tiny_presets_are_valid():
    for name in STUDIES:
        module = importlib.import_module(f"experiments.{name}")
        _validator(module)(module.get_config("tiny"))


@pytest.mark.parametrize("name", STUDIES)
def test_checked_before_any_data_is_loaded(name, tmp_path, monkeypatch):
    """The command line refuses a bad count with an empty data folder: the config is checked
    before the study looks for data (which would raise DatasetNotFoundError instead)."""
    monkeypatch.setenv("JAXML_DATA_DIR", str(tmp_path / "no-data"))
    module = importlib.import_module(f"experiments.{name}")
    base = module.get_config("tiny")
    key = next(k for k in _flat_keys(base) if isinstance(_get(base, k), int) and not isinstance(_get(base, k), bool)
               and _get(base, k) >= 1 and "seed" not in k and (name, k) not in FREE_FORM)
    with pytest.raises(ConfigError, match=key.rsplit(".", 1)[-1]):
        module.run_experiment(module.NAME, module.get_config, module.PRESETS, module.main,
                              ["--config=tiny", f"--config.{key}=-1", f"--workdir={tmp_path / 'work'}"])
