"""Errors raised by the training core (and by the layers above it, which re-use them).

- :class:`ConfigError` — a config key or value is invalid; the message names the key and what
  is allowed. A ``ValueError``.
- :class:`NonFiniteLossError` — training produced a NaN/inf metric; the message names the epoch,
  the step and the last good checkpoint. A ``FloatingPointError``.
"""


class ConfigError(ValueError):
    """A config key or value is invalid; the message names the key and what is allowed."""


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/inf loss; the message names the epoch, step and last good checkpoint."""
