"""What the trained-model commands share (``sample_text``, ``sample_images``, ``evaluate_checkpoint``):
absl flags parsed into a private ``FlagValues``, the ``--workdir``/``--part``/``--run``/``--weights``
flags that choose a model (``jaxml.trained.load``), and mistakes as one line on stderr (exit 2 for a
flag, 1 for anything about the work directory or data), never a traceback."""
from __future__ import annotations

import sys
from typing import Callable, Sequence

from absl import flags

from jaxml.data.errors import DataError
from jaxml.study.model_spec import SpecError
from jaxml.trained.load import WEIGHTS, Trained, load_trained


class CommandError(ValueError):
    """A mistake a command reports as one line."""


def define_model_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string("workdir", None, "The finished work directory of a study run (its --workdir).",
                        flag_values=fv)
    flags.DEFINE_string("part", None, "Which part's model (a folder with a model.json, e.g. training, cnn2, z2, "
                        "main, batch_size/bs50); default the first.", flag_values=fv)
    flags.DEFINE_integer("run", 0, "Which run of the part (seed x grid point, in the study's run order).",
                         flag_values=fv)
    flags.DEFINE_enum("weights", "best", WEIGHTS, "best: the early-stopping best state (the final one when "
                      "the run kept none); final: the last state.", flag_values=fv)


def load_model(prog: str, fv: flags.FlagValues, task: str | tuple) -> Trained:
    if not fv.workdir:
        raise CommandError("--workdir is required: the work directory of a finished study run")
    trained = load_trained(fv.workdir, fv.part, fv.run, fv.weights)
    tasks = (task,) if isinstance(task, str) else task
    if trained.spec["task"] not in tasks:
        raise CommandError(f"part {trained.part!r} of {fv.workdir} holds a {trained.spec['task']} "
                           f"({trained.spec['family']}); this command needs a {' or '.join(tasks)}")
    print(f"[{prog}] {trained.describe()}", file=sys.stderr, flush=True)
    return trained


def run_command(prog: str, define: Callable[[flags.FlagValues], None], body: Callable[[flags.FlagValues], None],
                argv: Sequence[str]) -> int:
    """Parse ``argv`` (program name first) and run ``body(flag_values)``; returns the exit status."""
    fv = flags.FlagValues()
    define(fv)
    if any(a in ("--help", "-h", "--helpfull") for a in argv[1:]):
        print(f"usage: python -m jaxml.study.{prog} [flags]\n\n" + _flag_help(fv))
        return 0
    try:
        rest = fv(list(argv))
        if len(rest) > 1:
            raise CommandError(f"unexpected argument(s) {rest[1:]}; see --help")
    except (flags.Error, CommandError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        body(fv)
    except (CommandError, SpecError, DataError, OSError) as e:
        print(f"{prog}: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1
    return 0


def _flag_help(fv: flags.FlagValues) -> str:
    lines = []
    for name in sorted(fv):
        flag = fv[name]
        default = "" if flag.default is None else f" (default: {flag.default_as_str})"
        lines.append(f"  --{name}: {flag.help}{default}")
    return "\n".join(lines)
