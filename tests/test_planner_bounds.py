"""Actions stay in [-1, 1] whatever the cost pulls towards and whatever the warm start."""

import pytest
import torch

from planners import PLANNERS


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_actions_stay_within_bounds(name):
    planner = PLANNERS[name](num_samples=16, iterations=4, seed=0)
    seen = []

    def cost(actions):  # rewards leaving the box: a naive planner would follow it out
        seen.append(actions.detach())
        return -(actions * 5).square().sum(dim=(-2, -1))

    result = planner.plan(cost, torch.full((5, 2), 3.0))  # warm start outside the box
    assert result.actions.abs().max() <= 1.0
    assert all(batch.abs().max() <= 1.0 for batch in seen)
    if name != "random":
        assert result.actions.abs().min() > 0.9  # and it did push to the corners


@pytest.mark.parametrize("bounds", ["clip", "tanh"])
def test_gradient_bounds_modes(bounds):
    planner = PLANNERS["gradient"](num_samples=4, iterations=200, lr=0.1, bounds=bounds)
    goal = torch.tensor([[2.0, -2.0, 0.3]])
    result = planner.plan(lambda a: (a - goal).square().sum(dim=(-2, -1)), torch.zeros(1, 3))
    assert result.actions.abs().max() <= 1.0
    assert torch.allclose(result.actions, goal.clamp(-1, 1), atol=0.05)
