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


@pytest.mark.parametrize(("damage", "message"), [
    ("corrupt resume point", "corrupt resume point"),
    ("another model size", "cannot resume"),
    ("a checkpoint as resume point", "not a resume point"),
    ("corrupt evals", "corrupt .*evals.csv"),
    ("steps below the resume point", "below it"),
])
def test_a_failed_resume_leaves_the_folder_as_it_was(tmp_path, damage, message):
    _start(tmp_path)
    sizes, steps = SMALL, 110
    if damage == "corrupt resume point":
        (tmp_path / "resume.pt").write_bytes(b"not a checkpoint")
    elif damage == "another model size":
        sizes = {**SMALL, "hidden_dim": 24}
    elif damage == "a checkpoint as resume point":
        (tmp_path / "resume.pt").write_bytes((tmp_path / "checkpoint.pt").read_bytes())
    elif damage == "corrupt evals":
        (tmp_path / "evals.csv").write_text("garbage\n1,2\n")
    else:
        steps = 40  # below the resume point at the first episode's end (decision 50)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    run = OnlineRun(tmp_path, dataclasses.replace(CFG, steps=steps), AGENT, TRAIN, sizes)
    with pytest.raises(UserError, match=message):
        run.run(resume=True, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


@pytest.mark.parametrize(("config", "message"), [
    ("[]", "not an object of sections"),
    ('{"run": 5, "agent": {}, "train": {}}', "not an object of sections"),
    ('{"run": {"steps": "abc"}, "agent": {}, "train": {}}', "cannot resume"),
    ('{"run": {}, "train": {}}', "no 'agent' section"),
])
def test_a_run_config_of_the_wrong_shape_is_one_error(tmp_path, config, message):
    _start(tmp_path)
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(UserError, match=message):
        resumed_configs(tmp_path, None)


def test_resume_without_steps_keeps_the_runs_and_zero_is_refused(tmp_path):
    _start(tmp_path)
    assert resumed_configs(tmp_path, None)[0].steps == CFG.steps
    with pytest.raises(UserError, match="steps"):
        resumed_configs(tmp_path, 0)


def test_a_cli_run_records_the_commit_and_machine_it_started_on(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from agent.provenance import commit

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "WMPC_TORCH_THREADS": "1"}
    small = ["--set", "run.seed_steps=60", "--set", "run.pretrain_updates=2", "--set",
             "model.latent_dim=8", "--set", "model.hidden_dim=16", "--set", "train.batch_size=8",
             "--set", "agent.num_elites=4", "--samples", "16", "--iterations", "1",
             "--eval-every", "1000", "--no-progress"]

    def wmpc(*args):
        return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                              capture_output=True, text=True, env=env, timeout=300)

    out = tmp_path / "run"
    ran = wmpc("run", "--env", "point_env:PointMass-v0", "--out", str(out), "--steps", "60",
               *small)
    assert ran.returncode == 0, ran.stderr
    config = load_config(out)
    assert config["commit"] == commit() and config["machine"].startswith("CPU ")
    (out / "config.json").write_text(json.dumps({**config, "commit": "first"}))
    resumed = wmpc("run", "--out", str(out), "--resume", "--steps", "80", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert load_config(out)["commit"] == "first"  # the commit it started from
