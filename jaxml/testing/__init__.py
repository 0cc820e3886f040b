"""jaxml.testing: assertions and pytest fixtures for testing models, steps and studies built on jaxml.

Assertions (each raises ``AssertionError`` naming what broke; each module documents its tolerances):

- ``assert_model_contract(model, example, ...)`` shapes/dtypes (chex), finite outputs, same rng -> same
  output, train-mode dropout depends on its rng, one trace of the jitted apply, bf16 close to float32
  (``jaxml.testing.contracts``);
- ``assert_step_contract(step, state, batch)`` metric sums plus count, state structure and dtypes kept,
  masked padding changes nothing (``jaxml.testing.contracts``);
- ``assert_gradients(fn, *args)`` ``jax.test_util.check_grads`` in float64, reporting the worst entry
  (``jaxml.testing.gradients``);
- ``assert_learns(model_or_state, batch)`` the loss falls on a tiny overfit problem (``jaxml.testing.learning``);
- ``assert_resume_identical(run, interrupt_after=k, workdir=...)`` and
  ``assert_sigkill_resume_identical(command, ...)`` an interrupted run resumes bit-identical
  (``jaxml.testing.resume``);
- ``run_on_cpu_devices(n, fn, *args)`` ``n`` CPU devices, in a subprocess when needed (``jaxml.testing.devices``);
- ``jaxml.testing.fake_files`` tiny datasets in their upstream file formats.

The pytest plugin (``jaxml.testing.plugin``, auto-registered by ``pip install jaxml``) provides the
fixtures ``fake_data``, ``fake_data_root``, ``cpu_devices``, ``tiny_study``, ``study_command``,
``real_data_dir`` and the markers ``slow`` and ``real_data``. ``pytest -p jaxml.testing`` loads it too.

Importing this package loads no JAX; the names above are imported on first use.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "assert_model_contract": "contracts", "assert_step_contract": "contracts", "ModelContract": "contracts",
    "StepContract": "contracts", "assert_gradients": "gradients", "worst_gradient_entry": "gradients",
    "assert_learns": "learning", "Learned": "learning", "assert_resume_identical": "resume",
    "assert_sigkill_resume_identical": "resume", "run_outcome": "resume", "run_on_cpu_devices": "devices",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"jaxml.testing.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'jaxml.testing' has no attribute {name!r}")


# ``pytest -p jaxml.testing`` registers this package as the plugin: its fixtures and hook are here too
# (only when pytest is installed; the assertions need no pytest).
try:
    import pytest as _pytest  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from jaxml.testing.plugin import (  # noqa: F401
        cpu_devices,
        fake_data,
        fake_data_root,
        pytest_configure,
        real_data_dir,
        study_command,
        tiny_study,
    )
