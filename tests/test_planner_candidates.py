"""Injected candidate sequences join the population: a perfect one is returned."""

import pytest
import torch

from planners import PLANNERS


def needle(goal):
    """Flat far from goal, so random samples learn nothing; zero exactly at goal."""
    return lambda a: 1.0 - torch.exp(-200 * (a - goal).square().sum(dim=(-2, -1)))


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_perfect_candidate_is_returned(name):
    goal = torch.tensor([[0.9, -0.9], [0.5, 0.1], [-0.7, 0.2]])
    junk = torch.zeros(3, 3, 2)
    candidates = torch.cat([junk, goal[None]])  # (M=4, H, A)
    result = PLANNERS[name](num_samples=16, iterations=3, seed=0).plan(
        needle(goal), torch.zeros(3, 2), candidates=candidates
    )
    assert torch.allclose(result.actions, goal, atol=1e-6)
    assert result.cost < 1e-6


def test_candidates_per_problem_in_a_batch():
    goals = torch.tensor([0.8, -0.8])[:, None, None].expand(2, 3, 2)
    candidates = torch.stack([torch.stack([goals[0], goals[1]]), torch.stack([goals[1], goals[0]])])

    def cost(a):
        return 1.0 - torch.exp(-200 * (a - goals[:, None]).square().sum(dim=(-2, -1)))

    result = PLANNERS["mppi"](num_samples=8, iterations=2).plan(
        cost, torch.zeros(2, 3, 2), candidates=candidates
    )
    assert torch.allclose(result.actions, goals)


def test_candidates_with_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="candidates must have shape"):
        PLANNERS["cem"](num_samples=8, iterations=1).plan(
            lambda a: a.sum((-2, -1)), torch.zeros(3, 2), candidates=torch.zeros(4, 2, 2)
        )
