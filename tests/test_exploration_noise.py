"""Noise that explores: the planner's own (coloured sampling noise; the start std `init_std`, and
`eval_init_std` for evaluations) and the Gaussian noise on executed actions while training (a
linear schedule of its std, applied by the online loop, checked on input).

A wide start escapes the local minimum at the warm start that a narrow one stays in (the cartpole
pole left hanging; docs/ablations.md, "Planner start std at evaluation")."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from agent.build import make_planner
from agent.config import AgentConfig, explore_std_at
from agent.online import OnlineRun
from planners import colored_noise
from tests.test_agent_loop import AGENT, CFG, SMALL, TRAIN
from tests.test_eval_cli import _wmpc

# --- coloured sampling noise: unit variance, zero mean, spectrum slope -beta along time -----

@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_spectrum_slope_and_unit_variance(beta):
    generator = torch.Generator().manual_seed(0)
    noise = colored_noise(beta, (2000, 128, 1), generator=generator, device="cpu")[..., 0]
    assert noise.shape == (2000, 128)
    assert noise.var().item() == pytest.approx(1.0, abs=0.05)
    assert noise.mean().abs().item() < 0.05
    power = torch.fft.rfft(noise, dim=-1).abs().square().mean(dim=0)[1:-1]
    freqs = torch.fft.rfftfreq(128)[1:-1]
    x, y = freqs.log(), power.log()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / (x - x.mean()).square().sum()
    assert slope.item() == pytest.approx(-beta, abs=0.1)


def test_same_generator_state_same_noise_and_time_axis_is_minus_two():
    first = colored_noise(2.0, (3, 50, 4), generator=torch.Generator().manual_seed(1), device="cpu")
    again = colored_noise(2.0, (3, 50, 4), generator=torch.Generator().manual_seed(1), device="cpu")
    assert torch.equal(first, again)
    lag_time = (first * first.roll(1, dims=-2)).mean()
    lag_action = (first * first.roll(1, dims=-1)).mean()
    assert lag_time > 0.6 and lag_action.abs() < 0.2  # smooth in time only


def test_bad_colored_noise_arguments():
    with pytest.raises(ValueError):
        colored_noise(-1.0, (4, 2), generator=torch.Generator(), device="cpu")
    with pytest.raises(ValueError):
        colored_noise(1.0, (4,), generator=torch.Generator(), device="cpu")


# --- the planner's start std ----------------------------------------------------------------

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


# --- training noise on executed actions: its schedule --------------------------------------

def test_training_noise_std_moves_linearly_then_stays():
    cfg = AgentConfig(explore_std=0.5, explore_std_final=0.1, explore_decay_steps=100)
    assert [round(explore_std_at(cfg, s), 6) for s in (0, 50, 100, 1000)] == [0.5, 0.3, 0.1, 0.1]
    default = AgentConfig()
    assert explore_std_at(default, 10**6) == default.explore_std_final < default.explore_std
    instant = AgentConfig(explore_std=0.5, explore_std_final=0.2, explore_decay_steps=0)
    assert explore_std_at(instant, 0) == 0.2


def test_the_loop_acts_with_the_scheduled_noise(tmp_path):
    agent = dataclasses.replace(AGENT, explore_std=0.5, explore_std_final=0.0,
                                explore_decay_steps=100)
    run = OnlineRun(tmp_path / "a", dataclasses.replace(CFG, steps=80), agent, TRAIN, SMALL)
    run.run(resume=False, progress=False)
    assert run.agent.explore_std == pytest.approx(0.5 * (1 - 79 / 100))  # set before decision 79
    run = OnlineRun(tmp_path / "b", dataclasses.replace(CFG, steps=130), agent, TRAIN, SMALL)
    run.run(resume=False, progress=False)
    assert run.agent.explore_std == 0.0


@pytest.mark.parametrize("field", ["explore_std", "explore_std_final", "explore_decay_steps"])
def test_negative_training_noise_settings_are_refused(field):
    with pytest.raises(ValueError, match=field):
        AgentConfig(**{field: -1})


def test_cli_refuses_negative_noise_in_one_line(tmp_path):
    done = _wmpc("run", "--env", "point_env:PointMass-v0", "--out", str(tmp_path / "r"),
                 "--set", "agent.explore_std_final=-0.1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wmpc: error: bad setting: explore_std_final must be >= 0, got -0.1"]
    assert not (tmp_path / "r").exists()
