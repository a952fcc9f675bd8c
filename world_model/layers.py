"""Building blocks: seeded linear layers, LayerNorm + Mish MLPs, a K-member ensemble MLP.

Parameters are initialised from a caller's `torch.Generator`, never from the global RNG, so building
a model leaves global state untouched and the same seed gives the same weights on every device.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from world_model.mish import Mish, mish


class Linear(nn.Module):
    """`y = x W^T + b` with PyTorch's default uniform(+-1/sqrt(fan_in)) init from a generator.

    x (..., fan_in) -> y (..., fan_out). `zero=True` starts at zero (heads that should start
    predicting 0).
    """

    def __init__(self, fan_in: int, fan_out: int, generator: torch.Generator, zero: bool = False):
        super().__init__()
        bound = 0.0 if zero else 1.0 / math.sqrt(fan_in)
        self.weight = nn.Parameter(uniform((fan_out, fan_in), bound, generator))
        self.bias = nn.Parameter(uniform((fan_out,), bound, generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


def mlp(fan_in: int, hidden: int, layers: int, fan_out: int, generator: torch.Generator,
        zero_last: bool = False) -> nn.Sequential:
    """`layers` x (Linear, LayerNorm, Mish), then a Linear: (..., fan_in) -> (..., fan_out)."""
    blocks: list[nn.Module] = []
    width = fan_in
    for _ in range(layers):
        blocks += [Linear(width, hidden, generator), nn.LayerNorm(hidden), Mish()]
        width = hidden
    blocks.append(Linear(width, fan_out, generator, zero=zero_last))
    return nn.Sequential(*blocks)


class EnsembleMLP(nn.Module):
    """K independent MLPs of one shape, evaluated as one batched matmul per layer.

    forward: x (M, fan_in) shared by all members, or (K, M, fan_in) -> (K, M, fan_out).
    `zero_last=True` starts the output layer at zero (heads that should start predicting 0).
    """

    def __init__(self, members: int, fan_in: int, hidden: int, layers: int, fan_out: int,
                 generator: torch.Generator, zero_last: bool = False):
        super().__init__()
        self.members = members
        self.activation = mish
        widths = [fan_in] + [hidden] * layers + [fan_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.norm_scales = nn.ParameterList()
        self.norm_shifts = nn.ParameterList()
        for i, (w_in, w_out) in enumerate(itertools.pairwise(widths)):
            bound = 0.0 if zero_last and i == layers else 1.0 / math.sqrt(w_in)
            self.weights.append(nn.Parameter(uniform((members, w_in, w_out), bound, generator)))
            self.biases.append(nn.Parameter(uniform((members, 1, w_out), bound, generator)))
            if i < layers:
                self.norm_scales.append(nn.Parameter(torch.ones(members, 1, w_out)))
                self.norm_shifts.append(nn.Parameter(torch.zeros(members, 1, w_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        hidden = len(self.norm_scales)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < hidden:
                x = F.layer_norm(x, x.shape[-1:]) * self.norm_scales[i] + self.norm_shifts[i]
                x = self.activation(x)
        return x


def uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    """Weights of `shape` drawn uniformly in [-bound, bound] from `generator`."""
    return (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound


def simnorm(z: torch.Tensor, group: int) -> torch.Tensor:
    """TD-MPC2's simplicial normalisation: softmax within consecutive groups of `group` dims.

    z (..., D) -> (..., D), D a multiple of `group`.
    """
    shape = z.shape
    return F.softmax(z.reshape(*shape[:-1], -1, group), dim=-1).reshape(shape)
