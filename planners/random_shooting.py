"""Random shooting: uniform action sequences, keep the best; the baseline planners must beat."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from planners.base import Planner, improve


@dataclass(frozen=True, kw_only=True)
class RandomShootingConfig:
    """Options of RandomShooting."""

    num_samples: int = 512
    """Uniform sequences evaluated per iteration."""
    iterations: int = 6
    """Rounds; the total budget is num_samples * iterations evaluations."""

    def __post_init__(self) -> None:
        for name in ("num_samples", "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")


class RandomShooting(Planner):
    """Evaluates num_samples * iterations sequences uniform in [-1, 1] (plus any candidates, once)
    and returns the best; init_mean only sets the shape."""

    config_class = RandomShootingConfig

    def _noise_shape(self, batch: int, horizon: int, action_dim: int) -> tuple[int, ...]:
        cfg = self.config
        return (batch, cfg.num_samples * cfg.iterations, horizon, action_dim)

    def _search(self, cost_fn, mean, candidates, noise):
        uniform = torch.erf(noise / math.sqrt(2.0))  # N(0, 1) -> U(-1, 1)
        best_actions, best_cost = mean, torch.full_like(mean[:, 0, 0], float("inf"))
        history, evaluations, forward = [], [], 0
        for i, samples in enumerate(uniform.split(self.config.num_samples, dim=1)):
            if i == 0 and candidates is not None:
                samples = torch.cat([samples, candidates], dim=1)
            with torch.no_grad():
                costs = cost_fn(samples)
            forward += samples.shape[1]
            best_actions, best_cost = improve(best_actions, best_cost, samples, costs)
            history.append(best_cost)
            evaluations.append(forward)
        info = {
            "cost_history": torch.stack(history, dim=1),
            "evaluations": forward,
            "gradient_evaluations": 0,
            "evaluations_history": evaluations,
            "gradient_evaluations_history": [0] * len(evaluations),
        }
        return best_actions, best_cost, info
