"""The online loop on a tiny env: step counters, eval cadence, checkpoints, exact resume."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from agent.config import AgentConfig, RunConfig
from agent.online import OnlineRun
from agent.runs import read_evals
from world_model import load_world_model
from world_model.train import TrainConfig

ENV = "point_env:PointMass-v0"
CFG = RunConfig(env_id=ENV, steps=130, seed=3, seed_steps=60, pretrain_updates=5,
                updates_per_step=1.0, eval_every=40, eval_episodes=2)
AGENT = AgentConfig(horizon=2, num_samples=16, iterations=2, num_elites=4)
TRAIN = TrainConfig(batch_size=8, horizon=2)
SMALL = {"latent_dim": 8, "hidden_dim": 16, "ensemble_size": 2}


def _run(out, steps, resume=False, **changes):
    run = OnlineRun(out, dataclasses.replace(CFG, steps=steps, **changes), AGENT, TRAIN, SMALL)
    return run, run.run(resume=resume, progress=False)


def test_counters_eval_cadence_and_outputs(tmp_path):
    run, summary = _run(tmp_path, 130)
    assert summary["step"] == 130 == run.state.step
    assert run.state.episode == 2  # two whole 50-step episodes; the third is unfinished
    assert run.buffer.num_episodes == 2
    assert [row["step"] for row in read_evals(tmp_path)] == [40, 80, 120, 130]
    assert run.trainer.step == CFG.pretrain_updates + (130 - CFG.seed_steps + 1)
    model = load_world_model(tmp_path)
    assert model.env_id == ENV
    assert (tmp_path / "resume.pt").exists() and any((tmp_path / "tb").iterdir())
    assert (tmp_path / "dataset" / "data" / "metadata.json").exists()


@pytest.mark.parametrize("eval_every", [40, 50])  # 50: an evaluation at the resume point itself
def test_resume_reproduces_an_uninterrupted_run(tmp_path, eval_every):
    whole, _ = _run(tmp_path / "whole", 130, eval_every=eval_every)
    _run(tmp_path / "split", 75, eval_every=eval_every)  # resume point: the episode end at 50
    resumed, _ = _run(tmp_path / "split", 130, resume=True, eval_every=eval_every)
    def returns(out):
        return [(row["step"], row["returns"]) for row in read_evals(out)]

    assert returns(tmp_path / "split") == returns(tmp_path / "whole")
    assert resumed.trainer.step == whole.trainer.step
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
