"""Parameter-pytree helpers."""
from __future__ import annotations

import jax


def count_params(params) -> int:
    """Total number of scalars in a parameter pytree (all leaves, whatever the nesting)."""
    return int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(params)))


def param_count(model, example_x, collection: str = "params") -> int:
    """Scalars in ``model``'s ``collection`` (``"params"``, ``"batch_stats"``) for inputs shaped like
    ``example_x``, from shapes alone (``jax.eval_shape`` of ``model.init``: nothing is computed)."""
    variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), example_x)
    return count_params(variables.get(collection, {}))
