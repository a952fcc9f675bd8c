"""iCEM (Pinneri et al. 2020): CEM with coloured noise, a shrinking population and kept elites."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from planners.cem import CEM
from planners.noise import colour
from planners.sampling import SamplerConfig


@dataclass(frozen=True, kw_only=True)
class ICEMConfig(SamplerConfig):
    """SamplerConfig plus iCEM's noise colour, population decay and elite keeping."""

    beta: float = 0.5
    """Noise exponent: power spectrum ~ 1/f^beta along the horizon (0 white, 2 smooth). Pinneri
    et al. tune it per task (0.25 to 4); 0.5 was the best compromise over cartpole-swingup,
    HalfCheetah and the on-bound problem in `wmpc bench planners`."""
    decay: float = 1.25
    """Population of iteration i is max(num_samples / decay^i, 2 * num_elites)."""
    keep_fraction: float = 0.3
    """Fraction of an iteration's elites carried (with their costs) into the next iteration."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if not self.decay >= 1:
            raise ValueError(f"decay must be >= 1, got {self.decay}")
        if not 0 <= self.keep_fraction <= 1:
            raise ValueError(f"keep_fraction must be in [0, 1], got {self.keep_fraction}")


class ICEM(CEM):
    """Improved CEM over action sequences (H, A) in [-1, 1].

    Like CEM, but samples temporally correlated (coloured) noise, shrinks the population by
    `decay` each iteration and carries the best `keep_fraction` of the elites into the next
    iteration. Between plan calls, iCEM's shifted elites are the agent's to pass back:
    `candidates=shift(result.info["elites"][..., :k, :, :])`. Options: see `ICEMConfig`.
    """

    config_class = ICEMConfig

    def population_sizes(self) -> list[int]:
        cfg = self.config
        floor = min(2 * cfg.elites, cfg.num_samples)
        return [
            max(round(cfg.num_samples * cfg.decay**-i), floor) for i in range(cfg.iterations)
        ]

    def _carried(self) -> int:
        return math.ceil(self.config.keep_fraction * self.config.elites)

    def draw_noise(self, shape: torch.Size) -> torch.Tensor:
        return colour(super().draw_noise(shape), self.config.beta)

