"""A user's pretrained image network as `ModelConfig.pretrained_encoder` loads it
(`frozen_encoder:build`): here a fixed random one, as if read from weights on disk."""

from __future__ import annotations

import torch
from torch import nn


def build() -> nn.Module:
    """(N, 3, H, W) in [0, 1] -> (N, 8, H/8, W/8) features, the same weights every call."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 8, stride=8), nn.BatchNorm2d(8), nn.ReLU())


def broken() -> nn.Module:
    raise FileNotFoundError("weights.pt")
