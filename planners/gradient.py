"""Gradient descent (Adam) on the action sequence through a differentiable cost, with restarts."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from planners.base import Planner, improve
from planners.descent import BOUNDS, adam_descent


@dataclass(frozen=True, kw_only=True)
class GradientConfig:
    """Options of GradientPlanner."""

    num_samples: int = 16
    """Parallel restarts: init_mean itself plus num_samples - 1 perturbed copies."""
    iterations: int = 50
    """Adam steps per restart."""
    lr: float = 0.05
    """Adam step size (actions live in [-1, 1])."""
    init_std: float = 0.3
    """Standard deviation of the Gaussian perturbation of the restarts around init_mean."""
    bounds: str = "clip"
    """"clip": project onto [-1, 1] after each step; "tanh": optimise u with actions tanh(u)."""

    def __post_init__(self) -> None:
        for name, low in (("num_samples", 1), ("iterations", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.init_std >= 0:
            raise ValueError(f"init_std must be >= 0, got {self.init_std}")
        if self.bounds not in BOUNDS:
            raise ValueError(f"bounds must be one of {', '.join(BOUNDS)}, got {self.bounds!r}")


class GradientPlanner(Planner):
    """Adam on action sequences (H, A) in [-1, 1] from `num_samples` restarts in parallel (and
    from each injected candidate); returns the best point met on any path. cost_fn must be
    differentiable in the actions (a ValueError says so otherwise) and treat sequences
    independently. Options: see `GradientConfig`.
    """

    config_class = GradientConfig

    def _noise_shape(self, batch: int, horizon: int, action_dim: int) -> tuple[int, ...]:
        return (batch, self.config.num_samples - 1, horizon, action_dim)

    def _search(self, cost_fn, mean, candidates, noise):
        cfg = self.config
        perturbed = (mean.unsqueeze(1) + cfg.init_std * noise).clamp_(-1.0, 1.0)
        starts = [mean.unsqueeze(1), perturbed]
        if candidates is not None:
            starts.append(candidates)
        starts = torch.cat(starts, dim=1)
        paths, costs, history = adam_descent(cost_fn, starts, steps=cfg.iterations, lr=cfg.lr,
                                    bounds=cfg.bounds)
        best_actions, best_cost = improve(mean, torch.full_like(mean[:, 0, 0], float("inf")),
                                          paths, costs)
        restarts = starts.shape[1]
        info = {
            "cost_history": history,
            "evaluations": restarts * (cfg.iterations + 1),
            "gradient_evaluations": restarts * cfg.iterations,
            "evaluations_history": [restarts * s for s in range(1, cfg.iterations + 2)],
            "gradient_evaluations_history": [
                restarts * min(s, cfg.iterations) for s in range(1, cfg.iterations + 2)
            ],
        }
        return best_actions, best_cost, info
