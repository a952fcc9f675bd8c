"""Every planner finds the known minimum of seeded analytic costs, inside and on the bounds, and
beats random shooting given the same number of cost evaluations."""

import pytest
import torch

from planners import CEM, ICEM, MPPI, CEMGradient, GradientPlanner, RandomShooting

H, A = 6, 2


def make(name: str, seed: int = 0):
    return {
        "cem": lambda: CEM(num_samples=64, iterations=30, num_elites=8, seed=seed),
        "icem": lambda: ICEM(num_samples=96, iterations=60, num_elites=8, seed=seed),  # decays
        "mppi": lambda: MPPI(num_samples=64, iterations=30, num_elites=8, seed=seed),
        "gradient": lambda: GradientPlanner(num_samples=8, iterations=100, seed=seed),
        "cem-gradient": lambda: CEMGradient(
            num_samples=64, iterations=10, num_elites=8, grad_steps=3, seed=seed
        ),
    }[name]()


NAMES = ["cem", "icem", "mppi", "gradient", "cem-gradient"]


def target(scale: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(H, A, generator=generator) * 2 - 1) * scale


def quadratic(goal: torch.Tensor):
    return lambda actions: (actions - goal).square().sum(dim=(-2, -1))


def valley(actions: torch.Tensor) -> torch.Tensor:
    """Rosenbrock over the flattened sequence, x = 2 a; minimum 0 at a = 0.5 everywhere."""
    x = 2 * actions.flatten(-2)
    return (10 * (x[..., 1:] - x[..., :-1].square()).square() + (1 - x[..., :-1]).square()).sum(-1)


@pytest.mark.parametrize("name", NAMES)
def test_reaches_interior_minimum(name):
    goal = target(0.8, seed=1)
    result = make(name).plan(quadratic(goal), torch.zeros(H, A))
    assert (result.actions - goal).abs().max() < 0.1
    assert result.cost < 0.02
    assert result.cost == pytest.approx(float(quadratic(goal)(result.actions)), rel=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_reaches_minimum_on_the_bound(name):
    steps = torch.where(torch.arange(H) < H // 2, 1.5, -1.5)  # outside [-1, 1], switching once
    goal = torch.stack([steps, -steps], dim=-1)
    result = make(name).plan(quadratic(goal), torch.zeros(H, A))
    assert result.actions.abs().max() <= 1.0
    assert (result.actions - goal.clamp(-1, 1)).abs().max() < 0.1


@pytest.mark.parametrize("name", NAMES)
def test_beats_random_shooting_at_equal_budget(name):
    wins = 0
    for seed in range(3):
        result = make(name, seed).plan(valley, torch.zeros(H, A))
        # a gradient step costs about a forward and a backward pass: count it as 3 evaluations
        budget = result.info["evaluations"] + 2 * result.info["gradient_evaluations"]
        baseline = RandomShooting(num_samples=budget, iterations=1, seed=seed).plan(
            valley, torch.zeros(H, A)
        )
        wins += result.cost < 0.5 * baseline.cost
    assert wins == 3
