"""Loss and accuracy of a classifier checkpoint on a dataset split, plain, shifted or rotated.

    python -m jaxml.trained.evaluate_checkpoint --workdir=runs/mnist_cnn/<time> --split=test
    python -m jaxml.trained.evaluate_checkpoint --workdir=runs/ood_shift/<time> --part=cnn3 --run=1 --shift=4
    python -m jaxml.trained.evaluate_checkpoint --workdir=... --rotate=90 --whole_split --dataset=mnist

Studies: ``fashion_mnist_mlp`` (parts ``batch_size/bs<B>``, ``early_stopping``, ``momentum``),
``mnist_cnn`` (``training``), ``ood_shift`` (``mlp``, ``cnn2``, ``cnn3``). ``--split`` is
``train``, ``validation`` or ``test`` of the study's own split (``jaxml.data.train_val_test`` with the
sizes and data seed in ``model.json``: the numbers the study logged); with ``--whole_split`` the
dataset's whole upstream split instead (``jaxml.data.load(dataset, split)``: ``train`` or ``test``),
and ``--dataset`` another image set of the same shape. Pixels are scaled to [0, 1] as in training;
``--shift=k`` moves the images up by k pixels (zero fill), ``--rotate`` turns them counter-clockwise
by 90, 180 or 270 degrees (``jaxml.data.transforms``, as in ``experiments/ood_shift.py``).
Prints one line (and with ``--json`` a JSON object): the model, the set, loss, accuracy, examples.
"""
from __future__ import annotations

import json
import sys

from absl import flags

from jaxml.trained.commands import CommandError, define_model_flags, load_model, run_command

PROG = "evaluate_checkpoint"
SPLITS = ("train", "validation", "test")


def define(fv: flags.FlagValues) -> None:
    define_model_flags(fv)
    flags.DEFINE_enum("split", "test", SPLITS, "Which split (the study's subset unless --whole_split).",
                      flag_values=fv)
    flags.DEFINE_bool("whole_split", False, "The dataset's whole upstream split, not the study's subset.",
                      flag_values=fv)
    flags.DEFINE_string("dataset", None, "Another image dataset (with --whole_split); default the study's.",
                        flag_values=fv)
    flags.DEFINE_integer("shift", 0, "Move the images up by this many pixels (zero fill), as ood_shift does.",
                         flag_values=fv)
    flags.DEFINE_enum("rotate", "0", ("0", "90", "180", "270"), "Rotate counter-clockwise by this many degrees.",
                      flag_values=fv)
    flags.DEFINE_integer("batch_size", 1000, "Evaluation batch size.", flag_values=fv)
    flags.DEFINE_bool("json", False, "Also print the result as one JSON object.", flag_values=fv)


def load_images(data: dict, split: str, *, whole_split: bool = False, dataset: str | None = None):
    """(images float32 NHWC in [0, 1], labels int32) of the set ``model.json``'s ``data`` describes."""
    import numpy as np

    from jaxml import data as jdata

    name = dataset or data["dataset"]
    if whole_split:
        if split == "validation":
            raise CommandError("--whole_split: the upstream datasets have train and test splits, not validation")
        ds = jdata.load(name, split)
    else:
        if dataset not in (None, data["dataset"]):
            raise CommandError(f"--dataset={dataset} needs --whole_split (the study's split is of {data['dataset']})")
        ds = jdata.train_val_test(name, data["n_train"], data["n_val"], data["n_test"],
                                  seed=data["data_seed"])[split]
    x = np.asarray(ds.x, np.float32) / np.float32(255.0)
    if x.ndim == 3:
        x = x[..., None]
    return x, np.asarray(ds.y, np.int32)


def transformed(x, shift: int, rotate: int):
    import numpy as np

    from jaxml.data import transforms

    if shift and rotate:
        raise CommandError("give --shift or --rotate, not both")
    if not 0 <= shift < x.shape[1]:
        raise CommandError(f"--shift={shift}: expected 0 to {x.shape[1] - 1} pixels")
    if shift:
        return np.asarray(transforms.translate(x, -shift, 0))
    return np.asarray(transforms.rotate90(x, rotate // 90)) if rotate else x


def evaluate_trained(trained, x, y, batch_size: int = 1000) -> dict:
    """``{"loss", "accuracy", "examples"}`` of the trained classifier on NHWC images ``x``."""
    import optax

    from jaxml.train import evaluate
    from jaxml.train.state import TrainState

    if trained.spec["data"].get("layout") == "flat":
        x = x.reshape(len(x), -1)
    state = TrainState.create(apply_fn=trained.model.apply, params=trained.variables["params"],
                              tx=optax.identity(), batch_stats=trained.variables.get("batch_stats"))
    out = evaluate(state, {"x": x, "y": y}, batch_size=min(batch_size, len(x)))
    return {"loss": float(out["loss"]), "accuracy": float(out["accuracy"]), "examples": int(len(x))}


def body(fv: flags.FlagValues) -> None:
    from jaxml.train.errors import InputError

    if fv.batch_size < 1:
        raise CommandError(f"--batch_size={fv.batch_size}: expected at least 1")
    trained = load_model(PROG, fv, "classifier")
    x, y = load_images(trained.spec["data"], fv.split, whole_split=fv.whole_split, dataset=fv.dataset)
    x = transformed(x, fv.shift, int(fv.rotate))
    try:
        result = evaluate_trained(trained, x, y, fv.batch_size)
    except InputError as e:
        raise CommandError(str(e)) from None
    subset = "whole" if fv.whole_split else "study's"
    what = f"shifted up {fv.shift} px" if fv.shift else (f"rotated {fv.rotate}°" if fv.rotate != "0" else "original")
    dataset = fv.dataset or trained.spec["data"]["dataset"]
    print(f"{dataset} {fv.split} ({subset} split, {what}, {result['examples']} images): "
          f"loss {result['loss']:.4f}, accuracy {result['accuracy']:.4f}")
    if fv.json:
        print(json.dumps({"workdir": fv.workdir, "part": trained.part, "run": trained.run, "weights": trained.weights,
                          "step": trained.step, "dataset": dataset, "split": fv.split, "whole_split": fv.whole_split,
                          "shift": fv.shift, "rotate": int(fv.rotate), **result}))


def main(argv=None) -> int:
    return run_command(PROG, define, body, sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
