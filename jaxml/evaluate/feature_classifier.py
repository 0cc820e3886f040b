"""A classifier trained once, cached as an orbax checkpoint, and used as a feature extractor.

The sample-quality measure (``jaxml.evaluate.quality``) needs features of images from a network
that knows the data — for MNIST, a CNN trained with jaxml to >= 99% test accuracy. Training it
takes minutes on a CPU, so ``train_or_restore`` trains it once into a cache folder and later
calls restore the checkpoint instead:

    <root>/<name>-<key>/        root: ``cache_root`` argument, else $JAXML_CACHE_DIR/classifiers,
                                      else ~/.cache/jaxml/classifiers
        checkpoints/<epoch>/    orbax checkpoint of the last finished epoch (``jaxml.train.fit``'s)
        metrics.jsonl           the training curve (train_loss, train_accuracy per epoch)
        classifier.json         written last: settings, test accuracy, wall time

The classifier trains on the one driver, ``jaxml.train.fit`` (cross-entropy, Adam, the cache folder
as its work directory), so an interrupted training resumes from its last epoch like any run.
``<key>`` is a hash of everything that determines the weights (the module's repr without the
fields that only choose an implementation of the same function, ``IMPLEMENTATION_FIELDS``; epochs,
batch size, learning rate, seed, and a SHA-1 of the training images and labels), so a
different model, setting or dataset never picks up a stale checkpoint. A folder without
``classifier.json`` is an interrupted training run; the next call resumes it. Two processes training
the same key at once would race — train it once first (e.g. run one study before the other).

Features: ``features_and_logits(state, x, layer="output")`` returns the *input* of the
sub-module named ``layer`` (for ``jaxml.models.cnn.CNN`` the final ``Dense`` is named
``output``, so that input is the penultimate layer's activations) together with the logits,
model in eval mode. It is captured with ``flax.linen.intercept_methods``, so any Flax model
whose last layer has a known name works, without changing the model.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time
from typing import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.train.checkpoint import Checkpointer
from jaxml.train.evaluate import evaluate
from jaxml.train.fit import fit
from jaxml.train.optimizers import make_optimizer
from jaxml.train.runs import seed_keys
from jaxml.train.state import TrainState, apply_model, create_state

INFO_FILE = "classifier.json"


@dataclasses.dataclass
class FeatureClassifier:
    state: TrainState
    info: dict          # settings, test_accuracy, train_seconds, path, restored (bool)
    layer: str = "output"

    def features_and_logits(self, x, batch_size: int = 1000):
        return features_and_logits(self.state, x, layer=self.layer, batch_size=batch_size)


def cache_root(root=None) -> pathlib.Path:
    if root is not None:
        return pathlib.Path(root)
    env = os.environ.get("JAXML_CACHE_DIR")
    base = pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "jaxml"
    return base / "classifiers"


def _fingerprint(data: Mapping) -> str:
    h = hashlib.sha1()
    for key in ("x", "y"):
        arr = np.ascontiguousarray(np.asarray(data[key]))
        h.update(f"{key}{arr.shape}{arr.dtype}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


# Module fields that pick HOW a function is computed (same parameters, same outputs up to float
# rounding; jaxml.models.conv_impl / pooling): they do not make a different classifier.
IMPLEMENTATION_FIELDS = ("conv_impl", "pool_impl")


def model_key(model) -> str:
    """``repr(model)`` without the lines of ``IMPLEMENTATION_FIELDS``."""
    lines = repr(model).splitlines()
    return "\n".join(ln for ln in lines if ln.strip().split(" = ")[0] not in IMPLEMENTATION_FIELDS)


def _settings(model, epochs, batch_size, learning_rate, seed, train) -> dict:
    return {"model": model_key(model), "epochs": int(epochs), "batch_size": int(batch_size),
            "learning_rate": float(learning_rate), "seed": int(seed), "optimizer": "adam",
            "n_train": int(np.shape(train["x"])[0]), "train_sha1": _fingerprint(train)}


def cache_dir(name: str, settings: dict, root=None) -> pathlib.Path:
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return cache_root(root) / f"{name}-{key}"


def _check_split(what, data):
    if not isinstance(data, Mapping) or "x" not in data or "y" not in data:
        raise ValueError(f"{what} must be a mapping with arrays 'x' (N, H, W, C) float and 'y' (N,) int")


def train_or_restore(model: nn.Module, train: Mapping, test: Mapping, *, name: str, epochs: int,
                     batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0, root=None,
                     layer: str = "output", progress: bool = True, epoch_loop: str = "auto") -> FeatureClassifier:
    """The classifier ``model`` trained with Adam (cross-entropy, no early stopping) on ``train``
    ({"x", "y"}), restored from the cache when a complete checkpoint for exactly these settings
    exists; its test accuracy is measured on ``test`` after training and stored in
    ``classifier.json``. Training is ``jaxml.train.fit`` with the cache folder as its work
    directory (a checkpoint per epoch; an interrupted training resumes). ``epoch_loop``: as in
    ``fit`` ("auto" = the host loop on CPU)."""
    _check_split("train", train)
    _check_split("test", test)
    settings = _settings(model, epochs, batch_size, learning_rate, seed, train)
    folder = cache_dir(name, settings, root)
    init_key, train_key = seed_keys(seed)
    tx = make_optimizer({"name": "adam", "learning_rate": learning_rate})
    sample_x = jnp.asarray(np.asarray(train["x"][:1]))
    init = lambda k, x: create_state(model, tx, k, x)  # noqa: E731
    info_path = folder / INFO_FILE
    if info_path.exists():
        # Restoring needs only the state's structure, shapes and dtypes: no initialisation run.
        like = jax.eval_shape(init, init_key, sample_x)
        info = json.loads(info_path.read_text())
        ckpt = Checkpointer(folder / "checkpoints")
        try:
            step = ckpt.latest_step()
            if step != info["epochs"]:
                raise FileNotFoundError(f"classifier cache {folder}: {INFO_FILE} says {info['epochs']} epochs but the "
                                        f"latest checkpoint is {step}; delete the folder to retrain")
            state, _, _ = ckpt.restore(step, like, like)
        finally:
            ckpt.close()
        info.update(path=str(folder), restored=True)
        return FeatureClassifier(state=state, info=info, layer=layer)

    # Jitted: eager initialisation would compile one small XLA program per parameter.
    state = jax.jit(init)(init_key, sample_x)
    t0 = time.perf_counter()
    result = fit(state, {"x": np.asarray(train["x"]), "y": np.asarray(train["y"])}, key=train_key, epochs=epochs,
                 batch_size=batch_size, workdir=folder, keep_checkpoints=1, epoch_loop=epoch_loop,
                 progress=progress, desc=f"classifier {name}")
    state = result.state
    seconds = time.perf_counter() - t0
    test_metrics = evaluate(state, test)
    info = {**settings, "name": name, "test_accuracy": float(test_metrics["accuracy"]),
            "test_loss": float(test_metrics["loss"]), "n_test": int(np.shape(test["x"])[0]),
            "train_seconds": seconds}
    tmp = folder / (INFO_FILE + ".tmp")
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, info_path)
    info.update(path=str(folder), restored=False)
    return FeatureClassifier(state=state, info=info, layer=layer)


def _capture_input(state: TrainState, x, layer: str):
    captured = []

    def interceptor(next_fun, args, kwargs, context):
        if context.method_name == "__call__" and context.module.name == layer:
            captured.append(args[0])
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(interceptor):
        logits, _ = apply_model(state, state.params, x, train=False)
    if len(captured) != 1:
        raise ValueError(f"feature layer {layer!r}: expected exactly one sub-module call named {layer!r} "
                         f"in the model, found {len(captured)}")
    feats = captured[0]
    return jnp.reshape(feats, (feats.shape[0], -1)), logits


_capture_jit = jax.jit(_capture_input, static_argnames=("layer",))


def features_and_logits(state: TrainState, x, *, layer: str = "output", batch_size: int = 1000):
    """(features (N, F), logits (N, C)) as float32 numpy, model in eval mode, in fixed-size
    chunks (the last one padded) so one compiled function serves any N."""
    x = np.asarray(x)
    n = x.shape[0]
    if n == 0:
        raise ValueError("features_and_logits: no images")
    bs = min(batch_size, n)
    feats, logits = [], []
    for start in range(0, n, bs):
        chunk = x[start:start + bs]
        real = chunk.shape[0]
        if real < bs:
            chunk = np.concatenate([chunk, np.zeros((bs - real,) + chunk.shape[1:], chunk.dtype)])
        f, lg = _capture_jit(state, jnp.asarray(chunk), layer=layer)
        feats.append(np.asarray(f)[:real])
        logits.append(np.asarray(lg)[:real])
    return np.concatenate(feats), np.concatenate(logits)


def penultimate_features(state: TrainState, x, *, layer: str = "output", batch_size: int = 1000):
    """Features (N, F): the input of the layer ``layer`` (see ``features_and_logits``)."""
    return features_and_logits(state, x, layer=layer, batch_size=batch_size)[0]


class QualityMeter:
    """Sample quality against a fixed set of real images, in a classifier's features.

    ``QualityMeter(classifier, real_x)`` computes the real images' features and Gaussian
    statistics once; ``measure(images)`` returns the Fréchet distance of ``images`` to them
    (``jaxml.evaluate.quality``) and the class histogram of ``images`` under the classifier.
    Images are in the classifier's input format (for the MNIST CNN: (N, 28, 28, 1) floats in
    [0, 1]; (N, 784) is reshaped to the real images' shape).
    """

    def __init__(self, classifier: FeatureClassifier, real_x, batch_size: int = 1000):
        from jaxml.evaluate.quality import gaussian_stats

        self.classifier = classifier
        self.batch_size = batch_size
        self.image_shape = tuple(np.shape(real_x)[1:])
        self.real_features, self.real_logits = classifier.features_and_logits(real_x, batch_size)
        self.real_stats = gaussian_stats(self.real_features)

    def _images(self, images):
        arr = np.asarray(images, np.float32)
        if arr.ndim < 2 or arr[0].size != int(np.prod(self.image_shape)):
            raise ValueError(f"QualityMeter: expected images with {int(np.prod(self.image_shape))} values each "
                             f"(shape (N,) + {self.image_shape}), got shape {arr.shape}")
        return arr.reshape((arr.shape[0],) + self.image_shape)

    def measure(self, images) -> dict:
        """{"frechet": d², "histogram": [share of each predicted class], "min_share", "max_share",
        "tv_from_uniform", "n": number of images}."""
        from jaxml.evaluate.quality import (
            class_histogram,
            frechet_distance_from_stats,
            gaussian_stats,
            histogram_spread,
        )

        feats, logits = self.classifier.features_and_logits(self._images(images), self.batch_size)
        hist = class_histogram(logits)
        return {"frechet": frechet_distance_from_stats(*gaussian_stats(feats), *self.real_stats),
                "histogram": hist.tolist(), **histogram_spread(hist), "n": int(feats.shape[0])}

    def split_half(self, seed: int = 0) -> dict:
        """Sanity line: the Fréchet distance between two random halves of the real images
        (should be near 0; its size shows the estimator's finite-sample bias at N/2 images)."""
        from jaxml.evaluate.quality import frechet_distance

        perm = np.random.default_rng(seed).permutation(self.real_features.shape[0])
        half = perm.size // 2
        a, b = self.real_features[perm[:half]], self.real_features[perm[half:2 * half]]
        return {"frechet": frechet_distance(a, b), "n": int(half)}

    def real_accuracy(self, labels) -> float:
        """Classifier accuracy on the real images (checks that the features are meaningful)."""
        return float(np.mean(np.argmax(self.real_logits, axis=1) == np.asarray(labels)))


def cached_quality_meter(model: nn.Module, train_images, train_y, test_images, test_y, *, cache, workdir,
                         epochs: int, batch_size: int, learning_rate: float, seed: int, progress: bool = True,
                         epoch_loop: str = "auto", name: str = "mnist_cnn") -> tuple["QualityMeter", dict]:
    """A :class:`QualityMeter` against ``test_images`` in the features of ``model`` trained (or
    restored) by :func:`train_or_restore`, and an info dict (test accuracy, epochs, train seconds,
    path, restored, and the real-half vs half Fréchet sanity value ``split_half``).

    ``cache``: "workdir" (a ``classifier_cache`` folder in ``workdir``), a folder, or None/"" for
    the default cache root (:func:`cache_root`). Images in [0, 1], NHWC."""
    root = pathlib.Path(workdir) / "classifier_cache" if cache == "workdir" else (cache or None)
    clf = train_or_restore(model, {"x": train_images, "y": train_y}, {"x": test_images, "y": test_y}, name=name,
                           epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, root=root,
                           progress=progress, epoch_loop=epoch_loop)
    meter = QualityMeter(clf, test_images)
    info = {k: clf.info[k] for k in ("test_accuracy", "epochs", "train_seconds", "path", "restored")}
    info["split_half"] = meter.split_half(seed=0)
    return meter, info
