"""Shared machinery of the sampling planners (CEM, iCEM, MPPI, CEM+gradient).

One iteration: sample a population around the current Gaussian (the mean itself is always one
member), add the injected candidates and the elites carried from the previous iteration, evaluate,
select elites, optionally refine them, and refit the Gaussian. The best sequence ever evaluated is
returned with its cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from planners.base import CostFn, Planner


@dataclass(frozen=True, kw_only=True)
class SamplerConfig:
    """Options shared by the sampling planners."""

    num_samples: int = 512
    """Population per iteration, the current mean included (iCEM: of the first iteration)."""
    iterations: int = 6
    """Sampling rounds per plan call."""
    num_elites: int | None = None
    """Lowest-cost sequences that refit the sampling distribution; None: num_samples // 8
    (TD-MPC2's 64 of 512), at least 1."""
    init_std: float = 0.5
    """Initial standard deviation of the per-step Gaussian around init_mean."""
    min_std: float = 0.05
    """Floor on the standard deviation after each refit."""
    momentum: float = 0.1
    """Weight of the previous mean/std when refitting (0: replace, 1: never move)."""

    def __post_init__(self) -> None:
        _check_int(self, "num_samples", 2)
        _check_int(self, "iterations", 1)
        if self.num_elites is not None:
            _check_int(self, "num_elites", 1)
        if self.elites > self.num_samples:
            raise ValueError(
                f"num_elites ({self.num_elites}) must not exceed num_samples ({self.num_samples})"
            )
        if not self.init_std > 0:
            raise ValueError(f"init_std must be > 0, got {self.init_std}")
        if not 0 <= self.min_std <= self.init_std:
            raise ValueError(f"min_std must be in [0, init_std], got {self.min_std}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")

    @property
    def elites(self) -> int:
        """The number of elites in effect."""
        return self.num_elites if self.num_elites is not None else max(1, self.num_samples // 8)


def _check_int(config: object, name: str, low: int) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def population(mean: torch.Tensor, std: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """mean, std (B, H, A); noise (B, n, H, A) -> (B, 1 + n, H, A): the mean, then mean + std *
    noise clipped to [-1, 1]."""
    samples = torch.addcmul(mean.unsqueeze(1), std.unsqueeze(1), noise).clamp_(-1.0, 1.0)
    return torch.cat([mean.unsqueeze(1), samples], dim=1)


def select_elites(
    samples: torch.Tensor, costs: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k lowest-cost of samples (B, P, H, A), costs (B, P): (B, k, H, A), (B, k), best first."""
    elite_costs, index = costs.topk(k, dim=1, largest=False, sorted=True)
    index = index[:, :, None, None].expand(-1, -1, *samples.shape[2:])
    return samples.gather(1, index), elite_costs


def best_of(
    sequences: torch.Tensor, costs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each iteration's best sequences (B, I, H, A) with costs (B, I) -> the overall best
    (B, H, A), its cost (B,), and the best cost so far after each iteration (B, I)."""
    index = costs.argmin(dim=1)[:, None, None, None].expand(-1, 1, *sequences.shape[2:])
    history = costs.cummin(dim=1).values
    return sequences.gather(1, index).squeeze(1), history[:, -1], history


class SamplingPlanner(Planner):
    """Template for the samplers; subclasses choose the population sizes, how elites are
    refined and how the Gaussian is refitted."""

    config_class = SamplerConfig

    def population_sizes(self) -> list[int]:
        """Population per iteration, the mean included."""
        return [self.config.num_samples] * self.config.iterations

    def _carried(self) -> int:
        """How many elites of one iteration join the next one's population (not re-evaluated)."""
        return 0

    def _noise_shape(self, batch: int, horizon: int, action_dim: int) -> tuple[int, ...]:
        return (batch, sum(n - 1 for n in self.population_sizes()), horizon, action_dim)

    def _refine(
        self, cost_fn: CostFn, elites: torch.Tensor, elite_costs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """Improve elites (B, K, H, A) with costs (B, K); returns them with (forward, backward)
        evaluation counts per problem."""
        return elites, elite_costs, 0, 0

    def _refit(
        self, mean: torch.Tensor, std: torch.Tensor, elites: torch.Tensor, costs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """New (mean, std) (B, H, A) from elites (B, K, H, A) with costs (B, K)."""
        raise NotImplementedError

    def _search(self, cost_fn, mean, candidates, noise):
        cfg = self.config
        std = torch.full_like(mean, cfg.init_std)
        cand_costs = carried = carried_costs = None
        forward = backward = 0
        bests, best_costs, evaluations, gradients = [], [], [], []
        for i, eps in enumerate(noise.split([n - 1 for n in self.population_sizes()], dim=1)):
            samples = population(mean, std, eps)
            if i == 0 and candidates is not None:
                samples = torch.cat([samples, candidates], dim=1)
            with torch.no_grad():
                costs = cost_fn(samples)
            forward += samples.shape[1]
            if candidates is not None:
                if cand_costs is None:
                    cand_costs = costs[:, -candidates.shape[1]:]
                else:
                    samples = torch.cat([samples, candidates], dim=1)
                    costs = torch.cat([costs, cand_costs], dim=1)
            if carried is not None:
                samples = torch.cat([samples, carried], dim=1)
                costs = torch.cat([costs, carried_costs], dim=1)
            elites, elite_costs = select_elites(samples, costs, min(cfg.elites, costs.shape[1]))
            elites, elite_costs, f, b = self._refine(cost_fn, elites, elite_costs)
            forward, backward = forward + f, backward + b
            bests.append(elites[:, 0])  # elites come sorted, best first
            best_costs.append(elite_costs[:, 0])
            mean, std = self._refit(mean, std, elites, elite_costs)
            std = std.clamp(min=cfg.min_std)
            keep = self._carried()
            if keep:
                carried, carried_costs = elites[:, :keep], elite_costs[:, :keep]
            evaluations.append(forward)
            gradients.append(backward)
        best_actions, best_cost, history = best_of(torch.stack(bests, dim=1),
                                                   torch.stack(best_costs, dim=1))
        info = {
            "cost_history": history,
            "mean": mean,
            "std": std,
            "elites": elites,
            "evaluations": forward,
            "gradient_evaluations": backward,
            "evaluations_history": evaluations,
            "gradient_evaluations_history": gradients,
        }
        return best_actions, best_cost, info


def momentum_update(old: torch.Tensor, new: torch.Tensor, momentum: float) -> torch.Tensor:
    """momentum * old + (1 - momentum) * new."""
    return torch.lerp(new, old, momentum) if momentum else new
