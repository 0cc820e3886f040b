"""Which process writes files. In a multi-process JAX job every process runs the same study code;
only process 0 writes results, plots and logs (the report writers check :func:`is_primary` and
return without writing elsewhere). A single process is always primary."""
from __future__ import annotations

import sys

__all__ = ["is_primary"]


def is_primary() -> bool:
    jax = sys.modules.get("jax")
    if jax is None:  # nothing imported jax: not a JAX job
        return True
    try:
        return jax.process_index() == 0
    except RuntimeError:
        return True
