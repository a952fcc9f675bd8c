"""One whole plan call captured in a CUDA graph: a plan is then one graph replay.

Usage (the cost reads changing state from tensors the caller updates in place):

    z0 = torch.zeros(1, latent_dim, device="cuda")            # static input of the cost
    cost_fn = lambda actions: -model.value_of(z0, actions)    # (N, H, A) -> (N,)
    plan = CEM(num_samples=512, iterations=6, device="cuda").graphed(cost_fn, torch.zeros(H, A))
    for obs in stream:
        z0.copy_(model.encode(obs))                           # in place: the graph reads z0
        result = plan(warm_start)                             # one replay; result on the GPU

The captured cost_fn must be graph-safe: static shapes, no host synchronisation (`.item()`,
printing or branching on tensor values, `.cpu()`), no new CPU->GPU copies, and no randomness of
its own (the planner's noise is drawn before each replay from its generator, so results equal the
eager `plan`'s for the same seed). Each call returns fresh copies of the outputs. On a device other
than CUDA the same object calls `planner.plan` eagerly: same interface, same results.
"""

from __future__ import annotations

import time

import torch

from planners.base import CostFn, Planner
from planners.result import PlanResult


class GraphedPlan:
    """`plan(init_mean, candidates=None) -> PlanResult` for the shapes of the example inputs."""

    def __init__(
        self,
        planner: Planner,
        cost_fn: CostFn,
        example_init_mean: torch.Tensor,
        example_candidates: torch.Tensor | None = None,
        *,
        warmup: int = 2,
    ) -> None:
        """Captures on CUDA (warm-up runs on a side stream first); `warmup_seconds` records the
        time spent. example_init_mean (H, A) or (B, H, A); example_candidates (M, H, A) /
        (B, M, H, A) or None: later calls must pass the same shapes (and candidates iff given)."""
        start = time.perf_counter()
        self.planner = planner
        self.cost_fn = cost_fn
        mean, cands, self.batched = planner.prepare(example_init_mean, example_candidates)
        self._shapes = (tuple(example_init_mean.shape),
                        None if cands is None else tuple(example_candidates.shape))
        self.captured = planner.device.type == "cuda"
        if self.captured:
            self._capture(mean, cands, warmup)
        self.warmup_seconds = time.perf_counter() - start

    def _capture(self, mean: torch.Tensor, cands: torch.Tensor | None, warmup: int) -> None:
        planner = self.planner
        self._mean, self._cands = mean.clone(), None if cands is None else cands.clone()
        self._noise = torch.zeros(planner._noise_shape(*mean.shape), device=planner.device)

        def run():
            return planner.search(self.cost_fn, self._mean, self._cands, self._noise, self.batched)

        side = torch.cuda.Stream(device=planner.device)
        side.wait_stream(torch.cuda.current_stream(planner.device))
        with torch.cuda.stream(side):
            for _ in range(warmup):
                run()
        torch.cuda.current_stream(planner.device).wait_stream(side)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):
            self._out = run()
        torch.cuda.synchronize(planner.device)

    def __call__(
        self, init_mean: torch.Tensor, candidates: torch.Tensor | None = None
    ) -> PlanResult:
        name = type(self.planner).__name__
        shapes = (tuple(init_mean.shape), None if candidates is None else tuple(candidates.shape))
        if shapes != self._shapes:
            raise ValueError(
                f"{name}.graphed: captured for init_mean {self._shapes[0]} and candidates "
                f"{self._shapes[1]}, got {shapes[0]} and {shapes[1]}"
            )
        if not self.captured:
            return self.planner.plan(self.cost_fn, init_mean, candidates)
        mean, cands, _ = self.planner.prepare(init_mean, candidates)
        self._mean.copy_(mean)
        if cands is not None:
            self._cands.copy_(cands)
        self._noise.copy_(self.planner.draw_noise(mean.shape))
        self._graph.replay()
        actions, cost, info = self._out
        info = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in info.items()}
        return Planner.finish((actions.clone(), cost.clone(), info), self.batched)
