"""The online loop on a tiny env: step counters, eval cadence, checkpoints, exact resume, with one
env and with several stepped at once."""

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


def returns(out):
    """(step, returns) of each evaluation: what must match between runs (not wall time)."""
    return [(row["step"], row["returns"]) for row in read_evals(out)]


def _run(out, steps, resume=False, **changes):
    run = OnlineRun(out, dataclasses.replace(CFG, steps=steps, **changes), AGENT, TRAIN, SMALL)
    return run, run.run(resume=resume, progress=False)


def test_counters_eval_cadence_and_outputs(tmp_path):
    run, summary = _run(tmp_path, 130)
    assert summary["step"] == 130 == run.state.step
    assert run.state.episode == 3  # episodes started: two whole 50-step ones, a third unfinished
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
    assert returns(tmp_path / "split") == returns(tmp_path / "whole")
    assert resumed.trainer.step == whole.trainer.step
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_vector_envs_count_every_decision_and_plan_as_one_batch(tmp_path):
    run, summary = _run(tmp_path, 130, num_envs=2)
    assert summary["step"] == 130 and run.state.step == 130
    assert run.buffer.num_episodes == 2  # both envs' first 50-step episodes ended at 100
    assert run.state.episode == 4
    assert [row["step"] for row in read_evals(tmp_path)] == [40, 80, 120, 130]
    # learning starts with the first whole episode (decision 100), then 1 update per decision
    assert run.trainer.step == CFG.pretrain_updates + (130 - 100 + 2)
    with pytest.raises(ValueError, match="multiple of num_envs"):
        RunConfig(env_id=ENV, steps=131, num_envs=2)


def test_vector_envs_resume_exactly_with_episodes_cut_at_env_0s_end(tmp_path):
    counter = dict(env_id="toy_plugin:Counter-v0", env_kwargs={"random_length": True},
                   num_envs=3, seed_steps=30, eval_every=30)
    whole, _ = _run(tmp_path / "whole", 90, **counter)
    lengths = [whole.buffer.episode(i)["act"].shape[0] for i in range(whole.buffer.num_episodes)]
    assert len(set(lengths)) > 1  # episodes of several lengths: some were cut or ended early
    _run(tmp_path / "split", 48, **counter)
    resumed, _ = _run(tmp_path / "split", 90, resume=True, **counter)
    assert returns(tmp_path / "split") == returns(tmp_path / "whole")
    assert resumed.buffer.num_episodes == whole.buffer.num_episodes
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
