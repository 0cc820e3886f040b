"""Pure Flax (Linen) modules. Import the module you need, e.g. ``from jaxml.models.mlp import MLP``."""
from jaxml.models.params import count_params, param_count

__all__ = ["count_params", "param_count"]
