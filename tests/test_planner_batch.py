"""A batch of B problems in one call: each gets its own optimum; the cost sees (B, N, H, A)."""

import pytest
import torch

from planners import PLANNERS

OPTIONS = {
    "cem": {"num_samples": 64, "iterations": 20, "num_elites": 8},
    "icem": {"num_samples": 64, "iterations": 20, "num_elites": 8},
    "mppi": {"num_samples": 64, "iterations": 30, "num_elites": 8},
    "gradient": {"num_samples": 4, "iterations": 100},
    "cem-gradient": {"num_samples": 32, "iterations": 8, "num_elites": 8, "grad_steps": 3},
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_batch_solves_each_problem(name):
    goals = torch.stack([torch.full((4, 2), v) for v in (-0.6, 0.0, 0.7)])  # (B, H, A)
    shapes = []

    def cost(actions):
        shapes.append(tuple(actions.shape))
        return (actions - goals[:, None]).square().sum(dim=(-2, -1))

    result = PLANNERS[name](**OPTIONS[name]).plan(cost, torch.zeros(3, 4, 2))
    assert result.actions.shape == (3, 4, 2)
    assert result.cost.shape == (3,)
    assert all(s[0] == 3 and s[2:] == (4, 2) for s in shapes)
    assert (result.actions - goals).abs().max() < 0.1
    assert torch.allclose(result.cost, cost(result.actions[:, None])[:, 0])


def test_batch_matches_shapes_of_info():
    planner = PLANNERS["cem"](num_samples=16, iterations=3, num_elites=4)
    batched = planner.plan(lambda a: a.square().sum((-2, -1)), torch.zeros(2, 5, 3))
    single = planner.plan(lambda a: a.square().sum((-2, -1)), torch.zeros(5, 3))
    assert batched.info["cost_history"].shape == (2, 3)
    assert single.info["cost_history"].shape == (3,)
    assert batched.info["elites"].shape == (2, 4, 5, 3)
    assert single.info["mean"].shape == (5, 3)
    assert isinstance(single.cost, float)
