"""Experiment configs: validation of a study's ``ml_collections.ConfigDict``.

An experiment module defines ``get_config(preset: str | None) -> ml_collections.ConfigDict``; the
command line that builds it is ``jaxml.study.cli`` (absl + ``ml_collections.config_flags``).
Values outside a field's allowed set raise ``ConfigError`` naming the key, what was given and what
is allowed (``check_config`` and friends).
"""
from __future__ import annotations

import ast
import math
from typing import Callable, Iterable, Mapping

import ml_collections

from jaxml.train.errors import ConfigError  # noqa: E402  (defined in the core; re-exported here)


def _flat_keys(cfg, prefix=""):
    out = []
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, (ml_collections.ConfigDict, dict)):
            out.extend(_flat_keys(v, key + "."))
        else:
            out.append(key)
    return out


def parse_value(text: str, current):
    """``text`` parsed as the type of ``current`` (bare-word tuples allowed); ValueError otherwise."""
    if isinstance(current, bool):
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(f"expected a boolean (true/false), got {text!r}")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if isinstance(current, str) or current is None:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return value if current is None else text
    if isinstance(current, (tuple, list)):
        try:
            value = ast.literal_eval(text if text.strip().startswith(("(", "[")) else f"({text},)")
        except (ValueError, SyntaxError):
            if not all(isinstance(v, str) for v in current):
                raise
            # A tuple of strings given as bare words: "a,b", "(a,b)" or "[a, b]" -> ("a", "b").
            inner = text.strip()
            if inner[:1] in "([" and inner[-1:] in ")]":
                inner = inner[1:-1]
            value = tuple(w.strip().strip("'\"") for w in inner.split(",") if w.strip())
        if not isinstance(value, (tuple, list)):
            value = (value,)
        return type(current)(value)
    return ast.literal_eval(text)


def check_choice(cfg, key: str, allowed: Iterable) -> None:
    """ConfigError unless ``cfg.<key>`` is one of ``allowed``."""
    allowed = list(allowed)
    value = _get(cfg, key)
    if value not in allowed:
        raise ConfigError(f"config key {key!r} = {value!r} is not allowed; expected one of {allowed}")


def check_range(cfg, key: str, low=None, high=None, *, low_inclusive=True, high_inclusive=True) -> None:
    """ConfigError unless low <= cfg.<key> <= high (bounds optional, inclusivity configurable)."""
    value = _get(cfg, key)
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"config key {key!r} = {value!r} must be a number (or a sequence of numbers)")
        bad = not math.isfinite(v) or \
            (low is not None and (v < low if low_inclusive else v <= low)) or \
            (high is not None and (v > high if high_inclusive else v >= high))
        if bad:
            lo = "-inf" if low is None else low
            hi = "inf" if high is None else high
            brackets = ("[" if low_inclusive else "(") + f"{lo}, {hi}" + ("]" if high_inclusive else ")")
            raise ConfigError(f"config key {key!r} = {value!r} is out of range; expected values in {brackets}")


def _get(cfg, key):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def to_dict(cfg) -> dict:
    return cfg.to_dict() if isinstance(cfg, ml_collections.ConfigDict) else dict(cfg)


def merge(cfg: ml_collections.ConfigDict, values: Mapping) -> ml_collections.ConfigDict:
    """A copy of ``cfg`` with nested ``values`` applied (keys must exist)."""
    out = ml_collections.ConfigDict(cfg.to_dict())
    for key, value in values.items():
        if isinstance(value, Mapping):
            out[key] = merge(out[key], value)
        else:
            if key not in out:
                raise ConfigError(f"unknown config key {key!r}")
            out[key] = value
    return out


def dataclass_config(cls, what: str, **overrides) -> ml_collections.ConfigDict:
    """A ConfigDict of every field of dataclass ``cls`` (its defaults) with ``overrides`` applied;
    an unknown override raises ConfigError naming ``what`` (e.g. "DQN"). Tuple-valued fields stay
    tuples (ConfigDict would otherwise keep lists)."""
    import dataclasses

    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    unknown = set(overrides) - set(fields)
    if unknown:
        raise ConfigError(f"unknown {what} field(s) {sorted(unknown)}")
    fields.update(overrides)
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return ml_collections.ConfigDict(fields)


def check_subset(cfg, key: str, allowed: Iterable) -> None:
    """ConfigError unless every element of the sequence ``cfg.<key>`` is one of ``allowed``."""
    allowed = list(allowed)
    for item in _get(cfg, key):
        if item not in allowed:
            raise ConfigError(f"config key {key!r} has unknown entry {item!r}; expected a subset of {allowed}")


def _leaves(value) -> list:
    """The non-sequence entries of a (possibly nested) tuple/list, or ``[value]``."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def check_config(cfg, *, choices: Mapping[str, Iterable] | None = None, subsets: Mapping[str, Iterable] | None = None,
                 nonempty: Iterable[str] = (), counts: Iterable[str] = (), positive: Iterable[str] = (),
                 nonnegative: Iterable[str] = (), fractions: Iterable[str] = (),
                 ranges: Mapping[str, tuple] | None = None, nested: Mapping[str, Callable] | None = None) -> None:
    """The usual checks of a study's config in one declarative call; the first failure raises
    ``ConfigError`` naming the key, the value and what is allowed.

    ``choices``: ``{key: allowed values}``; ``subsets``: ``{key: allowed entries}`` for sequence
    keys; ``nonempty``: sequence keys that must list at least one entry; ``counts``: integers
    (or sequences of them, nested: ``((6, 16), (32,))``) >= 1; ``positive``: numbers > 0; ``nonnegative``: numbers >= 0;
    ``fractions``: numbers in [0, 1); ``ranges``: ``{key: (low, high)}``, inclusive (None = open);
    ``nested``: ``{key: check}`` for sub-configs with their own validation (e.g.
    ``lambda d: DQNConfig.from_mapping(d).validate()``): ``check(cfg.<key> as a dict)``, its
    ConfigError re-raised with the key in front.

    Always checked: every key named ``seed``/``*_seed`` (an integer >= 0) or ``seeds``/``*_seeds``
    (a non-empty sequence of them, or a number of seeds >= 1). NaN and infinities fail every range check.
    """
    for key in _flat_keys(cfg):
        last = key.rsplit(".", 1)[-1]
        if isinstance(_get(cfg, key), bool) or _get(cfg, key) is None:
            continue  # a switch (e.g. vmap_seeds), not a seed
        if last == "seed" or last.endswith("_seed"):
            _check_seeds(key, _get(cfg, key), (_get(cfg, key),))
        elif last == "seeds" or last.endswith("_seeds"):
            value = _get(cfg, key)
            if isinstance(value, int):  # a number of seeds (0, 1, ..., n - 1)
                if value < 1:
                    raise ConfigError(f"config key {key!r} = {value!r}: a number of seeds must be >= 1")
                continue
            if not isinstance(value, (tuple, list)) or not value:
                raise ConfigError(f"config key {key!r} must list at least one entry (integer seeds >= 0), "
                                  f"got {value!r}")
            _check_seeds(key, value, value)
    for key, allowed in (choices or {}).items():
        check_choice(cfg, key, allowed)
    for key, allowed in (subsets or {}).items():
        check_subset(cfg, key, allowed)
    for key in nonempty:
        if not len(_get(cfg, key)):
            raise ConfigError(f"config key {key!r} must list at least one entry")
    for key in counts:
        value = _get(cfg, key)
        for v in _leaves(value):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"config key {key!r} = {value!r} must be an integer >= 1")
            if v < 1:
                raise ConfigError(f"config key {key!r} = {value!r} is out of range; expected values in [1, inf]")
    for key in positive:
        check_range(cfg, key, 0, low_inclusive=False)
    for key in nonnegative:
        check_range(cfg, key, 0)
    for key in fractions:
        check_range(cfg, key, 0, 1, high_inclusive=False)
    for key, (low, high) in (ranges or {}).items():
        check_range(cfg, key, low, high)
    for key, check in (nested or {}).items():
        try:
            check(to_dict(_get(cfg, key)))
        except ConfigError as e:
            raise ConfigError(f"config key {key!r}: {e}") from None


def _check_seeds(key, value, seeds) -> None:
    for v in seeds:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"config key {key!r} = {value!r}: seeds must be integers >= 0")
