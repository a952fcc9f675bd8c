"""The gradient planners refuse a cost they cannot differentiate, with a clear message."""

import pytest
import torch

from planners import CEMGradient, GradientPlanner


def detached(actions):
    return actions.detach().square().sum(dim=(-2, -1))


def constant(actions):
    return torch.zeros(actions.shape[:-2], requires_grad=True) * 1.0


@pytest.mark.parametrize("cls", [GradientPlanner, CEMGradient])
@pytest.mark.parametrize("cost", [detached, constant])
def test_non_differentiable_cost_is_refused(cls, cost):
    with pytest.raises(ValueError, match="cost is not differentiable"):
        cls(num_samples=8, iterations=2, **({"num_elites": 4} if cls is CEMGradient else {})).plan(
            cost, torch.zeros(3, 2)
        )


def test_works_under_no_grad_and_inference_mode():
    goal = torch.full((3, 2), 0.4)
    planner = GradientPlanner(num_samples=2, iterations=60)
    with torch.inference_mode():
        result = planner.plan(lambda a: (a - goal).square().sum((-2, -1)), torch.zeros(3, 2))
    assert torch.allclose(result.actions, goal, atol=0.05)


def test_gradient_refinement_helps_cem():
    goal = torch.linspace(-0.9, 0.9, 20).reshape(10, 2)

    def cost(a):
        return (a - goal).square().sum((-2, -1))

    options = {"num_samples": 32, "iterations": 4, "num_elites": 4, "seed": 3}
    plain = CEMGradient(grad_steps=0, **options).plan(cost, torch.zeros(10, 2))
    refined = CEMGradient(grad_steps=3, lr=0.1, **options).plan(cost, torch.zeros(10, 2))
    assert refined.cost < 0.2 * plain.cost
    assert refined.info["gradient_evaluations"] == 4 * 4 * 3
