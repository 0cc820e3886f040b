"""PyTorch baselines for ``bench/vision.py``: the same networks as ``jaxml.models.cnn`` /
``jaxml.models.resnet``, written with ``torch.nn`` (NCHW), for eager-mode CPU timing only.

- :func:`mnist_cnn` — conv 32 3x3 -> ReLU -> max-pool 2 -> dropout 0.2 -> conv 32 3x3 -> BN ->
  ReLU -> max-pool 2 -> dropout 0.2 -> dense 64 ReLU -> dense 10 (61,546 parameters).
- :func:`cnn2` — conv 64 7x7 -> ReLU -> max-pool 2 -> dense 10 (80,650 parameters).
- :func:`resnet18` — ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), basic blocks,
  projection shortcuts (1x1 conv + BN) where the shape changes, convs without bias, global
  average pool, dense head (11,173,962 parameters for 10 classes at width 64).

Parameter counts equal the jaxml models' (checked by ``bench/vision.py`` before timing).
"""
from __future__ import annotations

import torch
from torch import nn


def mnist_cnn(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.2),
        nn.Conv2d(32, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.2),
        nn.Flatten(), nn.Linear(800, 64), nn.ReLU(), nn.Linear(64, num_classes))


def cnn2(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 64, 7), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 11 * 11, num_classes))


class _Basic(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = None
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + (x if self.short is None else self.short(x)))


class _ResNet(nn.Module):
    def __init__(self, stage_sizes, width: int, num_classes: int, in_channels: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        blocks, c = [], width
        for i, n in enumerate(stage_sizes):
            out = width * 2 ** i
            for j in range(n):
                blocks.append(_Basic(c, out, 2 if (i > 0 and j == 0) else 1))
                c = out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        return self.head(h.mean(dim=(2, 3)))


def resnet18(num_classes: int = 10, width: int = 64, in_channels: int = 3) -> nn.Module:
    return _ResNet((2, 2, 2, 2), width, num_classes, in_channels)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
