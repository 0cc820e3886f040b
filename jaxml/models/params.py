"""Parameter-pytree helpers."""
from __future__ import annotations

import jax


def count_params(params) -> int:
    """Total number of scalars in a parameter pytree (all leaves, whatever the nesting)."""
    return int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(params)))
