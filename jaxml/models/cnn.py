"""A convolutional network described by data: conv-block specs, then dense sizes.

``CNN(blocks=(ConvBlock(...), ...), dense=(...), num_classes=...)`` builds

    [Conv -> (BatchNorm) -> activation -> (pool) -> (dropout)] * len(blocks)
    -> flatten -> [Dense -> activation -> (dropout)] * len(dense) -> Dense(num_classes)

Input ``x`` is NHWC: (N, H, W, C) floating point (grayscale images are (N, H, W, 1); scale
uint8 pixels to floats before calling). Output: logits (N, num_classes).

Output-size arithmetic (per spatial dimension, input size n, kernel k, stride s):

- convolution with padding p on each side: ``floor((n + 2p - k) / s) + 1``;
  ``"VALID"`` is p = 0; ``"SAME"`` pads so that the output is ``ceil(n / s)``
  (p = (k - 1) / 2 for odd k and s = 1, i.e. the size is kept).
- pooling with window w and stride w (non-overlapping, no padding): ``floor((n - w) / w) + 1
  = floor(n / w)``; a leftover row/column is dropped (as Keras' ``MaxPool2D``).

E.g. 28x28 -> conv 7x7 VALID -> 22x22 -> max-pool 2 -> 11x11. The module computes these sizes
up front, raises ``ValueError`` naming the block when a size would drop below 1, and asserts
(chex) the shape at every block boundary.

Parameters: a conv layer has ``k*k*C_in*C_out + C_out`` (the bias is kept even before batch
norm, as in Keras); batch norm has a scale and a bias per channel in ``params`` while its
running mean and variance live in the ``batch_stats`` collection (not parameters).

Train vs eval: dropout (inverted, rate = drop probability) only when ``train=True`` and a
``dropout`` rng is given. Batch norm normalises with the batch's statistics when
``train=True`` (call with ``mutable=["batch_stats"]`` to receive the updated running
averages) and with the running averages when ``train=False``. The running averages are
updated as ``avg = momentum * avg + (1 - momentum) * batch_stat`` with ``bn_momentum=0.9``
by default (flax's default is 0.99, as Keras'; torch's momentum=0.1 is our 0.9); the batch
variance is the biased one.

Precision: ``dtype`` is the computation dtype (``jnp.bfloat16`` runs the convolutions, dense
layers and batch norm in bfloat16; flax computes batch-norm statistics in float32), ``param_dtype``
the parameters' (float32 by default; the running averages stay float32 too). The logits are cast
to float32 at the end of ``CNN.__call__`` (the output layer), since a loss follows.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import chex
import flax.linen as nn
import jax.numpy as jnp

from jaxml.models.activations import activation as get_activation
from jaxml.models.conv_impl import CONV_IMPLS, conv_fn
from jaxml.models.initializers import bias_initializer, initializer
from jaxml.models.pooling import POOL_IMPLS, avg_pool, max_pool

POOL_TYPES = ("max", "avg")
PADDINGS = ("VALID", "SAME")


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


def _check_rate(value, what: str) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {value!r}")


@dataclasses.dataclass(frozen=True)
class ConvBlock:
    """One conv block: Conv -> [BatchNorm] -> activation -> [pool] -> [dropout].

    features: output channels. kernel, stride: square kernel size and stride.
    padding: "VALID", "SAME" or an int p (p zeros on each side).
    pool: None or the window w of a non-overlapping pool (stride w); pool_type "max" | "avg".
    batch_norm: add batch norm after the conv; ``norm_before_activation=False`` puts it
    after the activation instead. dropout: rate after the (pooled) block output.
    """

    features: int
    kernel: int = 3
    stride: int = 1
    padding: str | int = "VALID"
    activation: str = "relu"
    pool: int | None = None
    pool_type: str = "max"
    batch_norm: bool = False
    dropout: float = 0.0
    norm_before_activation: bool = True
    use_bias: bool = True

    def __post_init__(self):
        _positive_int(self.features, "ConvBlock.features")
        _positive_int(self.kernel, "ConvBlock.kernel")
        _positive_int(self.stride, "ConvBlock.stride")
        if isinstance(self.padding, str):
            if self.padding.upper() not in PADDINGS:
                raise ValueError(f"ConvBlock.padding must be one of {list(PADDINGS)} or an int >= 0, "
                                 f"got {self.padding!r}")
            object.__setattr__(self, "padding", self.padding.upper())
        elif isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            raise ValueError(f"ConvBlock.padding must be one of {list(PADDINGS)} or an int >= 0, "
                             f"got {self.padding!r}")
        get_activation(self.activation)  # raises ValueError listing the known names
        if self.pool is not None:
            _positive_int(self.pool, "ConvBlock.pool")
        if self.pool_type not in POOL_TYPES:
            raise ValueError(f"unknown pool_type {self.pool_type!r}; expected one of {list(POOL_TYPES)}")
        _check_rate(self.dropout, "ConvBlock.dropout")

    def conv_output_size(self, n: int) -> int:
        """Spatial size after the convolution, for input size ``n`` (see the module docstring)."""
        if self.padding == "SAME":
            return math.ceil(n / self.stride)
        p = 0 if self.padding == "VALID" else self.padding
        return (n + 2 * p - self.kernel) // self.stride + 1

    def output_size(self, n: int) -> int:
        """Spatial size after the whole block (conv, then pool)."""
        m = self.conv_output_size(n)
        return m if self.pool is None else (m - self.pool) // self.pool + 1


class CNN(nn.Module):
    """Conv blocks, flatten, hidden dense layers, logits. See the module docstring.

    kernel_init / bias_init / init_std: named initializers (``jaxml.models.initializers``) for
    every conv and dense layer. negative_slope: for "leaky_relu" (default 0.01).
    input_channels: if set, the input's channel count is checked against it.
    conv_impl: how convolutions are computed (``jaxml.models.conv_impl``: "auto" picks the fast
    formulation for the backend and shape; "xla" is plain ``lax.conv_general_dilated``).
    pool_impl: "slices" (``jaxml.models.pooling``, fast gradient on CPU) or "reduce_window"
    (flax's pools). Neither changes the parameters; outputs agree to float32 rounding.
    dtype / param_dtype: computation and parameter dtypes (module docstring: Precision); the
    logits are float32 whatever ``dtype``.
    """

    blocks: Sequence[ConvBlock]
    dense: Sequence[int] = ()
    num_classes: int = 10
    dense_activation: str = "relu"
    dense_dropout: float = 0.0
    kernel_init: str = "lecun_normal"
    bias_init: str = "zeros"
    init_std: float | None = None
    negative_slope: float | None = None
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5
    input_channels: int | None = None
    conv_impl: str = "auto"
    pool_impl: str = "slices"
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def __post_init__(self):
        for i, block in enumerate(self.blocks):
            if not isinstance(block, ConvBlock):
                raise ValueError(f"CNN.blocks[{i}] must be a ConvBlock, got {type(block).__name__}")
        for i, width in enumerate(self.dense):
            _positive_int(width, f"CNN.dense[{i}]")
        _positive_int(self.num_classes, "CNN.num_classes")
        get_activation(self.dense_activation)
        _check_rate(self.dense_dropout, "CNN.dense_dropout")
        if not 0.0 <= float(self.bn_momentum) < 1.0:
            raise ValueError(f"CNN.bn_momentum must be in [0, 1), got {self.bn_momentum!r}")
        initializer(self.kernel_init, self.init_std)
        bias_initializer(self.bias_init, self.init_std)
        if self.conv_impl not in CONV_IMPLS:
            raise ValueError(f"CNN.conv_impl must be one of {list(CONV_IMPLS)}, got {self.conv_impl!r}")
        if self.pool_impl not in POOL_IMPLS:
            raise ValueError(f"CNN.pool_impl must be one of {list(POOL_IMPLS)}, got {self.pool_impl!r}")
        super().__post_init__()

    def _check_input(self, x) -> None:
        if x.ndim != 4:
            raise ValueError(f"CNN expects NHWC input of shape (N, H, W, C) (rank 4), got shape "
                             f"{tuple(x.shape)} (rank {x.ndim}); add a channel axis for grayscale "
                             f"images, e.g. x[..., None]")
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise ValueError(f"CNN expects floating-point NHWC input, got dtype {x.dtype}; "
                             f"convert (and scale) images first, e.g. x.astype(np.float32) / 255")
        if self.input_channels is not None and x.shape[-1] != self.input_channels:
            raise ValueError(f"CNN expects NHWC input with C={self.input_channels} channels, "
                             f"got shape {tuple(x.shape)}")

    @nn.compact
    def __call__(self, x, train: bool = False):
        self._check_input(x)
        n, h, w, _ = x.shape
        k_init = initializer(self.kernel_init, self.init_std)
        b_init = bias_initializer(self.bias_init, self.init_std)
        for i, spec in enumerate(self.blocks):
            conv_h, conv_w = spec.conv_output_size(h), spec.conv_output_size(w)
            out_h, out_w = spec.output_size(h), spec.output_size(w)
            if min(conv_h, conv_w, out_h, out_w) < 1:
                raise ValueError(
                    f"CNN block {i}: input {h}x{w} with kernel {spec.kernel}, stride {spec.stride}, "
                    f"padding {spec.padding!r} and pool {spec.pool} gives conv output {conv_h}x{conv_w}"
                    f" and block output {out_h}x{out_w}; the input is too small for this block")
            pad = spec.padding if isinstance(spec.padding, str) else ((spec.padding,) * 2,) * 2
            x = nn.Conv(spec.features, (spec.kernel, spec.kernel), strides=spec.stride, padding=pad,
                        use_bias=spec.use_bias, kernel_init=k_init, bias_init=b_init,
                        conv_general_dilated=conv_fn(self.conv_impl), dtype=self.dtype,
                        param_dtype=self.param_dtype, name=f"conv_{i}")(x)
            chex.assert_shape(x, (n, conv_h, conv_w, spec.features))
            act = get_activation(spec.activation, self.negative_slope)
            norm = (nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                                 epsilon=self.bn_epsilon, dtype=self.dtype, param_dtype=self.param_dtype,
                                 name=f"bn_{i}")
                    if spec.batch_norm else (lambda y: y))
            x = act(norm(x)) if spec.norm_before_activation else norm(act(x))
            if spec.pool is not None:
                pool = max_pool if spec.pool_type == "max" else avg_pool
                x = pool(x, spec.pool, impl=self.pool_impl)
            if spec.dropout > 0:
                x = nn.Dropout(spec.dropout, deterministic=not train, name=f"dropout_{i}")(x)
            h, w = out_h, out_w
            chex.assert_shape(x, (n, h, w, spec.features))
        x = jnp.reshape(x, (n, -1))
        act = get_activation(self.dense_activation, self.negative_slope)
        for i, width in enumerate(self.dense):
            x = nn.Dense(width, kernel_init=k_init, bias_init=b_init, dtype=self.dtype,
                         param_dtype=self.param_dtype, name=f"dense_{i}")(x)
            x = act(x)
            if self.dense_dropout > 0:
                x = nn.Dropout(self.dense_dropout, deterministic=not train, name=f"dense_dropout_{i}")(x)
            chex.assert_shape(x, (n, width))
        logits = nn.Dense(self.num_classes, kernel_init=k_init, bias_init=b_init, dtype=self.dtype,
                          param_dtype=self.param_dtype, name="output")(x)
        chex.assert_shape(logits, (n, self.num_classes))
        return logits.astype(jnp.float32)


# ---------------------------------------------------------------------------------------------
# Named architectures. Parameter counts are for the inputs named (the dense layer after the
# flatten depends on the input's spatial size; convolutions do not).


def cnn2(num_classes: int = 10, **fields) -> CNN:
    """28x28x1: conv 64 7x7 VALID -> ReLU -> max-pool 2 -> flatten (7,744) -> dense 10.

    80,650 parameters (3,200 + 77,450).
    """
    return CNN(blocks=(ConvBlock(64, kernel=7, pool=2),), dense=(), num_classes=num_classes, **fields)


def cnn3(num_classes: int = 10, **fields) -> CNN:
    """28x28x1: conv 64 7x7 -> ReLU -> max-pool 2 -> conv 128 2x2 -> ReLU -> max-pool 2
    -> flatten (3,200) -> dense 10. 68,106 parameters (3,200 + 32,896 + 32,010)."""
    blocks = (ConvBlock(64, kernel=7, pool=2), ConvBlock(128, kernel=2, pool=2))
    return CNN(blocks=blocks, dense=(), num_classes=num_classes, **fields)


def mnist_cnn(num_classes: int = 10, dropout: float = 0.2, **fields) -> CNN:
    """28x28x1: conv 32 3x3 -> ReLU -> max-pool 2 -> dropout -> conv 32 3x3 -> batch norm -> ReLU
    -> max-pool 2 -> dropout -> flatten (800) -> dense 64 ReLU -> dense 10.

    61,546 parameters (320 + 9,248 + 64 + 51,264 + 650: the batch norm's 32 scales and 32 biases)
    plus 64 running statistics (32 means, 32 variances) in ``batch_stats``: 61,610 numbers in
    all, the figure Keras reports as "Total params" (it counts the BN layer as 128).
    """
    blocks = (ConvBlock(32, kernel=3, pool=2, dropout=dropout),
              ConvBlock(32, kernel=3, pool=2, dropout=dropout, batch_norm=True))
    return CNN(blocks=blocks, dense=(64,), num_classes=num_classes, **fields)


def lenet(conv_channels: Sequence[int] = (6, 16), kernel: int = 5, dense: Sequence[int] = (120, 84),
          activation: str = "relu", num_classes: int = 10, input_channels: int | None = 3,
          padding: str | int = "VALID", pool: int | None = 2, pool_type: str = "max",
          batch_norm: bool = False, dropout: float = 0.0, **fields) -> CNN:
    """LeNet-style CIFAR-10 net: [conv c k x k -> act -> pool] per entry of ``conv_channels``,
    then dense layers ``dense`` with the same activation, then ``num_classes`` logits.

    The default on 32x32x3 (32 -> 28 -> 14 -> 10 -> 5; flatten 400) has 62,006 parameters
    (456 + 2,416 + 48,120 + 10,164 + 850). Variants by argument: 1-3 conv layers (three 5x5
    VALID layers with pooling do not fit 32x32; use ``padding="SAME"``), other channel counts,
    more or fewer dense layers, ``activation`` relu / leaky_relu (``negative_slope=``) / tanh.
    ``dropout`` applies after the hidden dense layers; ``input_channels=None`` skips the check.
    """
    if not 1 <= len(conv_channels) <= 3:
        raise ValueError(f"lenet takes 1 to 3 conv layers, got conv_channels={tuple(conv_channels)}")
    blocks = tuple(ConvBlock(c, kernel=kernel, padding=padding, activation=activation, pool=pool,
                             pool_type=pool_type, batch_norm=batch_norm) for c in conv_channels)
    return CNN(blocks=blocks, dense=tuple(dense), num_classes=num_classes, dense_activation=activation,
               dense_dropout=dropout, input_channels=input_channels, **fields)
