"""Training noise: a linear schedule of its std, applied by the online loop, checked on input."""

from __future__ import annotations

import dataclasses

import pytest

from agent.config import AgentConfig, explore_std_at
from agent.online import OnlineRun
from tests.test_agent_loop import AGENT, CFG, SMALL, TRAIN
from tests.test_eval_cli import _wmpc


def test_std_moves_linearly_then_stays():
    cfg = AgentConfig(explore_std=0.5, explore_std_final=0.1, explore_decay_steps=100)
    assert [round(explore_std_at(cfg, s), 6) for s in (0, 50, 100, 1000)] == [0.5, 0.3, 0.1, 0.1]
    default = AgentConfig()
    assert explore_std_at(default, 10**6) == default.explore_std_final < default.explore_std
    instant = AgentConfig(explore_std=0.5, explore_std_final=0.2, explore_decay_steps=0)
    assert explore_std_at(instant, 0) == 0.2


def test_the_loop_plans_with_the_scheduled_noise(tmp_path):
    agent = dataclasses.replace(AGENT, explore_std=0.5, explore_std_final=0.0,
                                explore_decay_steps=100)
    run = OnlineRun(tmp_path / "a", dataclasses.replace(CFG, steps=80), agent, TRAIN, SMALL)
    run.run(resume=False, progress=False)
    assert run.agent.explore_std == pytest.approx(0.5 * (1 - 79 / 100))  # set before decision 79
    run = OnlineRun(tmp_path / "b", dataclasses.replace(CFG, steps=130), agent, TRAIN, SMALL)
    run.run(resume=False, progress=False)
    assert run.agent.explore_std == 0.0


@pytest.mark.parametrize("field", ["explore_std", "explore_std_final", "explore_decay_steps"])
def test_negative_settings_are_refused(field):
    with pytest.raises(ValueError, match=field):
        AgentConfig(**{field: -1})


def test_cli_refuses_negative_noise_in_one_line(tmp_path):
    done = _wmpc("run", "--env", "point_env:PointMass-v0", "--out", str(tmp_path / "r"),
                 "--set", "agent.explore_std_final=-0.1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wmpc: error: bad setting: explore_std_final must be >= 0, got -0.1"]
    assert not (tmp_path / "r").exists()
