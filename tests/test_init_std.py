"""The agent's `init_std` reaches the planner, and a wide start escapes the local minimum at the
warm start that a narrow one stays in (the cartpole pole left hanging; see RESULTS.md);
evaluations plan from `eval_init_std`."""


import pytest
import torch

from agent.build import make_planner
from agent.config import AgentConfig

H, A = 3, 1


def well_at_the_bound(actions: torch.Tensor) -> torch.Tensor:
    """(..., H, A) -> (...): a bowl at 0 (cost 0) and a narrow, deeper well at a = -1 (cost -1):
    the swing the critic rewards only once it is pushed all the way."""
    bowl = actions.square().mean(dim=(-2, -1))
    well = torch.exp(-(actions + 1).square().sum(dim=(-2, -1)) / (2 * 0.15**2))
    return bowl - 2 * well


@pytest.mark.parametrize("planner", ["mppi", "cem", "icem"])
def test_a_wide_start_finds_the_well_a_narrow_one_misses(planner):
    def best(init_std, seed):
        cfg = AgentConfig(planner=planner, num_samples=64, iterations=4, num_elites=8,
                          init_std=init_std)
        result = make_planner(cfg, "cpu", seed).plan(well_at_the_bound, torch.zeros(H, A))
        return float(well_at_the_bound(result.actions))

    narrow = [best(0.5, seed) for seed in range(5)]
    wide = [best(2.0, seed) for seed in range(5)]
    assert all(cost > -0.5 for cost in narrow), narrow
    assert all(cost < -0.9 for cost in wide), wide


def test_none_keeps_each_planners_own_start():
    assert make_planner(AgentConfig(), "cpu", 0).config.init_std == 0.5
    assert make_planner(AgentConfig(planner="gradient"), "cpu", 0).config.init_std == 0.3
    assert make_planner(AgentConfig(init_std=2.0), "cpu", 0).config.init_std == 2.0


@pytest.mark.parametrize("name", ["init_std", "eval_init_std"])
def test_a_start_std_that_is_not_positive_is_refused(name):
    with pytest.raises(ValueError, match=name):
        AgentConfig(**{name: 0.0})


def test_evaluations_start_from_eval_init_std_or_else_as_training():
    assert make_planner(AgentConfig().for_evaluation(), "cpu", 0).config.init_std == 2.0
    assert AgentConfig(init_std=0.7, eval_init_std=None).for_evaluation().init_std == 0.7
    assert AgentConfig(init_std=0.7, eval_init_std=1.5).for_evaluation().init_std == 1.5
