"""Problems for the planner quality benchmark: analytic costs with known minima, and the
true-simulator oracle (cost = minus the summed rewards of H decisions from a reset state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Problem:
    """One seeded minimisation problem over (H, A) action sequences in [-1, 1]."""

    name: str
    """Row label."""
    horizon: int
    """H."""
    action_dim: int
    """A."""
    cost_fn: Callable[[torch.Tensor], torch.Tensor]
    """(N, H, A) -> (N,)."""
    optimum: float | None
    """The minimum cost when known (regret = cost - optimum), else None."""
    differentiable: bool
    """Whether gradient planners can run on it."""
    close: Callable[[], None] = lambda: None
    """Release resources (the oracle's thread pool)."""


ANALYTIC = ("quadratic", "bound", "valley")
ORACLE = {"cartpole": "dm_control/cartpole-swingup-v0", "cheetah": "HalfCheetah-v5"}


def make_problem(name: str, seed: int, device: torch.device, horizon: int | None = None) -> Problem:
    """`name`: quadratic (interior minimum), bound (minimum on the bound), valley (Rosenbrock
    over the flattened sequence), cartpole or cheetah (the simulator oracle)."""
    if name in ORACLE:
        return _oracle_problem(name, seed, device, horizon or 30)
    h, a = horizon or 10, 4
    gen = torch.Generator().manual_seed(seed)
    if name == "quadratic":
        goal = ((torch.rand(h, a, generator=gen) * 2 - 1) * 0.9).to(device)
        return Problem(name, h, a, lambda x: (x - goal).square().sum(dim=(-2, -1)), 0.0, True)
    if name == "bound":
        switch = torch.randint(1, h, (a,), generator=gen)
        sign = torch.where(torch.arange(h)[:, None] < switch, 1.0, -1.0)
        goal = (1.5 * sign * torch.where(torch.rand(a, generator=gen) < 0.5, 1.0, -1.0)).to(device)
        optimum = float((goal - goal.clamp(-1, 1)).square().sum())
        return Problem(name, h, a, lambda x: (x - goal).square().sum(dim=(-2, -1)), optimum, True)
    if name == "valley":
        return Problem(name, h, a, _valley, 0.0, True)
    raise ValueError(f"unknown problem {name!r}; known: {', '.join(ANALYTIC + tuple(ORACLE))}")


def _valley(actions: torch.Tensor) -> torch.Tensor:
    """Rosenbrock over x = 2 a flattened; minimum 0 at a = 0.5 everywhere."""
    x = 2 * actions.flatten(-2)
    return (10 * (x[..., 1:] - x[..., :-1].square()).square() + (1 - x[..., :-1]).square()).sum(-1)


def _oracle_problem(name: str, seed: int, device: torch.device, horizon: int) -> Problem:
    from envs import make_env
    from envs.oracle import SimulatorOracle

    env = make_env(ORACLE[name], seed=seed)
    env.reset(seed=seed)
    oracle = SimulatorOracle(env)
    oracle.sync()

    def cost(actions: torch.Tensor) -> torch.Tensor:
        rewards, _ = oracle.rollout(actions.detach().double().cpu().numpy())
        return torch.from_numpy(-rewards.sum(axis=1)).float().to(device)

    def close() -> None:
        oracle.close()
        env.close()

    return Problem(name, horizon, oracle.action_dim, cost, None, False, close)
