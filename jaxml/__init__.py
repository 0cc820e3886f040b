"""jaxml: a functional JAX/Flax research codebase.

Subpackages (imported on demand, nothing heavy happens at import):
  jaxml.data     datasets as numpy arrays, splits, transforms
  jaxml.models   pure Flax Linen modules
  jaxml.train    train state, pure steps, compiled epochs, optimizers, checkpoints
  jaxml.report   metric logs, plots, tables, progress lines

Importing jaxml tunes glibc's malloc to keep freed memory (``jaxml.cpu_memory``): XLA:CPU then
reuses its buffers instead of page-faulting fresh ones on every call. Set
``JAXML_KEEP_FREED_MEMORY=0`` to leave malloc alone.
"""
from jaxml import cpu_memory as _cpu_memory

if _cpu_memory.enabled_by_env():
    _cpu_memory.keep_freed_memory()

__version__ = "0.1.0"
