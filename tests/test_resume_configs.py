"""Resuming uses the run's own saved configs, and a failed resume changes nothing on disk."""

from __future__ import annotations

import dataclasses

import pytest

from agent.config import AgentConfig, RunConfig
from agent.online import OnlineRun
from agent.runs import load_config, resumed_configs
from envs.errors import UserError
from world_model.train import TrainConfig

CFG = RunConfig(env_id="point_env:PointMass-v0", steps=75, seed=1, seed_steps=60,
                pretrain_updates=3, updates_per_step=1.0, eval_every=1000, eval_episodes=1)
AGENT = AgentConfig(horizon=2, num_samples=16, iterations=2, num_elites=4)
TRAIN = TrainConfig(batch_size=8, horizon=2)
SMALL = {"latent_dim": 8, "hidden_dim": 16, "ensemble_size": 3}  # none of them a default


def _start(out):
    OnlineRun(out, CFG, AGENT, TRAIN, SMALL).run(resume=False, progress=False)


def test_resume_rebuilds_the_model_the_run_saved(tmp_path):
    _start(tmp_path)
    cfg, agent_cfg, train_cfg, overrides, _ = resumed_configs(tmp_path, 110)
    assert {k: overrides[k] for k in SMALL} == SMALL
    run = OnlineRun(tmp_path, cfg, agent_cfg, train_cfg, overrides)
    assert run.run(resume=True, progress=False)["step"] == 110
    assert load_config(tmp_path)["run"]["steps"] == 110


@pytest.mark.parametrize("damage", ["corrupt resume point", "another model size"])
def test_a_failed_resume_leaves_the_folder_as_it_was(tmp_path, damage):
    _start(tmp_path)
    sizes = SMALL
    if damage == "corrupt resume point":
        (tmp_path / "resume.pt").write_bytes(b"not a checkpoint")
    else:
        sizes = {**SMALL, "hidden_dim": 24}
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    run = OnlineRun(tmp_path, dataclasses.replace(CFG, steps=110), AGENT, TRAIN, sizes)
    with pytest.raises(UserError):
        run.run(resume=True, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
