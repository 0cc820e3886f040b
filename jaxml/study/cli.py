"""A study's command line: absl flags + ``ml_collections.config_flags``.

    python -m experiments.<name> [--config=<preset> | --config=<file.py>[:<arg>]] [--config.<key>=<value> ...]
                                 [--workdir=<dir>] [--allow_config_change=<key>,...] [--tensorboard] [--help]
                                 [--distributed [--coordinator_address=HOST:PORT --num_processes=N --process_id=I]]

``--config`` (``--config tiny`` works too): a preset of the study (``tiny``, ``full``, ...), the
study's own file with a preset (``experiments/x.py:tiny``, the ml_collections form), or any other
Python file whose ``get_config(arg)`` returns a ConfigDict (a user's own config; ``:arg`` is passed
to it). ``--config.<key>=<value>`` overrides a field with absl's type-checked parsing; tuple fields
also take bare words (``--config.parts=a,b``, ``--config.seeds=0,1``). ``--workdir``: where outputs
go (an existing one resumes). ``--allow_config_change``: keys that may differ from the config a
work directory was started with (see ``jaxml.study.resume``). ``--tensorboard``: also write
TensorBoard event files. Mistakes raise :class:`ConfigError` with one line (a suggestion for a
misspelled key); ``--help`` prints the flags and every config key with its value.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from typing import Callable, Sequence

import ml_collections
from absl import flags
from ml_collections import config_flags

from jaxml.study.config import ConfigError, _flat_keys, _get, parse_value

__all__ = ["Options", "parse_command_line", "help_text"]


@dataclasses.dataclass
class Options:
    """What the command line says besides the config."""
    workdir: str | None = None
    allow_config_change: tuple = ()
    tensorboard: bool = False
    distributed: bool = False
    coordinator_address: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    help: bool = False


def _config_value(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The last ``--config`` value and argv without the ``--config`` arguments."""
    value, rest, i = None, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--config":
            if i + 1 >= len(argv):
                raise ConfigError("--config needs a value: a preset name or a config file (e.g. --config=tiny)")
            value, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--config="):
            value = arg[len("--config="):]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def _own_file(get_config: Callable) -> str | None:
    module = sys.modules.get(getattr(get_config, "__module__", ""), None)
    path = getattr(module, "__file__", None)
    return os.path.realpath(path) if path else None


def _initial_config(value, get_config, presets):
    """(config, source) for a ``--config`` value; None when it names another file (loaded by absl)."""
    if value is None:
        return get_config(None), "default"
    path, _, arg = value.partition(":") if ".py" in value else ("", "", value)
    if path and os.path.realpath(path) != _own_file(get_config):
        return None, path
    preset = arg or None
    if preset is not None and preset not in presets:
        raise ConfigError(f"unknown preset {preset!r}; expected one of {list(presets)}")
    return get_config(preset), "preset"


def _normalised(overrides: Sequence[str], cfg) -> list[str]:
    """``--config.k=v`` with bare-word tuples made Python literals (absl parses those)."""
    out = []
    for arg in overrides:
        match = re.fullmatch(r"--config\.([\w.]+)=(.*)", arg, flags=re.S)
        if match and cfg is not None:
            key, text = match.groups()
            try:
                current = _get(cfg, key)
            except (KeyError, AttributeError):
                current = None
            if isinstance(current, (tuple, list)):
                try:
                    arg = f"--config.{key}={parse_value(text, current)!r}"
                except (ValueError, SyntaxError) as e:
                    raise ConfigError(f"--config.{key}={text}: expected a tuple like {tuple(current)!r} "
                                      f"({e})") from None
        out.append(arg)
    return out


def _one_line(error: BaseException, cfg, args: Sequence[str] = ()) -> str:
    text = str(error).strip().replace("\\n", " ").replace("\n", " ")
    if isinstance(error, (AttributeError, KeyError)):
        name = re.search(r"[A-Za-z_][\w.]*", text)
        part = name.group(0) if name else text
        given = [m.group(1) for a in args for m in [re.match(r"--config\.([\w.]+)=", a)] if m]
        key = next((g for g in given if part in g.split(".")), part)   # the whole dotted key given
        known = _flat_keys(cfg) if cfg is not None else []
        close = difflib.get_close_matches(key, known, n=1) or difflib.get_close_matches(
            part, [k.rsplit(".", 1)[-1] for k in known], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown config key {key!r}.{hint}"
    return text


def parse_command_line(argv: Sequence[str], get_config: Callable[[str | None], ml_collections.ConfigDict],
                       presets: Sequence[str]) -> tuple[ml_collections.ConfigDict, Options]:
    """(config, options) from ``argv`` (without the program name); ConfigError on any mistake."""
    argv = list(argv)
    if any(a in ("--help", "-h", "--helpfull") for a in argv):
        return None, Options(help=True)
    value, rest = _config_value(argv)
    cfg, source = _initial_config(value, get_config, presets)
    fv = flags.FlagValues()
    prog = "study"
    if cfg is None and not os.path.isfile(source):
        raise ConfigError(f"--config={value}: no such config file {source!r}; expected a preset "
                          f"({', '.join(presets)}) or a Python file defining get_config()")
    flags.DEFINE_string("workdir", None, "Work directory (an existing one resumes).", flag_values=fv)
    flags.DEFINE_list("allow_config_change", [], "Config keys that may change when resuming a work directory.",
                      flag_values=fv)
    flags.DEFINE_bool("tensorboard", False, "Also write TensorBoard event files.", flag_values=fv)
    flags.DEFINE_bool("distributed", False, "Join a multi-process job (jax.distributed.initialize; the "
                      "coordinator flags or the cluster's environment: SLURM, TPU pods).", flag_values=fv)
    flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (with --distributed).", flag_values=fv)
    flags.DEFINE_integer("num_processes", None, "Processes in the job (with --distributed).", flag_values=fv)
    flags.DEFINE_integer("process_id", None, "This process's index (with --distributed).", flag_values=fv)
    try:
        if cfg is not None:
            args = [prog, *_normalised(rest, cfg)]
            config_flags.DEFINE_config_dict("config", cfg, flag_values=fv, sys_argv=args)
        else:
            args = [prog, f"--config={value}", *rest]
            config_flags.DEFINE_config_file("config", default=value, flag_values=fv, sys_argv=args)
        extra = fv(args)
        config = fv.config
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError) as e:
        raise ConfigError(_one_line(e, cfg, rest)) from None
    if len(extra) > 1:
        raise ConfigError(f"unexpected argument(s) {extra[1:]}; expected --config, --config.<key>=<value>, "
                          "--workdir, --allow_config_change, --tensorboard or --help")
    if not isinstance(config, ml_collections.ConfigDict):
        raise ConfigError(f"--config={value}: get_config() returned {type(config).__name__}, expected a ConfigDict")
    return config, Options(workdir=fv.workdir, allow_config_change=tuple(fv.allow_config_change),
                           tensorboard=fv.tensorboard,
                           distributed=fv.distributed or fv.coordinator_address is not None,
                           coordinator_address=fv.coordinator_address, num_processes=fv.num_processes,
                           process_id=fv.process_id)


def help_text(name: str, get_config: Callable, presets: Sequence[str]) -> str:
    """The ``--help`` text: usage, the flags, and every config key with its default value."""
    cfg = get_config(None)
    lines = [f"usage: python -m experiments.{name} [--config=PRESET|FILE.py[:ARG]] [--config.KEY=VALUE ...] "
             "[--workdir=DIR] [--allow_config_change=KEY,...] [--tensorboard]",
             "",
             f"  --config               a preset ({', '.join(presets)}), or a Python file with get_config()",
             "  --config.KEY=VALUE     override one config field (type-checked); tuples: a,b or (a, b)",
             "  --workdir=DIR          where outputs go (default runs/<study>/<time>); an existing one resumes",
             "  --allow_config_change  keys that may change when resuming (e.g. epochs)",
             "  --tensorboard          also write TensorBoard event files (needs tensorboardX)",
             "  --distributed          join a multi-process job: jax.distributed.initialize from the cluster's",
             "                         environment, or --coordinator_address=HOST:PORT --num_processes=N",
             "                         --process_id=I",
             "", "config keys (default preset):"]
    lines += [f"  --config.{key}={_get(cfg, key)!r}" for key in _flat_keys(cfg)]
    return "\n".join(lines)
