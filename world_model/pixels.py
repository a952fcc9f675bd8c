"""Pixel observations in the model: a convolutional encoder and the random-shift augmentation.

A pixel observation is a flat uint8 vector (C * H * W,) of a channel-first image (a frame stack,
`envs.pixels`); `ModelConfig.image_shape` is its (C, H, W).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from world_model.layers import Linear, uniform

CHANNELS = 32
"""Channels of every convolution (TD-MPC2's and DrQ's pixel encoders use 32)."""
KERNELS = ((7, 2), (5, 2), (3, 2), (3, 1))
"""(kernel, stride) of each convolution, TD-MPC2's stack: a 64 x 64 image becomes 32 x 4 x 4."""


class Conv2d(nn.Module):
    """A convolution with He's uniform init (variance 2 / fan_in, kept through a ReLU) from a
    generator and zero bias. PyTorch's default (variance 1 / (3 fan_in)) shrinks the signal
    about six-fold per ReLU layer: four layers left every image with nearly the same latent, and
    the encoder collapsed."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int,
                 generator: torch.Generator):
        super().__init__()
        bound = math.sqrt(6.0 / (c_in * kernel * kernel))
        self.weight = nn.Parameter(uniform((c_out, c_in, kernel, kernel), bound, generator))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=self.stride)


class ConvEncoder(nn.Module):
    """Images (..., C * H * W) scaled to [-0.5, 0.5] -> (..., fan_out): four ReLU convolutions,
    flattened, then a Linear."""

    def __init__(self, image_shape: tuple[int, int, int], fan_out: int,
                 generator: torch.Generator):
        super().__init__()
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = []
        channels, side_h, side_w = self.image_shape
        for kernel, stride in KERNELS:
            layers += [Conv2d(channels, CHANNELS, kernel, stride, generator), nn.ReLU()]
            channels = CHANNELS
            side_h, side_w = (side_h - kernel) // stride + 1, (side_w - kernel) // stride + 1
        if side_h < 1 or side_w < 1:
            raise ValueError(f"images of {self.image_shape[1]} x {self.image_shape[2]} are too "
                             "small for the encoder's convolutions (at least 64 x 64 is usual)")
        self.convs = nn.Sequential(*layers)
        self.out = Linear(CHANNELS * side_h * side_w, fan_out, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        images = x.reshape(-1, *self.image_shape)
        features = self.convs(images).flatten(1)
        return self.out(features).reshape(*lead, -1)


def random_shift(obs: torch.Tensor, image_shape: tuple[int, int, int], pad: int,
                 generator: np.random.Generator) -> torch.Tensor:
    """DrQ's augmentation: each image of obs (..., C * H * W) padded by `pad` pixels (edges
    replicated) and cropped back to H x W at a random offset; the channels of one image (a frame
    stack) move together. Offsets come from `generator`, so a trainer's state fixes them."""
    if pad < 1:
        return obs
    c, h, w = image_shape
    images = obs.reshape(-1, c, h, w)
    n = images.shape[0]
    padded = F.pad(images.float(), (pad, pad, pad, pad), mode="replicate")
    offsets = torch.as_tensor(generator.integers(0, 2 * pad + 1, size=(n, 2)),
                              device=obs.device)
    rows = (offsets[:, 0, None] + torch.arange(h, device=obs.device))[:, :, None]
    cols = (offsets[:, 1, None] + torch.arange(w, device=obs.device))[:, None, :]
    index = torch.arange(n, device=obs.device)[:, None, None]
    shifted = padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)
    return shifted.to(obs.dtype).reshape(obs.shape)
