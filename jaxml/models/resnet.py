"""ResNets (He et al. 2016): ResNet-18/34 (basic blocks) and ResNet-50/101/152 (bottlenecks).

Input NHWC (N, H, W, 3) floating point; output float32 logits (N, num_classes).

Layout, as torchvision's ``resnet*`` (v1.5: a bottleneck's stride sits on its 3x3 conv):

- stem ``"imagenet"``: conv 7x7/2 (pad 3) -> BN -> ReLU -> max-pool 3x3/2 (pad 1): 224 -> 56.
  stem ``"cifar"``: conv 3x3/1 (pad 1) -> BN -> ReLU, no pooling: 32 -> 32.
- four stages of widths ``width * (1, 2, 4, 8)`` = 64, 128, 256, 512; the first block of
  stages 2-4 has stride 2. Stage sizes (2,2,2,2) ResNet-18, (3,4,6,3) ResNet-34 and -50,
  (3,4,23,3) ResNet-101, (3,8,36,3) ResNet-152.
- basic block: conv3x3(s) -> BN -> ReLU -> conv3x3 -> BN, + shortcut, ReLU.
  bottleneck: conv1x1 -> BN -> ReLU -> conv3x3(s) -> BN -> ReLU -> conv1x1 (4x width) -> BN,
  + shortcut, ReLU (expansion 4).
- shortcut: identity, or a projection conv1x1(s) -> BN where the stride or width changes.
- global average pool -> dense ``num_classes``.

Convolutions have no bias (each is followed by batch norm). Initialisation as torchvision:
convs He-normal with fan_out, N(0, 2 / (k*k*C_out)) untruncated (``kaiming_normal_(mode=
"fan_out", nonlinearity="relu")``); BN scale 1, bias 0 (``zero_init_residual=True`` starts the
last BN of each block at scale 0); the dense head uses flax's default lecun_normal kernel and
zero bias (torchvision's Linear uses a uniform init; this affects no count or shape).

Batch norm: batch statistics when ``train=True`` (apply with ``mutable=["batch_stats"]``),
running averages when ``train=False``; ``avg = bn_momentum * avg + (1 - bn_momentum) * batch``
with ``bn_momentum=0.9`` (torch's momentum 0.1), epsilon 1e-5 (torch's).

Parameter counts with the ImageNet stem and 1000 classes equal torchvision's: ResNet-18
11,689,512; -34 21,797,672; -50 25,557,032; -101 44,549,160; -152 60,192,808 (``params`` only;
the running means/variances are in ``batch_stats``).

``dtype`` is the computation dtype (e.g. ``jnp.bfloat16``); ``param_dtype`` the parameters'
(float32 by default, so they stay float32 under a bfloat16 ``dtype``; the batch-norm running
averages are float32 too). The head's logits are cast to float32 (end of ``ResNet.__call__``),
since a loss follows.
``conv_impl`` picks how the convolutions are computed (``jaxml.models.conv_impl``; "auto" is the
fast formulation for the backend, "xla" plain ``lax.conv_general_dilated``); it changes no
parameter and the outputs agree to float32 rounding.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.conv_impl import CONV_IMPLS, conv_fn

BLOCKS = ("basic", "bottleneck")
STEMS = ("cifar", "imagenet")
EXPANSION = {"basic": 1, "bottleneck": 4}

# He-normal, fan_out, untruncated: torchvision's kaiming_normal_(mode="fan_out", nonlinearity="relu").
conv_init = jax.nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def _halve(n: int) -> int:
    """Output size of a stride-2 layer whose padding is (k - 1) // 2 for odd k: floor((n-1)/2)+1."""
    return (n - 1) // 2 + 1


class _Block(nn.Module):
    """A residual block (basic or bottleneck); ``features`` is the block's inner width."""

    kind: str
    features: int
    strides: int = 1
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5
    zero_init_residual: bool = False
    dtype: Any = jnp.float32
    conv_impl: str = "auto"
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        conv = functools.partial(nn.Conv, use_bias=False, kernel_init=conv_init, dtype=self.dtype,
                                 param_dtype=self.param_dtype, conv_general_dilated=conv_fn(self.conv_impl))
        norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=self.bn_momentum,
                                 epsilon=self.bn_epsilon, dtype=self.dtype, param_dtype=self.param_dtype)
        last_scale = nn.initializers.zeros if self.zero_init_residual else nn.initializers.ones
        s, f = self.strides, self.features
        out_features = f * EXPANSION[self.kind]
        if self.kind == "basic":
            y = nn.relu(norm(name="bn1")(conv(f, (3, 3), s, ((1, 1), (1, 1)), name="conv1")(x)))
            y = conv(f, (3, 3), 1, ((1, 1), (1, 1)), name="conv2")(y)
            y = norm(name="bn2", scale_init=last_scale)(y)
        else:
            y = nn.relu(norm(name="bn1")(conv(f, (1, 1), 1, "VALID", name="conv1")(x)))
            y = nn.relu(norm(name="bn2")(conv(f, (3, 3), s, ((1, 1), (1, 1)), name="conv2")(y)))
            y = conv(out_features, (1, 1), 1, "VALID", name="conv3")(y)
            y = norm(name="bn3", scale_init=last_scale)(y)
        shortcut = x
        if s != 1 or x.shape[-1] != out_features:
            shortcut = conv(out_features, (1, 1), s, "VALID", name="proj_conv")(x)
            shortcut = norm(name="proj_bn")(shortcut)
        chex.assert_equal_shape([y, shortcut])
        return nn.relu(y + shortcut)


class ResNet(nn.Module):
    """Generic ResNet; see the module docstring. ``width`` is the first stage's width."""

    stage_sizes: Sequence[int]
    block: str = "basic"
    num_classes: int = 10
    stem: str = "cifar"
    width: int = 64
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5
    zero_init_residual: bool = False
    dtype: Any = jnp.float32
    conv_impl: str = "auto"
    param_dtype: Any = jnp.float32

    def __post_init__(self):
        if self.block not in BLOCKS:
            raise ValueError(f"unknown ResNet block {self.block!r}; expected one of {list(BLOCKS)}")
        if self.stem not in STEMS:
            raise ValueError(f"unknown ResNet stem {self.stem!r}; expected one of {list(STEMS)}")
        sizes = tuple(self.stage_sizes)
        if not sizes or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in sizes):
            raise ValueError(f"ResNet.stage_sizes must be a non-empty sequence of positive ints, "
                             f"got {self.stage_sizes!r}")
        for name in ("num_classes", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ResNet.{name} must be a positive int, got {value!r}")
        if not 0.0 <= float(self.bn_momentum) < 1.0:
            raise ValueError(f"ResNet.bn_momentum must be in [0, 1), got {self.bn_momentum!r}")
        if self.conv_impl not in CONV_IMPLS:
            raise ValueError(f"ResNet.conv_impl must be one of {list(CONV_IMPLS)}, got {self.conv_impl!r}")
        super().__post_init__()

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.ndim != 4:
            raise ValueError(f"ResNet expects NHWC input of shape (N, H, W, C) (rank 4), got shape "
                             f"{tuple(x.shape)} (rank {x.ndim})")
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise ValueError(f"ResNet expects floating-point NHWC input, got dtype {x.dtype}; "
                             f"convert (and scale) images first")
        n, h, w, _ = x.shape
        norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=self.bn_momentum,
                                 epsilon=self.bn_epsilon, dtype=self.dtype, param_dtype=self.param_dtype)
        if self.stem == "imagenet":
            x = nn.Conv(self.width, (7, 7), 2, ((3, 3), (3, 3)), use_bias=False, kernel_init=conv_init,
                        dtype=self.dtype, param_dtype=self.param_dtype, conv_general_dilated=conv_fn(self.conv_impl),
                        name="stem_conv")(x)
            x = nn.relu(norm(name="stem_bn")(x))
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
            h, w = _halve(_halve(h)), _halve(_halve(w))
        else:
            x = nn.Conv(self.width, (3, 3), 1, ((1, 1), (1, 1)), use_bias=False, kernel_init=conv_init,
                        dtype=self.dtype, param_dtype=self.param_dtype, conv_general_dilated=conv_fn(self.conv_impl),
                        name="stem_conv")(x)
            x = nn.relu(norm(name="stem_bn")(x))
        chex.assert_shape(x, (n, h, w, self.width))
        for i, size in enumerate(self.stage_sizes):
            features = self.width * 2 ** i
            for j in range(size):
                strides = 2 if i > 0 and j == 0 else 1
                x = _Block(self.block, features, strides, self.bn_momentum, self.bn_epsilon, self.zero_init_residual,
                           self.dtype, self.conv_impl, self.param_dtype, name=f"stage{i + 1}_block{j + 1}")(x, train)
            if i > 0:
                h, w = _halve(h), _halve(w)
            chex.assert_shape(x, (n, h, w, features * EXPANSION[self.block]))
        x = jnp.mean(x, axis=(1, 2))
        logits = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype, name="head")(x)
        chex.assert_shape(logits, (n, self.num_classes))
        return logits.astype(jnp.float32)


def _constructor(stage_sizes, block, depth):
    def make(num_classes: int = 10, stem: str = "cifar", **fields) -> ResNet:
        return ResNet(stage_sizes=stage_sizes, block=block, num_classes=num_classes, stem=stem, **fields)

    make.__name__ = make.__qualname__ = f"resnet{depth}"
    make.__doc__ = (f"ResNet-{depth}: {block} blocks, stage sizes {stage_sizes}. Other ``ResNet`` fields "
                    f"(width, bn_momentum, dtype, ...) as keywords.")
    return make


resnet18 = _constructor((2, 2, 2, 2), "basic", 18)
resnet34 = _constructor((3, 4, 6, 3), "basic", 34)
resnet50 = _constructor((3, 4, 6, 3), "bottleneck", 50)
resnet101 = _constructor((3, 4, 23, 3), "bottleneck", 101)
resnet152 = _constructor((3, 8, 36, 3), "bottleneck", 152)
