"""Errors raised by the training core (and by the layers above it, which re-use them).

- :class:`ConfigError` — a config key or value is invalid; the message names the key and what
  is allowed. A ``ValueError``.
- :class:`InputError` — data given to the driver (or to ``evaluate``) does not fit the model or
  the objective: labels outside the model's classes, raw uint8 images, an example shape the
  parameters were not built for, an empty dataset. The message names the argument, the value
  and what was expected. A ``ValueError``.
- :class:`NonFiniteLossError` — training produced a NaN/inf metric (or an evaluation did); the
  message names the metric, the epoch, the step and the last good checkpoint. A ``FloatingPointError``.
- :class:`DivergenceError` — the training loss grew beyond ``divergence_factor`` times its first
  value; a :class:`NonFiniteLossError`, handled the same way.
"""


class ConfigError(ValueError):
    """A config key or value is invalid; the message names the key and what is allowed."""


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/inf loss; the message names the epoch, step and last good checkpoint."""


class InputError(ValueError):
    """Data that does not fit the model or objective; the message names the argument and what was expected."""


class DivergenceError(NonFiniteLossError):
    """The training loss grew beyond the configured factor of its first value."""
