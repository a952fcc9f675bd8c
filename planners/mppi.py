"""MPPI: the Gaussian refitted to elites weighted by their exponentiated negative cost."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from planners.sampling import SamplerConfig, SamplingPlanner, momentum_update


@dataclass(frozen=True, kw_only=True)
class MPPIConfig(SamplerConfig):
    """SamplerConfig plus the weighting temperature (TD-MPC2-style: weights over the elites)."""

    momentum: float = 0.0
    """Weight of the previous mean/std when refitting (TD-MPC2 uses none)."""
    temperature: float = 0.5
    """Weights are softmax(-cost / temperature) over the elites; lower is greedier (0.1 collapsed
    the search too early in `wmpc bench planners`)."""
    normalize: bool = True
    """Rescale elite costs to [0, 1] (best 0, worst 1) before weighting, making `temperature`
    independent of the cost's scale. False uses raw costs (TD-MPC2's 0.5 on returns reads as
    temperature=2.0 here)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


class MPPI(SamplingPlanner):
    """Model-predictive path integral control over action sequences (H, A) in [-1, 1].

    Each iteration samples around the mean (the mean included), takes the `num_elites` lowest
    costs, weights them by softmax(-cost / temperature) and sets mean and std to the weighted
    moments (std floored at `min_std`). Returns the best sequence evaluated; the final weighted
    mean is in `info["mean"]`. Options: see `MPPIConfig`.
    """

    config_class = MPPIConfig

    def _refit(self, mean, std, elites, costs):
        cfg = self.config
        if cfg.normalize:
            low = costs[:, :1]
            costs = (costs - low) / (costs[:, -1:] - low).clamp(min=1e-12)
        weights = torch.softmax(costs / -cfg.temperature, dim=1)[:, :, None, None]
        new_mean = (weights * elites).sum(dim=1)
        new_std = (weights * (elites - new_mean.unsqueeze(1)).square()).sum(dim=1).sqrt()
        return momentum_update(mean, new_mean, cfg.momentum), momentum_update(
            std, new_std, cfg.momentum
        )
