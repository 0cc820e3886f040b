"""The host loop around compiled epochs: evaluation, early stopping, logging, checkpoints.

``fit`` trains one run, or R runs at once when ``num_runs=R`` (the state and the key then
carry a leading runs axis, as made by ``jaxml.train.runs``; the epoch is ``jax.vmap``-ed over
it and compiled once). Each epoch is ONE compiled call (see ``epoch.py``); epoch ``e``
(1-based) uses the key ``fold_in(key, e)``, so a run resumed from a checkpoint at epoch k
continues exactly as the uninterrupted one would.

Early stopping is per run: a run whose monitored metric has not improved for ``patience``
epochs stops (its state is frozen inside the compiled call while the others go on), and
its best state is kept. Training ends when every run has stopped or ``epochs`` is reached.

Records appended to ``metrics.jsonl`` (one per run per epoch): ``epoch``, ``run``, the
``run_info`` fields (seed, swept value), ``train_loss``/``train_accuracy`` (running means
over the epoch's batches, model in train mode), ``<set>_loss``/``<set>_accuracy`` for each
evaluation set (eval mode), ``updates`` (gradient updates so far), ``active``,
``epoch_seconds`` (the compiled epoch), ``eval_seconds`` (the evaluation of all eval sets after
it) and ``examples_per_second`` (all runs of the program together), and one
field per entry of ``probes`` (a function of the train state measured after each epoch, e.g.
``jaxml.evaluate.probes.dead_relu_fraction``).

``step_log=True`` also keeps the mean training loss of every step (iteration) in
``FitResult.step_loss`` (R, epochs trained in this call, steps per epoch); ``shuffle=False``
visits the training examples in their stored order every epoch.
"""
from __future__ import annotations

import dataclasses
import math
import pathlib
import time
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.report.metrics_log import MetricsLog, truncate_after
from jaxml.report.progress import EpochProgress
from jaxml.train import parallel
from jaxml.train.checkpoint import Checkpointer
from jaxml.train.errors import NonFiniteLossError
from jaxml.train.epoch import make_epoch_fn, make_eval_fn, num_batches, summarize
from jaxml.train.host_epoch import make_host_epoch_fn, resolve_epoch_loop
from jaxml.train.steps import make_eval_step, make_train_step




@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """Stop a run when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs."""

    monitor: str = "val_accuracy"
    mode: str = "max"
    patience: int = 5
    min_delta: float = 0.0

    def __post_init__(self):
        if self.mode not in ("max", "min"):
            raise ValueError(f"EarlyStopping.mode must be 'max' or 'min', got {self.mode!r}")
        if self.patience < 1:
            raise ValueError(f"EarlyStopping.patience must be >= 1, got {self.patience}")

    def stop_epoch(self, values) -> tuple[int, int | None]:
        """Replay the rule on a recorded curve (values[i] is epoch i + 1).

        Returns (best_epoch, stop_epoch), stop_epoch None if the rule would not have fired —
        the same decisions ``fit`` makes, for marking "where patience p would have stopped"
        on a run trained without early stopping.
        """
        sign = 1.0 if self.mode == "max" else -1.0
        best, best_epoch, wait = -np.inf, 0, 0
        for epoch, v in enumerate(np.asarray(values, float), start=1):
            if sign * v > best + self.min_delta:
                best, best_epoch, wait = sign * v, epoch, 0
            else:
                wait += 1
                if wait >= self.patience:
                    return best_epoch, epoch
        return best_epoch, None


@dataclasses.dataclass
class FitResult:
    state: object          # final state (leading runs axis when num_runs is set)
    best_state: object     # state at each run's best monitored epoch (final state without early stopping)
    history: list          # one dict per run per epoch (also in metrics.jsonl)
    best_epoch: np.ndarray  # (R,) epoch of the best monitored value (last epoch without early stopping)
    stopped_epoch: np.ndarray  # (R,) last epoch each run trained
    updates: np.ndarray    # (R,) gradient updates each run took
    train_seconds: float   # wall time of the epochs (compile excluded), this invocation only
    compile_seconds: float
    resumed_from: int | None = None
    step_loss: np.ndarray | None = None  # (R, epochs, steps) mean loss per step, with step_log=True

    def run_history(self, run: int = 0) -> list:
        return [h for h in self.history if h["run"] == run]

    def curve(self, key: str, run: int = 0):
        """(epochs, values) of ``key`` for one run."""
        rows = [h for h in self.run_history(run) if key in h]
        return np.array([h["epoch"] for h in rows]), np.array([h[key] for h in rows], dtype=float)


# Module-level so that every batched fit shares one compiled key derivation.
_fold_in_runs = jax.jit(jax.vmap(jax.random.fold_in, in_axes=(0, None)))


def _select(mask_R, new, old):
    def pick(n, o):
        m = mask_R.reshape(mask_R.shape + (1,) * (n.ndim - mask_R.ndim))
        return jnp.where(m, n, o)
    return jax.tree_util.tree_map(pick, new, old)


def _host_run_epoch(train_step, batch_size: int, batched: bool, shuffle: bool):
    """``run_epoch(state, data, key, active)`` as a host loop of compiled steps (``epoch_loop="host"``)."""
    host = make_host_epoch_fn(train_step, batch_size, batched=batched, shuffle=shuffle)
    select = jax.jit(_select)

    def run_epoch(state, data, key, active):
        new_state, metrics = host(state, data, key)  # works on a copy: ``state`` stays valid
        if batched and not bool(np.all(np.asarray(active))):
            new_state = select(active, new_state, state)
        return new_state, metrics

    return run_epoch


def _to_device(data, sharding=None):
    arrays = {k: jnp.asarray(v) for k, v in dict(data).items()}
    return jax.device_put(arrays, sharding) if sharding is not None else arrays


def _check_data(name, data, reference=None):
    if not isinstance(data, Mapping) or "x" not in data or "y" not in data:
        raise ValueError(f"{name} must be a mapping with arrays 'x' and 'y', got {type(data).__name__}")
    n = {len(np.shape(v)) and np.shape(v)[0] for v in data.values()}
    if len(n) != 1 or 0 in n:
        raise ValueError(f"{name}: all arrays need the same non-zero number of examples, got leading sizes {n}")
    if reference is not None and np.shape(data["x"])[1:] != np.shape(reference["x"])[1:]:
        raise ValueError(f"{name}['x'] has example shape {np.shape(data['x'])[1:]}, "
                         f"expected {np.shape(reference['x'])[1:]} like the training data")


def fit(state, train_data, *, key, epochs: int, batch_size: int, loss="cross_entropy",
        eval_sets: Mapping[str, Mapping] | None = None, early_stopping: EarlyStopping | None = None,
        num_runs: int | None = None, run_info: Sequence[dict] | None = None,
        workdir=None, checkpoint_every: int = 1, keep_checkpoints: int = 2,
        progress: bool = True, eval_batch_size: int = 1000, data_parallel: bool = False,
        on_nonfinite: str = "raise", callbacks: Sequence[Callable] = (), log_name: str = "metrics.jsonl",
        desc: str = "", shuffle: bool = True, step_log: bool = False,
        probes: Mapping[str, Callable] | None = None, epoch_loop: str = "scan") -> FitResult:
    """Train ``state`` on ``train_data`` ({"x": (N, ...), "y": (N, ...)}) for up to ``epochs`` epochs.

    ``eval_sets``: named splits evaluated after every epoch (e.g. {"val": ..., "test": ...}).
    ``workdir``: where ``metrics.jsonl`` and ``checkpoints/`` go; an existing one is resumed.
    ``on_nonfinite``: "raise" (NonFiniteLossError) or "stop_run" (that run stops, others go on).
    ``callbacks``: called as ``cb(epoch, records)`` after each epoch's bookkeeping.
    ``shuffle``: False keeps the stored example order in every epoch (default: a new permutation).
    ``step_log``: keep the per-step mean training loss in ``FitResult.step_loss``.
    ``probes``: ``{name: fn(state) -> scalar}`` (pure, jit-able; one run's state), recorded
    after every epoch as field ``name`` of each run's record.
    ``epoch_loop``: "scan" (one compiled call per epoch, the default), "host" (a Python loop of
    one compiled step per batch, same numbers; much faster for conv nets on XLA:CPU, see
    ``jaxml.train.host_epoch``; its step compiles on first use, inside epoch 1's time) or "auto".
    """
    eval_sets = dict(eval_sets or {})
    _check_data("train_data", train_data)
    for name, data in eval_sets.items():
        if name == "train":
            raise ValueError("eval set name 'train' is reserved for the running training metrics; use 'train_eval'")
        _check_data(f"eval_sets[{name!r}]", data, train_data)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if on_nonfinite not in ("raise", "stop_run"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'stop_run', got {on_nonfinite!r}")
    if early_stopping is not None:
        allowed = [f"{n}_{m}" for n in ["train", *eval_sets] for m in ("loss", "accuracy")]
        if early_stopping.monitor not in allowed:
            raise ValueError(f"EarlyStopping.monitor={early_stopping.monitor!r} is not one of {allowed}")
    batched = num_runs is not None
    R = num_runs if batched else 1
    if batched and np.shape(key) != (R, 2):
        raise ValueError(f"with num_runs={R} the key must have shape ({R}, 2), got {np.shape(key)}")
    run_info = list(run_info) if run_info is not None else [{} for _ in range(R)]
    if len(run_info) != R:
        raise ValueError(f"run_info has {len(run_info)} entries for {R} runs")
    probes = dict(probes or {})
    reserved = {"epoch", "run", "updates", "active", "epoch_seconds", "eval_seconds", "examples_per_second",
                *(f"{n}_{m}" for n in ["train", *eval_sets] for m in ("loss", "accuracy"))}
    for name in probes:
        if name in reserved or name in run_info[0]:
            raise ValueError(f"probe name {name!r} clashes with a metric or run_info field; "
                             f"reserved: {sorted(reserved | set(run_info[0]))}")
    n_train = int(np.shape(train_data["x"])[0])
    if batch_size > n_train:
        raise ValueError(f"batch_size={batch_size} exceeds the {n_train} training examples")

    batch_sharding = data_sharding = None
    if data_parallel:
        mesh = parallel.data_mesh()
        parallel.check_batch_size(batch_size, mesh)
        batch_sharding, data_sharding = parallel.batch_sharded(mesh), parallel.replicated(mesh)
        state = jax.device_put(state, data_sharding)
    # The compiled epoch donates its state; work on a copy so the caller's ``state`` stays valid
    # (fit it again, evaluate it) instead of being deleted under them.
    state = jax.tree_util.tree_map(jnp.copy, state)
    train_dev = _to_device(train_data, data_sharding)
    evals_dev = {name: _to_device(d, data_sharding) for name, d in eval_sets.items()}

    train_step = make_train_step(loss, batch_sharding=batch_sharding)
    epoch_fn = make_epoch_fn(train_step, batch_size, shuffle=shuffle)
    loop = resolve_epoch_loop(epoch_loop)

    def probe_fn(state):
        return {name: fn(state) for name, fn in probes.items()}

    eval_fn = make_eval_fn(make_eval_step(loss), eval_batch_size)
    if batched:
        def run_epoch(state, data, key, active):
            new_state, metrics = jax.vmap(epoch_fn, in_axes=(0, None, 0))(state, data, key)
            return _select(active, new_state, state), metrics
        eval_all = jax.jit(jax.vmap(eval_fn, in_axes=(0, None)))
        probe_all = jax.jit(jax.vmap(probe_fn))
        epoch_keys = _fold_in_runs
    else:
        def run_epoch(state, data, key, active):
            return epoch_fn(state, data, key)
        eval_all = jax.jit(eval_fn)
        probe_all = jax.jit(probe_fn)
        epoch_keys = jax.jit(jax.random.fold_in)
    select_best = jax.jit(_select)
    steps_per_epoch = num_batches(n_train, batch_size)

    # Host-side bookkeeping, one entry per run.
    sign = 1.0 if early_stopping is None or early_stopping.mode == "max" else -1.0
    best_value = np.full(R, -np.inf)
    best_epoch = np.zeros(R, int)
    wait = np.zeros(R, int)
    active = np.ones(R, bool)
    stopped_epoch = np.zeros(R, int)
    updates = np.zeros(R, int)
    history: list[dict] = []
    step_losses: list[np.ndarray] = []
    # A separate copy: ``state`` is donated to the compiled epoch.
    best_state = jax.tree_util.tree_map(jnp.copy, state) if early_stopping is not None else None
    start_epoch, resumed_from = 1, None

    workdir = pathlib.Path(workdir) if workdir is not None else None
    ckpt = log = None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=keep_checkpoints)
        last = ckpt.latest_step()
        if last is not None:
            state, best_state, meta = ckpt.restore(last, state, state)
            if early_stopping is None:
                best_state = None
            best_value = np.array([-np.inf if v is None else v for v in meta["best_value"]])
            best_epoch, wait = np.array(meta["best_epoch"]), np.array(meta["wait"])
            active, stopped_epoch = np.array(meta["active"], bool), np.array(meta["stopped_epoch"])
            updates, history = np.array(meta["updates"]), list(meta["history"])
            start_epoch, resumed_from = last + 1, last
            if (workdir / log_name).exists():
                truncate_after(workdir / log_name, "epoch", last)
        log = MetricsLog(workdir / log_name)

    bar = EpochProgress(epochs, desc=desc, enabled=progress)
    last_saved = resumed_from
    compile_seconds = train_seconds = 0.0
    compiled = None
    try:
        for epoch in range(start_epoch, epochs + 1):
            if not active.any():
                break
            keys = epoch_keys(key, epoch)
            active_dev = jnp.asarray(active)
            if compiled is None:
                t0 = time.perf_counter()
                if loop == "scan":
                    compiled = jax.jit(run_epoch, donate_argnums=0).lower(state, train_dev, keys, active_dev).compile()
                else:
                    compiled = _host_run_epoch(train_step, batch_size, batched, shuffle)
                compile_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            was_active = active.copy()
            state, step_metrics = compiled(state, train_dev, keys, active_dev)
            step_metrics = jax.device_get(step_metrics)
            seconds = time.perf_counter() - t0
            t_eval = time.perf_counter()
            evals = {name: jax.device_get(eval_all(state, d)) for name, d in evals_dev.items()}
            probed = {k: np.asarray(v).reshape(R) for k, v in jax.device_get(probe_all(state)).items()} if probes else {}
            seconds_eval = time.perf_counter() - t_eval
            train_seconds += seconds + seconds_eval

            step_loss = np.asarray(step_metrics["loss_sum"]).reshape(R, -1)
            if step_log:
                step_count = np.asarray(step_metrics["count"], np.float64).reshape(R, -1)
                step_losses.append(step_loss / np.maximum(step_count, 1.0))
            epoch_sums = {k: np.asarray(v).reshape(R, -1).sum(axis=1) for k, v in step_metrics.items()}
            train_summary = summarize(epoch_sums, "train_")
            eval_summary = {}
            for name, sums in evals.items():
                eval_summary.update(summarize({k: np.asarray(v).reshape(R) for k, v in sums.items()}, f"{name}_"))
            updates = updates + was_active * steps_per_epoch

            diverged = was_active & ~np.isfinite(step_loss).all(axis=1)
            if diverged.any():
                r = int(np.flatnonzero(diverged)[0])
                step = int(np.flatnonzero(~np.isfinite(step_loss[r]))[0]) + 1
                where = (f"last good checkpoint: {ckpt.path(last_saved)} (epoch {last_saved})"
                         if ckpt is not None and last_saved is not None else
                         "no checkpoint was saved yet" + ("" if ckpt else " (no workdir given)"))
                message = (f"non-finite training loss at epoch {epoch}, step {step} of {steps_per_epoch}"
                           f"{f' (run {r})' if batched else ''}; {where}")
                if log is not None:
                    log.log(event="nonfinite_loss", epoch=epoch, run=r, step=step, message=message)
                if on_nonfinite == "raise":
                    raise NonFiniteLossError(message)
                active &= ~diverged
                stopped_epoch[diverged] = epoch

            records = []
            improved = np.zeros(R, bool)
            for r in range(R):
                if not was_active[r]:
                    continue
                rec = {"epoch": epoch, "run": r, **run_info[r],
                       **{k: float(v[r]) for k, v in {**train_summary, **eval_summary, **probed}.items()},
                       "updates": int(updates[r]), "epoch_seconds": seconds, "eval_seconds": seconds_eval,
                       "examples_per_second": n_train * int(was_active.sum()) / max(seconds, 1e-9)}
                if diverged[r]:
                    rec["diverged"] = True
                elif early_stopping is not None:
                    value = sign * rec[early_stopping.monitor]
                    if value > best_value[r] + early_stopping.min_delta:
                        best_value[r], best_epoch[r], wait[r], improved[r] = value, epoch, 0, True
                    else:
                        wait[r] += 1
                        if wait[r] >= early_stopping.patience:
                            active[r] = False
                            rec["early_stopped"] = True
                else:
                    best_epoch[r], improved[r] = epoch, True
                if was_active[r] and not diverged[r]:
                    stopped_epoch[r] = epoch
                rec["active"] = bool(active[r])
                records.append(rec)
            history.extend(records)
            if early_stopping is not None and improved.any():
                best_state = select_best(jnp.asarray(improved if batched else improved[0]), state, best_state)
            if log is not None:
                for rec in records:
                    log.log(**rec)
            if progress:
                shown = {k: float(np.mean([rec[k] for rec in records])) for k in
                         ["train_loss", "train_accuracy", *eval_summary] if records}
                shown["ex/s"] = records[0]["examples_per_second"] if records else 0.0
                if batched:
                    shown["active"] = int(active.sum())
                bar.update(epoch, shown, seconds + seconds_eval)
            if ckpt is not None and (epoch % checkpoint_every == 0 or epoch == epochs or not active.any()):
                meta = {"epoch": epoch, "best_value": [None if not np.isfinite(v) else float(v) for v in best_value],
                        "best_epoch": best_epoch.tolist(), "wait": wait.tolist(), "active": active.tolist(),
                        "stopped_epoch": stopped_epoch.tolist(), "updates": updates.tolist(),
                        "history": history}
                ckpt.save(epoch, state, state if best_state is None else best_state, meta)
                last_saved = epoch
            for cb in callbacks:
                cb(epoch, records)
    finally:
        bar.close()
        if log is not None:
            log.close()
        if ckpt is not None:
            ckpt.close()
    if early_stopping is None:
        best_state = state
    return FitResult(state=state, best_state=best_state, history=history, best_epoch=best_epoch,
                     stopped_epoch=stopped_epoch, updates=updates, train_seconds=train_seconds,
                     compile_seconds=compile_seconds, resumed_from=resumed_from,
                     step_loss=np.stack(step_losses, axis=1) if step_log and step_losses else None)


def evaluate(state, data, *, loss="cross_entropy", batch_size: int = 1000, num_runs: int | None = None) -> dict:
    """Loss and accuracy of ``state`` on ``data`` (one compiled pass; per run when batched)."""
    fn = make_eval_fn(make_eval_step(loss), batch_size)
    if num_runs is not None:
        fn = jax.vmap(fn, in_axes=(0, None))
    sums = jax.device_get(jax.jit(fn)(state, _to_device(data)))
    return summarize(sums)


def epochs_for(n_examples: int, batch_size: int, updates: int) -> int:
    """Epochs needed for at least ``updates`` gradient updates."""
    return math.ceil(updates / num_batches(n_examples, batch_size))
