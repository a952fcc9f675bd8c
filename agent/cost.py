"""The cost module: the energy of imagined trajectories, the only code that knows model and planner.

An `Imagination` turns action sequences `(..., N, H, A)` into an `Imagined` trajectory (latents,
rewards, survival probabilities); composable `EnergyTerm`s score it; `Energy.bind(...)` returns the
`cost_fn` a planner minimises. The same task term works on the learned model and on the true
simulator (the oracle), so every comparison is like for like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

CostFn = Callable[[Tensor], Tensor]


@dataclass
class Imagined:
    """One imagined batch of trajectories.

    actions: (..., N, H, A) the sequences scored.
    rewards: (..., N, H) reward of each decision.
    alive: (..., N, H) probability of not having terminated before decision t (alive[..., 0] = 1).
    survive_end: (..., N) probability of not having terminated after the last decision.
    latents: (..., N, H + 1, D) z_0 .. z_H, or None for the true simulator.
    model: the world model that produced the latents (heads for critic and uncertainty), or None.
    """

    actions: Tensor
    rewards: Tensor
    alive: Tensor
    survive_end: Tensor
    latents: Tensor | None = None
    model: torch.nn.Module | None = None


class Imagination(Protocol):
    """Rolls action sequences out from a fixed start state."""

    def __call__(self, actions: Tensor) -> Imagined: ...


def _survival(term_prob: Tensor) -> tuple[Tensor, Tensor]:
    """(..., H) termination probabilities -> alive before each step (..., H), alive after (...)."""
    keep = torch.cumprod(1.0 - term_prob, dim=-1)
    alive = torch.cat([torch.ones_like(keep[..., :1]), keep[..., :-1]], dim=-1)
    return alive, keep[..., -1]


class LatentImagination:
    """Imagination in the world model's latent space from z0 `(D,)` or `(B, D)`.

    members: the model's ensemble rollout mode ("split" or "mean", see `WorldModel.rollout`).
    """

    def __init__(self, model: torch.nn.Module, z0: Tensor, members: str = "mean"):
        self.model = model
        self.z0 = z0
        self.members = members

    def __call__(self, actions: Tensor) -> Imagined:
        batched = actions.dim() == 4
        if batched != (self.z0.dim() == 2):
            raise ValueError(
                f"z0 {tuple(self.z0.shape)} does not match actions {tuple(actions.shape)}")
        z0 = self.z0.unsqueeze(-2).expand(*actions.shape[:-2], self.z0.shape[-1])
        if batched and self.members == "split":
            # Samples first, so each problem's samples spread over every member (not one each).
            future = self.model.rollout(z0.transpose(0, 1), actions.transpose(0, 1),
                                        members="split").transpose(0, 1)
        else:
            future = self.model.rollout(z0, actions, members=self.members)
        latents = torch.cat([z0.unsqueeze(-2), future], dim=-2)
        rewards = self.model.reward(latents[..., :-1, :], actions)
        alive, survive_end = _survival(self.model.termination(latents[..., :-1, :], actions))
        return Imagined(actions, rewards, alive, survive_end, latents, self.model)


class SimulatorImagination:
    """The true simulator as imagination: the oracle scores each sequence with the env's own reward.

    `oracle` is an `envs.oracle.SimulatorOracle` synced to the env's current state (or a list of
    them, one per problem of a batch). Not differentiable.
    """

    def __init__(self, oracle):
        self.oracles = oracle if isinstance(oracle, Sequence) else None
        self.oracle = None if self.oracles is not None else oracle

    def __call__(self, actions: Tensor) -> Imagined:
        acts = actions.detach().cpu().numpy().astype(np.float64)
        if self.oracles is None:
            rew, term = self.oracle.rollout(acts)
        else:
            outs = [o.rollout(a) for o, a in zip(self.oracles, acts, strict=True)]
            rew, term = np.stack([r for r, _ in outs]), np.stack([t for _, t in outs])
        rewards = torch.as_tensor(rew, dtype=torch.float32, device=actions.device)
        term_prob = torch.as_tensor(term, dtype=torch.float32, device=actions.device)
        alive, survive_end = _survival(term_prob)
        return Imagined(actions, rewards, alive, survive_end)


class EnergyTerm(Protocol):
    """Scores an imagined trajectory: (..., N) energy, lower is better."""

    def __call__(self, imagined: Imagined) -> Tensor: ...


@dataclass(frozen=True)
class TaskCost:
    """Minus the discounted predicted reward over the horizon, counted while alive."""

    discount: float

    def __call__(self, im: Imagined) -> Tensor:
        disc = self.discount ** torch.arange(im.rewards.shape[-1], device=im.rewards.device)
        return -(im.rewards * im.alive * disc).sum(-1)


@dataclass(frozen=True)
class CriticCost:
    """Minus the critic's value at the horizon's end, discounted and weighted by survival."""

    discount: float
    weight: float = 1.0

    def __call__(self, im: Imagined) -> Tensor:
        if im.latents is None or im.model is None:
            raise ValueError("the critic term needs a learned model's latents")
        horizon = im.rewards.shape[-1]
        value = im.model.value(im.latents[..., -1, :])
        return -self.weight * (self.discount**horizon) * im.survive_end * value


class Energy:
    """A sum of energy terms; `bind(imagination)` gives the planner's `cost_fn`."""

    def __init__(self, terms: Sequence[EnergyTerm]):
        if not terms:
            raise ValueError("an energy needs at least one term")
        self.terms = list(terms)

    def __call__(self, imagined: Imagined) -> Tensor:
        return sum(term(imagined) for term in self.terms)

    def bind(self, imagination: Imagination) -> CostFn:
        """cost_fn: actions (N, H, A) -> (N,), or (B, N, H, A) -> (B, N)."""
        return lambda actions: self(imagination(actions))
