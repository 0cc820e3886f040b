"""What the driver returns and how it decides: ``FitResult``, ``EarlyStopping``, and ``as_key``."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["EarlyStopping", "FitResult", "as_key"]


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """Stop a run when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; its state at the best epoch is kept. ``patience=None``: keep the best, never stop."""

    monitor: str = "val_accuracy"
    mode: str = "max"
    patience: int | None = 5
    min_delta: float = 0.0

    def __post_init__(self):
        if self.mode not in ("max", "min"):
            raise ValueError(f"EarlyStopping.mode must be 'max' or 'min', got {self.mode!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"EarlyStopping.patience must be >= 1 or None, got {self.patience}")

    def stop_epoch(self, values) -> tuple[int, int | None]:
        """Replay the rule on a recorded curve (values[i] is epoch i + 1): (best_epoch, stop_epoch),
        stop_epoch None if the rule would not have fired — the decisions ``fit`` makes."""
        sign = 1.0 if self.mode == "max" else -1.0
        best, best_epoch, wait = -np.inf, 0, 0
        for epoch, v in enumerate(np.asarray(values, float), start=1):
            if sign * v > best + self.min_delta:
                best, best_epoch, wait = sign * v, epoch, 0
            else:
                wait += 1
                if self.patience is not None and wait >= self.patience:
                    return best_epoch, epoch
        return best_epoch, None


@dataclasses.dataclass
class FitResult:
    """What ``fit`` returns. States keep the leading runs axis when several runs were trained."""

    state: object
    best_state: object         # each run's state at its best monitored epoch (final state without monitor)
    history: list              # one dict per run per epoch (also in metrics.jsonl)
    best_epoch: np.ndarray     # (R,)
    stopped_epoch: np.ndarray  # (R,) last epoch each run trained
    updates: np.ndarray        # (R,) optimizer steps each run took
    train_seconds: float       # wall time of the epochs and evaluations in this call (compilation excluded)
    compile_seconds: float
    epoch_seconds: float = 0.0  # of which the training epochs alone (no evaluation)
    run_info: list = dataclasses.field(default_factory=list)
    resumed_from: int | None = None
    step_loss: np.ndarray | None = None  # (R, epochs, steps) mean loss per step, with step_log=True

    @property
    def num_runs(self) -> int:
        return len(self.best_epoch)

    @property
    def eval_seconds(self) -> float:
        """Wall time of the evaluations (and probes, measures) in this call."""
        return self.train_seconds - self.epoch_seconds

    @property
    def diverged(self) -> np.ndarray:
        """(R,) bool: the runs stopped by a non-finite metric (``on_nonfinite="stop_run"``)."""
        out = np.zeros(self.num_runs, bool)
        for h in self.history:
            if h.get("diverged"):
                out[h["run"]] = True
        return out

    def run_history(self, run: int = 0) -> list:
        return [h for h in self.history if h["run"] == run]

    def curve_epochs(self, metric: str) -> np.ndarray:
        """The epochs (ascending) at which ``metric`` was logged for some run."""
        return np.array(sorted({h["epoch"] for h in self.history if metric in h}), int)

    def curve(self, metric: str, run: int | None = None):
        """``(R, E)`` values of ``metric`` (column j is epoch ``curve_epochs(metric)[j]``; NaN after a
        run stopped). With ``run``: that run's ``(epochs, values)``."""
        if not any(metric in h for h in self.history):
            logged = sorted({k for h in self.history for k in h})
            raise KeyError(f"metric {metric!r} was not logged; logged: {logged}")
        if run is not None:
            rows = [h for h in self.run_history(run) if metric in h]
            return np.array([h["epoch"] for h in rows]), np.array([h[metric] for h in rows], dtype=float)
        epochs = self.curve_epochs(metric)
        col = {e: j for j, e in enumerate(epochs)}
        out = np.full((self.num_runs, len(epochs)), np.nan)
        for h in self.history:
            if metric in h:
                out[h["run"], col[h["epoch"]]] = h[metric]
        return out

    def final(self, metric: str) -> np.ndarray:
        """(R,) each run's last logged value of ``metric``."""
        c = self.curve(metric)
        return np.array([row[np.isfinite(row)][-1] if np.isfinite(row).any() else np.nan for row in c])


def as_key(key):
    """A typed key (array): typed keys pass through; raw uint32 keys (..., 2) are wrapped."""
    key = key if isinstance(key, jax.Array) else jnp.asarray(key)
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.dtype != jnp.uint32 or key.shape[-1:] != (2,):
        raise ValueError(f"key must be a typed key (jax.random.key) or a raw uint32 key of shape (..., 2), "
                         f"got {key.dtype} {key.shape}")
    return jax.random.wrap_key_data(key)
