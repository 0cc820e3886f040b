"""jaxml: a functional JAX/Flax research codebase.

Subpackages (imported on demand, nothing heavy happens at import):
  jaxml.data     datasets as numpy arrays, splits, transforms
  jaxml.models   pure Flax Linen modules
  jaxml.train    train state, pure steps, compiled epochs, optimizers, checkpoints
  jaxml.report   metric logs, plots, tables, progress lines
"""

__version__ = "0.1.0"
