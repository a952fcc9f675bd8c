"""The MPC agent: plan the lowest-energy action sequence from an observation, execute its first.

Works on one observation `(O,)` or a batch `(B, O)` (B independent problems planned in one call);
the previous solution, shifted by one decision, warm-starts the next plan. With `graph=True` each
input shape's whole plan is captured once as a CUDA graph (`planners.graph`) and replayed with the
new start latent copied in (eager where there is no CUDA). With `compile=True` the energy of
an imagination is compiled on a CPU (`world_model.compiled`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from agent.cost import Energy, Imagination, LatentImagination
from planners import shift
from world_model.compiled import compiled


class MPCAgent:
    """Receding-horizon control around any planner and energy.

    imagine: obs `(O,)` or `(B, O)` (numpy) -> an `Imagination` rolling sequences out from there.
    planner: an object with `plan(cost_fn, init_mean, candidates) -> PlanResult`.
    propose: optional (imagination, generator) -> candidate sequences `(M, H, A)` / `(B, M, H, A)`
    added to every plan (e.g. an actor's rollouts); it draws noise from `generator`.
    graph: replay a captured plan per input shape; needs an imagination whose only per-call input
    is its start tensor `z0` (`LatentImagination`) and an energy without per-call state.
    compile: on a CPU, score candidates with a compiled `energy(imagination(actions))`; needs an
    imagination that torch.compile can trace (`LatentImagination`, not the simulator's).
    """

    def __init__(
        self,
        planner,
        energy: Energy,
        imagine: Callable[[np.ndarray], Imagination],
        *,
        horizon: int,
        action_dim: int,
        device: str | torch.device = "cpu",
        explore_std: float = 0.0,
        seed: int = 0,
        propose: Callable[[Imagination, torch.Generator], torch.Tensor] | None = None,
        graph: bool = False,
        compile: bool = False,
    ):
        self.planner = planner
        self.energy = energy
        self.imagine = imagine
        self.horizon = horizon
        self.action_dim = action_dim
        self.device = torch.device(device)
        self.explore_std = explore_std
        self.propose = propose
        self.graph = graph
        self._graphs: dict[tuple, tuple] = {}
        self._scorer = compiled(self._score, self.device) if compile and not graph else self._score
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.last_cost: float | np.ndarray | None = None
        self._mean: torch.Tensor | None = None

    def reset(self, index: int | None = None) -> None:
        """Forget the warm start (of every problem, or of problem `index` of a batch)."""
        if index is None or self._mean is None:
            self._mean = None
        else:
            self._mean[index] = 0.0

    def _init_mean(self, batch: int | None) -> torch.Tensor:
        shape = (self.horizon, self.action_dim)
        if batch is not None:
            shape = (batch, *shape)
        if self._mean is None or tuple(self._mean.shape) != shape:
            return torch.zeros(shape, device=self.device)
        return shift(self._mean, 1)

    @torch.no_grad()
    def plan(self, obs: np.ndarray):
        """The planner's full result for `obs` `(O,)` or `(B, O)`; its lowest-cost sequence is
        executed and becomes the warm start."""
        batch = obs.shape[0] if obs.ndim == 2 else None
        imagination = self.imagine(obs)
        candidates = None if self.propose is None else self.propose(imagination, self.generator)
        init = self._init_mean(batch)
        if self.graph:
            result = self._replay(imagination, init, candidates)
        else:
            result = self.planner.plan(partial(self._scorer, imagination), init, candidates)
        self._mean = result.actions.detach()
        self.last_cost = result.cost
        return result

    def _score(self, imagination: Imagination, actions: torch.Tensor) -> torch.Tensor:
        """Energy (N,) / (B, N) of action sequences (N, H, A) / (B, N, H, A) from imagination."""
        return self.energy(imagination(actions))

    def _replay(self, imagination, init: torch.Tensor, candidates: torch.Tensor | None):
        """The captured plan for these shapes (captured on first use) with this call's z0."""
        if not isinstance(imagination, LatentImagination):
            raise TypeError(f"graph mode replays a LatentImagination, got {type(imagination)}")
        key = (tuple(init.shape), None if candidates is None else tuple(candidates.shape))
        if key not in self._graphs:
            static = copy.copy(imagination)
            static.z0 = imagination.z0.clone()
            plan = self.planner.graphed(self.energy.bind(static), init, candidates)
            self._graphs[key] = (static, plan)
        static, plan = self._graphs[key]
        static.z0.copy_(imagination.z0)
        return plan(init, candidates)

    def act(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        """First action of the plan for `obs`: `(A,)` or `(B, A)` in [-1, 1]."""
        self.plan(obs)
        action = self._mean[..., 0, :].float().cpu()
        if explore and self.explore_std > 0:
            noise = torch.randn(action.shape, generator=self.generator) * self.explore_std
            action = (action + noise).clamp(-1.0, 1.0)
        return action.numpy()

    def state_dict(self) -> dict:
        """RNG states for exact resume (the warm start is reset at episode boundaries)."""
        return {"generator": self.generator.get_state(),
                "planner": self.planner.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.planner.generator.set_state(state["planner"])
