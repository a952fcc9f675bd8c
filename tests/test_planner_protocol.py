"""Protocol edges: bad options and inputs are refused clearly; `graphed` falls back on CPU."""

import pytest
import torch

from planners import CEM, ICEM, MPPI, PLANNERS, GradientPlanner, PlanResult


def cost(actions):
    return (actions - 0.5).square().sum(dim=(-2, -1))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: CEM(num_samples=8, num_elites=9), "num_elites"),
        (lambda: CEM(num_samples=1), "num_samples"),
        (lambda: MPPI(temperature=0.0), "temperature"),
        (lambda: CEM(init_std=0.0), "init_std"),
        (lambda: MPPI(init_std=0.1, min_std=0.2), "min_std"),
        (lambda: CEM(momentum=1.0), "momentum"),
        (lambda: ICEM(decay=0.5), "decay"),
        (lambda: GradientPlanner(bounds="wrap"), "bounds"),
    ],
)
def test_bad_options_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_option_and_bad_seed_raise_type_error():
    with pytest.raises(TypeError, match="unknown option"):
        CEM(samples=8)
    with pytest.raises(TypeError, match="seed"):
        CEM(seed="0")


def test_bad_inputs_are_refused():
    planner = CEM(num_samples=8, num_elites=2, iterations=1)
    with pytest.raises(ValueError, match="init_mean must have shape"):
        planner.plan(cost, torch.zeros(3))
    with pytest.raises(ValueError, match="cost_fn must map"):
        planner.plan(lambda a: a.sum(-1), torch.zeros(3, 2))


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_graphed_falls_back_to_eager_on_cpu(name):
    options = {"num_samples": 16, "iterations": 3, "seed": 4}
    eager = PLANNERS[name](**options)
    graphed = PLANNERS[name](**options).graphed(cost, torch.zeros(2, 4, 2))
    assert not graphed.captured
    for _ in range(2):
        init = torch.rand(2, 4, 2)
        want, got = eager.plan(cost, init), graphed(init)
        assert isinstance(got, PlanResult)
        assert torch.equal(want.actions, got.actions)
        assert torch.equal(want.cost, got.cost)
    with pytest.raises(ValueError, match="captured for init_mean"):
        graphed(torch.zeros(4, 2))
