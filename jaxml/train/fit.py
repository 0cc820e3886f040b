"""The one training driver: any pure step, any batch source, one run or many.

``fit(state_or_runs, train_data, ...)`` trains with a step it is given::

    train_step(state, batch, rng) -> (state, {"<name>_sum": ..., "count": ...})
    eval_step(state, batch) -> {"<name>_sum": ..., "count": ...}

(default: the classifier steps of ``jaxml.train.steps`` for ``loss``). The driver does the rest:
keys, compile timing, the epoch loop (one ``lax.scan`` per epoch, or a host loop of compiled steps,
or a prefetched stream), vmapped runs, data-parallel sharding, evaluation, ``metrics.jsonl``,
progress lines, orbax checkpoints and resume, the best state, early stopping on any logged metric,
and the non-finite stop.

Runs. ``fit(runs, ...)`` with a :class:`~jaxml.train.runs.Runs` trains all its runs as one vmapped
program (``vmap_runs=False``: one after another — the same computation; batched and unbatched
matrix products may round differently, ~1e-7 relative in float32); ``fit(state, ..., key=k)`` trains one
run; a key array of shape (R,) with a state stacked on a leading R axis trains R runs. Epoch ``e``
(1-based) uses the key ``fold_in(key, e)``, so a run resumed at epoch k continues exactly as the
uninterrupted run would.

Data. ``train_data``: a dict of arrays (an :class:`~jaxml.train.sources.ArraySource` of
``batch_size`` is made from it), or any source (``ArraySource``, ``StreamSource``,
``jaxml.recipes.lm.BlockSource``). ``eval_sets``: ``{name: dict of arrays or device source}``,
evaluated after every epoch in a fixed order.

Records in ``metrics.jsonl`` (one per run per epoch): ``epoch``, ``run``, the run's info (seed,
grid values), ``train_<name>`` (means over the epoch's batches, model in train mode),
``<set>_<name>`` for each eval set, the probes, ``updates``, ``active``, ``epoch_seconds``,
``eval_seconds``, ``examples_per_second`` (all runs together). ``eval_before=True`` adds an epoch-0
record of the eval sets before any training.

Early stopping is per run: a run whose monitored metric has not improved for ``patience`` epochs
stops (its state is frozen inside the compiled call while the others go on) and its best state is
kept; ``EarlyStopping(monitor, patience=None)`` keeps the best state without stopping.
"""
from __future__ import annotations

import inspect
import pathlib
import time
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.report.progress import EpochProgress
from jaxml.train import health, parallel
from jaxml.train.bookkeeping import RunBook
from jaxml.train.checks import check_classifier_arrays
from jaxml.train.epoch import copy_tree, eval_pass, host_epoch, means, resolve_epoch_loop, scan_epoch, stream_epoch
from jaxml.train.errors import DivergenceError
from jaxml.train.fit_args import check_settings, resolve_runs
from jaxml.train.results import EarlyStopping, FitResult
from jaxml.train.runs import unstack
from jaxml.train.sources import StreamSource, as_source, check_classifier_data, device_arrays, is_device_source
from jaxml.train.steps import make_eval_step, make_train_step
from jaxml.train.workdir import open_workdir

__all__ = ["fit"]


def _arrays_of(source):
    """The arrays to check: a device source's, or one example batch of a stream (its first)."""
    arrays = getattr(source, "arrays", None)
    return arrays if arrays is not None else source.example()


def _select(mask_R, new, old):
    def pick(n, o):
        m = mask_R.reshape(mask_R.shape + (1,) * (n.ndim - mask_R.ndim))
        return jnp.where(m, n, o)
    return jax.tree_util.tree_map(pick, new, old)


_select_jit = jax.jit(_select)
_fold_in = jax.jit(jax.random.fold_in)
_fold_in_runs = jax.jit(jax.vmap(jax.random.fold_in, in_axes=(0, None)))


def _wants_state(callback) -> bool:
    """Whether ``callback`` takes a third argument (the current train state)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _metric_names(step_out) -> list:
    if not isinstance(step_out, Mapping) or "count" not in step_out:
        raise ValueError("a step must return a dict of metric sums with a 'count' entry "
                         f"(e.g. {{'loss_sum': ..., 'count': ...}}), got {step_out!r}")
    return [k[:-4] for k in step_out if k.endswith("_sum")]


def fit(state, train_data, *, key=None, epochs: int, batch_size: int | None = None,
        train_step: Callable | None = None, eval_step: Callable | None = None, loss="cross_entropy",
        eval_sets: Mapping | None = None, early_stopping: EarlyStopping | None = None,
        run_info: Sequence[dict] | None = None, num_runs: int | None = None,
        workdir=None, checkpoint_every: int = 1, keep_checkpoints: int = 2, progress: bool = True,
        eval_batch_size: int = 1000, data_parallel: bool = False, on_nonfinite: str = "raise",
        callbacks: Sequence[Callable] = (), log_name: str = "metrics.jsonl", desc: str = "",
        shuffle: bool = True, step_log: bool = False, probes: Mapping[str, Callable] | None = None,
        epoch_loop: str = "scan", eval_before: bool = False, vmap_runs: bool = True,
        measure: Callable | None = None, divergence_factor: float | None = 100.0,
        allow_uint8: bool = False, tensorboard: bool | None = None) -> FitResult:
    """Train ``state`` (or every run of a ``Runs``) on ``train_data`` for up to ``epochs`` epochs.

    ``train_step``/``eval_step``: the objective (see the module docstring); default: the classifier
    steps for ``loss`` (a name from ``jaxml.train.losses`` or a per-example loss function).
    ``workdir``: where ``metrics.jsonl`` and ``checkpoints/`` go; an existing one is resumed.
    ``on_nonfinite``: what to do with a run that has a NaN/inf training or evaluation metric, or whose
    step loss exceeds ``divergence_factor`` x its first step's loss (``None``: no such check): "raise"
    (``NonFiniteLossError`` / ``DivergenceError`` naming the metric, set, epoch, step and last good
    checkpoint) or "stop_run" (that run stops, the others go on; the record says ``diverged``).
    ``tensorboard``: also write TensorBoard event files to ``workdir/tensorboard/`` (None: when the
    study runner's ``--tensorboard`` flag / ``JAXML_TENSORBOARD=1`` asks for it; needs tensorboardX).
    ``allow_uint8``: the default steps refuse uint8 inputs (raw pixels the model would see unscaled)
    unless True. Data for the default steps is checked once, on the host, before anything compiles:
    example shape against the parameters, labels against the model's outputs (``InputError``).
    ``callbacks``: ``cb(epoch, records)`` or ``cb(epoch, records, state)`` after each epoch's bookkeeping
    (``state``: the current train state, runs axis included; sample from it, measure it, plot it).
    ``shuffle``: False keeps the stored example order in every epoch.
    ``step_log``: keep the per-step mean training loss in ``FitResult.step_loss``.
    ``probes``: ``{name: fn(state) -> scalar}`` (one run's state; jit-able), logged after each epoch.
    ``measure``: ``fn(epoch, state) -> {name: value or (R,) values}``, host-side measurements of the
    trained state (samples, Fréchet distances) after each epoch; logged with the epoch's records and
    checkpointed with them (unlike ``callbacks``, which run after the checkpoint).
    ``epoch_loop``: "scan" (one compiled call per epoch), "host" (a Python loop of compiled steps;
    faster for ResNets on XLA:CPU) or "auto" ("host" on CPU). Stream sources always loop on the host.
    ``num_runs``: optional check of the number of runs the key implies.
    """
    given = resolve_runs(state, key, run_info, num_runs)
    state, key, batched, R, run_info = given.state, given.key, given.batched, given.num_runs, given.run_info
    if batched and not vmap_runs:
        return _fit_one_by_one(state, train_data, key=key, run_info=run_info, workdir=workdir, desc=desc,
                               epochs=epochs, batch_size=batch_size, train_step=train_step, eval_step=eval_step,
                               loss=loss, eval_sets=eval_sets, early_stopping=early_stopping,
                               checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints,
                               progress=progress, eval_batch_size=eval_batch_size, data_parallel=data_parallel,
                               on_nonfinite=on_nonfinite, callbacks=callbacks, log_name=log_name, shuffle=shuffle,
                               step_log=step_log, probes=probes, epoch_loop=epoch_loop, eval_before=eval_before,
                               measure=measure, divergence_factor=divergence_factor, allow_uint8=allow_uint8,
                               tensorboard=tensorboard)
    check_settings(epochs=epochs, checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints,
                   eval_batch_size=eval_batch_size, batch_size=batch_size, on_nonfinite=on_nonfinite,
                   divergence_factor=divergence_factor)
    loop = resolve_epoch_loop(epoch_loop)

    source = as_source(train_data, batch_size, shuffle, "train_data")
    eval_sets = dict(eval_sets or {})
    for name in eval_sets:
        if name == "train":
            raise ValueError("eval set name 'train' is reserved for the running training metrics; use 'train_eval'")
    evals = {name: as_source(d, None, False, f"eval_sets[{name!r}]", eval_batch_size=eval_batch_size)
             for name, d in eval_sets.items()}
    for name, s in evals.items():
        if not is_device_source(s):
            raise ValueError(f"eval_sets[{name!r}]: evaluation needs a dict of arrays or a device source")
    one_state = jax.eval_shape(lambda s: unstack(s, 0), state) if batched else state
    if train_step is None:
        check_classifier_data("train_data", source)
        check_classifier_arrays("train_data", _arrays_of(source), one_state, loss, allow_uint8=allow_uint8)
        train_step = make_train_step(loss)
    if eval_step is None:
        for name, s in evals.items():
            check_classifier_data(f"eval_sets[{name!r}]", s, source)
            check_classifier_arrays(f"eval_sets[{name!r}]", s.arrays, one_state, loss, allow_uint8=allow_uint8)
        eval_step = make_eval_step(loss)
    # Each step traced once per input shapes: the metric-name lookup below, the compiled epoch and
    # every evaluation pass reuse jit's trace of a jitted step (its cache is keyed on the function;
    # XLA inlines the nested call). One trace of a width-4 ResNet-18 took 0.3-1 s here (tiny preset).
    train_step, eval_step = jax.jit(train_step), jax.jit(eval_step)
    streaming = isinstance(source, StreamSource)

    batch_sharding = data_sharding = None
    if data_parallel:
        mesh = parallel.data_mesh()
        parallel.check_batch_size(source.batch_size, mesh)
        batch_sharding, data_sharding = parallel.batch_sharded(mesh), parallel.replicated(mesh)
        state = jax.device_put(state, data_sharding)
        if streaming and batched:
            batch_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(None, "data"))
    # The compiled epoch donates its state: work on a copy so the caller's state stays usable.
    state = copy_tree(state)
    train_dev = None if streaming else device_arrays(source, data_sharding)
    evals_dev = {name: device_arrays(s, data_sharding) for name, s in evals.items()}

    # Metric names, from the steps' output structure (nothing runs; one_state from above).
    one_key = jax.eval_shape(lambda k: k[0], key) if batched else key
    example = source.example()
    train_names = _metric_names(jax.eval_shape(train_step, one_state, example, one_key)[1])
    eval_names = {name: _metric_names(jax.eval_shape(eval_step, one_state, s.example()))
                  for name, s in evals.items()}
    logged = [f"train_{m}" for m in train_names] + [f"{n}_{m}" for n, ms in eval_names.items() for m in ms]
    if early_stopping is not None and early_stopping.monitor not in logged:
        raise ValueError(f"EarlyStopping.monitor={early_stopping.monitor!r} is not one of {logged}")
    probes = dict(probes or {})
    reserved = {"epoch", "run", "updates", "active", "epoch_seconds", "eval_seconds", "examples_per_second", *logged}
    for name in probes:
        if name in reserved or name in run_info[0]:
            raise ValueError(f"probe name {name!r} clashes with a metric or run_info field; "
                             f"reserved: {sorted(reserved | set(run_info[0]))}")
    if step_log and "loss" not in train_names:
        raise ValueError("step_log=True needs a train step that returns 'loss_sum'")

    if streaming:
        run_epoch = stream_epoch(train_step, source, batched=batched, batch_sharding=batch_sharding)
    elif loop == "host":
        run_epoch = host_epoch(train_step, source, batched=batched, batch_sharding=batch_sharding)
    else:
        epoch_fn = scan_epoch(train_step, source, batch_sharding=batch_sharding)
        run_epoch = jax.vmap(epoch_fn, in_axes=(0, None, 0)) if batched else epoch_fn
    eval_fns = {name: eval_pass(eval_step, s) for name, s in evals.items()}

    def probe_fn(state):
        return {name: fn(state) for name, fn in probes.items()}

    if batched:
        eval_jits = {n: jax.jit(jax.vmap(f, in_axes=(0, None))) for n, f in eval_fns.items()}
        probe_all = jax.jit(jax.vmap(probe_fn))
        epoch_keys = _fold_in_runs
    else:
        eval_jits = {n: jax.jit(f) for n, f in eval_fns.items()}
        probe_all = jax.jit(probe_fn)
        epoch_keys = _fold_in
    steps_per_epoch = source.steps
    examples_per_epoch = source.num_examples

    book = RunBook.new(R)  # host-side bookkeeping, one entry per run
    history: list[dict] = []
    step_losses: list[np.ndarray] = []
    best_state = copy_tree(state) if early_stopping is not None else None
    start_epoch, resumed_from = 1, None

    ckpt = log = board = None
    primary = jax.process_index() == 0
    if workdir is not None:
        opened = open_workdir(workdir, state, best_state, keep_checkpoints=keep_checkpoints, log_name=log_name,
                              tensorboard=tensorboard, num_runs=R, steps_per_epoch=source.steps, desc=desc)
        ckpt, log, board, resumed = opened.ckpt, opened.log, opened.board, opened.resumed
        if resumed is not None:
            state, history, book = resumed.state, resumed.history, resumed.book
            if early_stopping is not None and resumed.best_state is not None:
                best_state = resumed.best_state
            start_epoch, resumed_from = resumed.epoch + 1, resumed.epoch

    def evaluate_all(state):
        out = {}
        for name, d in evals_dev.items():
            sums = jax.device_get(compiled_evals[name](state, d))
            out.update(means({k: np.asarray(v).reshape(R) for k, v in sums.items()}, f"{name}_"))
        if probes:
            out.update({k: np.asarray(v).reshape(R) for k, v in jax.device_get(probe_all(state)).items()})
        return out

    bar = EpochProgress(epochs, desc=desc, enabled=progress and primary)
    last_saved = resumed_from
    compiled = None
    compiled_evals = {}
    try:
        for epoch in range(start_epoch, epochs + 1):
            if not book.active.any():
                break
            keys = epoch_keys(key, epoch)
            active_dev = jax.device_put(np.asarray(book.active))
            if compiled is None:
                t0 = time.perf_counter()
                compiled_evals = {n: f.lower(state, evals_dev[n]).compile() for n, f in eval_jits.items()}
                if streaming:
                    compiled = run_epoch
                elif loop == "host":
                    compiled = run_epoch.compile(state, train_dev, keys)
                else:
                    def masked_epoch(state, data, keys, active):
                        new_state, metrics = run_epoch(state, data, keys)
                        return (_select(active, new_state, state) if batched else new_state), metrics
                    compiled = jax.jit(masked_epoch, donate_argnums=0).lower(
                        state, train_dev, keys, active_dev).compile()
                book.compile_seconds += time.perf_counter() - t0
                if eval_before and epoch == 1:
                    t0 = time.perf_counter()
                    start_values = evaluate_all(state)
                    seconds0 = time.perf_counter() - t0
                    records0 = [{"epoch": 0, "run": r, **run_info[r],
                                 **{k: float(v[r]) for k, v in start_values.items()},
                                 "updates": 0, "eval_seconds": seconds0} for r in range(R)]
                    history.extend(records0)
                    if log is not None:
                        for rec in records0:
                            log.log(**rec)
            t0 = time.perf_counter()
            was_active = book.active.copy()
            if streaming or loop == "host":  # Python loops of compiled steps: stopped runs masked afterwards
                new_state, step_metrics = compiled(state, keys) if streaming else compiled(state, train_dev, keys)
                if batched and not book.active.all():
                    new_state = _select_jit(active_dev, new_state, state)
                state = new_state
            else:
                state, step_metrics = compiled(state, train_dev, keys, active_dev)
            step_metrics = jax.device_get(step_metrics)
            seconds = time.perf_counter() - t0
            t_eval = time.perf_counter()
            eval_summary = evaluate_all(state)
            seconds_eval = time.perf_counter() - t_eval
            book.train_seconds += seconds + seconds_eval
            book.epoch_seconds += seconds

            per_step = {k: np.asarray(v, np.float64).reshape(R, -1) for k, v in step_metrics.items()}
            if step_log:
                step_losses.append(per_step["loss_sum"] / np.maximum(per_step["count"], 1.0))
            train_summary = means({k: v.sum(axis=1) for k, v in per_step.items()}, "train_")
            book.updates = book.updates + was_active * steps_per_epoch

            book.first_loss = health.first_losses(per_step, book.first_loss)
            verdict = health.Verdict(R)
            verdict.add(*health.nonfinite_steps(per_step, was_active))
            verdict.add(*health.diverged_steps(per_step, book.first_loss, divergence_factor, was_active),
                        error=DivergenceError)
            verdict.add(*health.nonfinite_evals(eval_summary, was_active))
            diverged = verdict.bad
            if diverged.any():
                r = verdict.first()
                where = (f"last good checkpoint: {ckpt.path(last_saved)} (epoch {last_saved})"
                         if ckpt is not None and last_saved is not None else
                         "no checkpoint was saved yet" + ("" if ckpt else " (no workdir given)"))
                text, step, error = verdict.reasons[r]
                message = (f"{text} at epoch {epoch}{f', step {step} of {steps_per_epoch}' if step else ''}"
                           f"{f' (run {r})' if batched else ''}; {where}")
                if log is not None:
                    log.log(event="nonfinite_loss", epoch=epoch, run=r, step=step, message=message)
                if on_nonfinite == "raise":
                    raise error(message)
                book.active &= ~diverged
                book.stopped_epoch[diverged] = epoch

            records = []
            improved = np.zeros(R, bool)
            for r in range(R):
                if not was_active[r]:
                    continue
                rec = {"epoch": epoch, "run": r, **run_info[r],
                       **{k: float(v[r]) for k, v in {**train_summary, **eval_summary}.items()},
                       "updates": int(book.updates[r]), "epoch_seconds": seconds, "eval_seconds": seconds_eval,
                       "examples_per_second": examples_per_epoch * int(was_active.sum()) / max(seconds, 1e-9)}
                if diverged[r]:
                    rec["diverged"] = True
                else:
                    improved[r] = book.judge(r, epoch, rec, early_stopping)
                    book.stopped_epoch[r] = epoch
                rec["active"] = bool(book.active[r])
                records.append(rec)
            if measure is not None and records:
                measured = measure(epoch, state) or {}
                for name, value in measured.items():
                    if name in records[0] and name not in run_info[0]:
                        raise ValueError(f"measure returned {name!r}, which the driver already logs")
                    values = np.broadcast_to(np.asarray(jax.device_get(value)), (R,) + np.shape(value)[1:]) \
                        if np.ndim(value) and np.shape(value)[0] == R else [value] * R
                    for rec in records:
                        v = values[rec["run"]]
                        rec[name] = v.tolist() if isinstance(v, np.ndarray) else (
                            float(v) if isinstance(v, (np.floating, np.integer)) else v)
            history.extend(records)
            if early_stopping is not None and improved.any():
                best_state = _select_jit(np.asarray(improved if batched else improved[0]), state, best_state)
            if log is not None:
                for rec in records:
                    log.log(**rec)
                    if board is not None:
                        board.log(rec)
            if progress:
                keys_shown = [f"train_{m}" for m in train_names][:3] + list(eval_summary)[:4]
                shown = {k: float(np.mean([rec[k] for rec in records])) for k in keys_shown if records}
                shown["ex/s"] = records[0]["examples_per_second"] if records else 0.0
                if batched:
                    shown["active"] = int(book.active.sum())
                bar.update(epoch, shown, seconds + seconds_eval)
            if ckpt is not None and (epoch % checkpoint_every == 0 or epoch == epochs or not book.active.any()):
                meta = {"epoch": epoch, **book.to_meta(), "data_position": {"epoch": epoch, "step": steps_per_epoch},
                        "history": history}
                ckpt.save(epoch, state, best_state, meta)
                last_saved = epoch
            for cb in callbacks:
                cb(epoch, records, state) if _wants_state(cb) else cb(epoch, records)
    finally:
        bar.close()
        if log is not None:
            log.close()
        if board is not None:
            board.close()
        if ckpt is not None:
            ckpt.close()
    if early_stopping is None:
        best_state = state
    return FitResult(state=state, best_state=best_state, history=history, best_epoch=book.best_epoch,
                     stopped_epoch=book.stopped_epoch, updates=book.updates, train_seconds=book.train_seconds,
                     compile_seconds=book.compile_seconds, epoch_seconds=book.epoch_seconds, run_info=run_info,
                     resumed_from=resumed_from,
                     step_loss=np.stack(step_losses, axis=1) if step_log and step_losses else None)


def _fit_one_by_one(state, train_data, *, key, run_info, workdir, desc, **kwargs) -> FitResult:
    """The runs of a stacked state trained one after another (``fit(..., vmap_runs=False)``): each
    run is its own program (and compilation) in ``workdir/run<r>``; the results are stacked."""
    results = []
    for r in range(key.shape[0]):
        where = None if workdir is None else pathlib.Path(workdir) / f"run{r}"
        label = f"{desc} {' '.join(f'{k}={v}' for k, v in run_info[r].items())}".strip()
        results.append(fit(unstack(state, r), train_data, key=key[r], run_info=[run_info[r]], workdir=where,
                           desc=label, **kwargs))
    stack = lambda trees: jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)  # noqa: E731
    history = [{**h, "run": r} for r, res in enumerate(results) for h in res.history]
    cat = lambda name: np.concatenate([getattr(res, name) for res in results])  # noqa: E731
    step_loss = None
    if results[0].step_loss is not None:
        step_loss = np.concatenate([res.step_loss for res in results])
    resumed = [res.resumed_from for res in results if res.resumed_from is not None]
    return FitResult(state=stack([res.state for res in results]), best_state=stack([res.best_state for res in results]),
                     history=history, best_epoch=cat("best_epoch"), stopped_epoch=cat("stopped_epoch"),
                     updates=cat("updates"), train_seconds=sum(res.train_seconds for res in results),
                     compile_seconds=sum(res.compile_seconds for res in results),
                     epoch_seconds=sum(res.epoch_seconds for res in results), run_info=list(run_info),
                     resumed_from=min(resumed) if resumed else None, step_loss=step_loss)


