"""The planner protocol: input checking, the batch (B) dimension, noise drawing, results.

Every planner searches a batch internally: `_search(cost_fn, mean (B, H, A), candidates
(B, M, H, A) | None, noise) -> (actions (B, H, A), cost (B,), info)`, where `cost_fn` maps
(B, P, H, A) -> (B, P). An unbatched call is a batch of one. All randomness is drawn up front
into `noise` from the planner's own generator, so `_search` is a pure function of tensors: the
same path runs eagerly and inside a CUDA graph (see `planners.graph`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from planners.result import PlanResult

CostFn = Callable[[torch.Tensor], torch.Tensor]
"""(N, H, A) -> (N,) for an unbatched call, (B, N, H, A) -> (B, N) for a batch; lower is better."""


class Planner:
    """Base class. Subclasses set `config_class` (a frozen dataclass of their options) and
    implement `_noise_shape` and `_search`."""

    config_class: type = type(None)

    def __init__(self, *, device: str | torch.device = "cpu", seed: int = 0, **options) -> None:
        """device: where sampling and search run (cost_fn must accept tensors there); seed: the
        generator seed; options: fields of `config_class` (e.g. num_samples, iterations)."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"{type(self).__name__}: seed must be an int, got {seed!r}")
        names = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown option(s) {', '.join(unknown)}; "
                f"known: device, seed, {', '.join(sorted(names))}"
            )
        self.config = self.config_class(**options)
        self.device = torch.device(device)
        self.seed = seed
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config}, device={self.device}, seed={self.seed})"

    def plan(
        self,
        cost_fn: CostFn,
        init_mean: torch.Tensor,
        candidates: torch.Tensor | None = None,
    ) -> PlanResult:
        """Minimise cost_fn over action sequences in [-1, 1].

        init_mean: (H, A) warm start, or (B, H, A) for B independent problems (then cost_fn gets
        (B, N, H, A) and returns (B, N)). candidates: optional (M, H, A) / (B, M, H, A) sequences
        (e.g. policy-prior rollouts) evaluated and offered to the search every iteration.
        Returns PlanResult with actions (H, A) / (B, H, A).
        """
        mean, cands, batched = self.prepare(init_mean, candidates)
        noise = self.draw_noise(mean.shape)
        return self.finish(self.search(cost_fn, mean, cands, noise, batched), batched)

    def graphed(
        self,
        cost_fn: CostFn,
        example_init_mean: torch.Tensor,
        example_candidates: torch.Tensor | None = None,
    ):
        """A `plan(init_mean, candidates=None) -> PlanResult` callable for fixed shapes; on CUDA one
        call replays a captured CUDA graph of the whole search. See `planners.graph.GraphedPlan`."""
        from planners.graph import GraphedPlan

        return GraphedPlan(self, cost_fn, example_init_mean, example_candidates)

    def prepare(
        self, init_mean: torch.Tensor, candidates: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """Check shapes; return (mean (B, H, A) float32 on device, clamped to [-1, 1],
        candidates (B, M, H, A) or None, whether the call was batched)."""
        name = type(self).__name__
        if not isinstance(init_mean, torch.Tensor):
            raise TypeError(f"{name}.plan: init_mean must be a torch.Tensor, got {type(init_mean)}")
        if init_mean.dim() not in (2, 3) or 0 in init_mean.shape:
            raise ValueError(
                f"{name}.plan: init_mean must have shape (H, A) or (B, H, A), "
                f"got {tuple(init_mean.shape)}"
            )
        batched = init_mean.dim() == 3
        mean = init_mean.to(device=self.device, dtype=torch.float32)
        mean = (mean if batched else mean.unsqueeze(0)).clamp(-1.0, 1.0)
        if candidates is None:
            return mean, None, batched
        if not isinstance(candidates, torch.Tensor):
            raise TypeError(f"{name}.plan: candidates must be a torch.Tensor or None")
        cands = candidates.to(device=self.device, dtype=torch.float32)
        cands = cands if batched else cands.unsqueeze(0)
        if cands.dim() != 4 or cands.shape[0] != mean.shape[0] or cands.shape[2:] != mean.shape[1:]:
            want = "(B, M, H, A)" if batched else "(M, H, A)"
            raise ValueError(
                f"{name}.plan: candidates must have shape {want} matching init_mean "
                f"{tuple(init_mean.shape)}, got {tuple(candidates.shape)}"
            )
        return mean, cands.clamp(-1.0, 1.0), batched

    def draw_noise(self, shape: torch.Size) -> torch.Tensor:
        """All randomness of one search for problems of shape (B, H, A), from the own generator."""
        return torch.randn(
            self._noise_shape(*shape), generator=self.generator, device=self.device
        )

    def search(
        self,
        cost_fn: CostFn,
        mean: torch.Tensor,
        candidates: torch.Tensor | None,
        noise: torch.Tensor,
        batched: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """Run `_search` with cost_fn adapted to the batched protocol (shapes checked)."""
        return self._search(_batched_cost(cost_fn, batched, type(self).__name__), mean, candidates,
                            noise)

    @staticmethod
    def finish(out: tuple[torch.Tensor, torch.Tensor, dict], batched: bool) -> PlanResult:
        """Wrap `_search` output; an unbatched call drops the leading batch dim everywhere."""
        actions, cost, info = out
        if batched:
            return PlanResult(actions, cost, info)
        info = {k: v[0] if isinstance(v, torch.Tensor) else v for k, v in info.items()}
        return PlanResult(actions[0], cost[0], info)

    def _noise_shape(self, batch: int, horizon: int, action_dim: int) -> tuple[int, ...]:
        raise NotImplementedError

    def _search(
        self,
        cost_fn: CostFn,
        mean: torch.Tensor,
        candidates: torch.Tensor | None,
        noise: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        raise NotImplementedError


def _batched_cost(cost_fn: CostFn, batched: bool, name: str) -> CostFn:
    """(B, P, H, A) -> (B, P) float32 around the user's cost_fn, checking what it returns."""

    def evaluate(actions: torch.Tensor) -> torch.Tensor:
        given = actions if batched else actions[0]
        cost = cost_fn(given)
        want = tuple(given.shape[:-2])
        if not isinstance(cost, torch.Tensor) or tuple(cost.shape) != want:
            got = tuple(cost.shape) if isinstance(cost, torch.Tensor) else type(cost).__name__
            raise ValueError(
                f"{name}: cost_fn must map actions {tuple(given.shape)} to costs {want}, got {got}"
            )
        cost = cost.to(device=actions.device, dtype=torch.float32)
        return cost if batched else cost.unsqueeze(0)

    return evaluate


def improve(
    best_actions: torch.Tensor,
    best_cost: torch.Tensor,
    samples: torch.Tensor,
    costs: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the better of the running best (B, H, A)/(B,) and the lowest-cost of samples
    (B, P, H, A) with costs (B, P). No host synchronisation."""
    cost, index = costs.min(dim=1)
    index = index[:, None, None, None].expand(-1, 1, *samples.shape[2:])
    found = samples.gather(1, index).squeeze(1)
    better = cost < best_cost
    return torch.where(better[:, None, None], found, best_actions), torch.where(
        better, cost, best_cost
    )
