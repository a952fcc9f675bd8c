"""Pixel observations in the model: a convolutional encoder, a user's frozen pretrained encoder,
and the random-shift augmentation.

A pixel observation is a flat uint8 vector (C * H * W,) of a channel-first image (a frame stack,
`envs.pixels`); `ModelConfig.image_shape` is its (C, H, W).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from world_model.errors import user_error
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


def load_pretrained(spec: str) -> nn.Module:
    """The frozen network `module:function` builds (called without arguments), in eval mode;
    a bad spec or a function that fails is one line."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise user_error(f"pretrained_encoder must be module:function, got {spec!r}")
    try:
        build = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        raise user_error(f"cannot load the pretrained encoder {spec}: {err}") from err
    try:
        net = build()
    except Exception as err:  # the user's code: name it in one line
        raise user_error(f"the pretrained encoder {spec} failed to build: "
                         f"{type(err).__name__}: {err}") from err
    if not isinstance(net, nn.Module):
        raise user_error(f"the pretrained encoder {spec} returned {type(net).__name__}, not a "
                         "torch.nn.Module")
    return net.requires_grad_(False).eval()


class PretrainedEncoder(nn.Module):
    """Images (..., C * H * W) in [0, 1] -> (..., fan_out): each RGB frame of the stack through
    a frozen network (`load_pretrained`), the frames' features joined, then a trained Linear."""

    def __init__(self, image_shape: tuple[int, int, int], spec: str, fan_out: int,
                 generator: torch.Generator):
        super().__init__()
        self.image_shape = tuple(image_shape)
        channels, height, width = self.image_shape
        if channels % 3:
            raise user_error(f"a pretrained encoder reads RGB frames; images of {channels} "
                             "channels are not a stack of them")
        self.frames = channels // 3
        self.net = load_pretrained(spec)
        try:
            with torch.no_grad():
                features = self.net(torch.zeros(1, 3, height, width)).flatten(1).shape[1]
        except Exception as err:  # the user's network on our frames
            raise user_error(f"the pretrained encoder {spec} cannot read (1, 3, {height}, "
                             f"{width}) frames: {type(err).__name__}: {err}") from err
        self.out = Linear(self.frames * features, fan_out, generator)

    def train(self, mode: bool = True) -> PretrainedEncoder:
        super().train(mode)
        self.net.eval()  # frozen: its normalisation layers keep their statistics
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        _, height, width = self.image_shape
        frames = x.reshape(-1, 3, height, width)
        with torch.no_grad():
            features = self.net(frames).flatten(1)
        return self.out(features.reshape(-1, self.frames * features.shape[1])).reshape(*lead, -1)


class ImageStateEncoder(nn.Module):
    """Normalised `pixels+state` rows (..., C * H * W + S) -> (..., fan_out): the images'
    encoder plus an MLP of the state (a sum of the two, the same as one Linear over both
    features joined)."""

    def __init__(self, images: nn.Module, state: nn.Module):
        super().__init__()
        self.images, self.state = images, state
        channels, height, width = images.image_shape
        self.pixels = channels * height * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.images(x[..., :self.pixels]) + self.state(x[..., self.pixels:])


def random_shift(obs: torch.Tensor, image_shape: tuple[int, int, int], pad: int,
                 generator: np.random.Generator) -> torch.Tensor:
    """DrQ's augmentation: each image of obs (..., C * H * W) padded by `pad` pixels (edges
    replicated) and cropped back to H x W at a random offset; the channels of one image (a frame
    stack) move together, and a state after the image (`pixels+state`) stays as it is. Offsets
    come from `generator`, so a trainer's state fixes them."""
    if pad < 1:
        return obs
    c, h, w = image_shape
    if obs.shape[-1] > c * h * w:
        head = random_shift(obs[..., :c * h * w], image_shape, pad, generator)
        return torch.cat([head, obs[..., c * h * w:]], dim=-1)
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
