"""CEM whose elites are refined by a few gradient steps each iteration (Bharadhwaj et al. 2020)."""

from __future__ import annotations

from dataclasses import dataclass

from planners.cem import CEM
from planners.descent import BOUNDS, adam_descent
from planners.sampling import SamplerConfig, select_elites


@dataclass(frozen=True, kw_only=True)
class CEMGradientConfig(SamplerConfig):
    """SamplerConfig plus the gradient refinement of the elites."""

    grad_steps: int = 2
    """Adam steps applied to every elite in every iteration (0: plain CEM)."""
    lr: float = 0.05
    """Adam step size of the refinement."""
    bounds: str = "clip"
    """"clip" (project onto [-1, 1]) or "tanh" (reparameterise) during refinement."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.grad_steps, bool) or not isinstance(self.grad_steps, int) or (
            self.grad_steps < 0
        ):
            raise ValueError(f"grad_steps must be an int >= 0, got {self.grad_steps!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.bounds not in BOUNDS:
            raise ValueError(f"bounds must be one of {', '.join(BOUNDS)}, got {self.bounds!r}")


class CEMGradient(CEM):
    """CEM over action sequences (H, A) in [-1, 1] whose elites take `grad_steps` Adam steps
    through the (differentiable) cost before the Gaussian is refitted to them; the refined
    elites compete for the best sequence. Options: see `CEMGradientConfig`.
    """

    config_class = CEMGradientConfig

    def _refine(self, cost_fn, elites, elite_costs):
        cfg = self.config
        if cfg.grad_steps == 0:
            return elites, elite_costs, 0, 0
        refined, costs, _ = adam_descent(cost_fn, elites, steps=cfg.grad_steps, lr=cfg.lr,
                                         bounds=cfg.bounds)
        refined, costs = select_elites(refined, costs, refined.shape[1])
        k = elites.shape[1]
        return refined, costs, k * (cfg.grad_steps + 1), k * cfg.grad_steps
