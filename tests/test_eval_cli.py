"""`wmpc eval` and `wmpc run`: the JSON contract, and bad input as one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.config import AgentConfig, RunConfig
from agent.online import OnlineRun
from world_model.train import TrainConfig

TESTS = Path(__file__).parent


def _wmpc(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(TESTS), "MUJOCO_GL": "egl"}
    code = "from agent.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = RunConfig(env_id="point_env:PointMass-v0", steps=60, seed_steps=50, pretrain_updates=3,
                    eval_every=60, eval_episodes=1)
    OnlineRun(out, cfg, AgentConfig(num_samples=16, iterations=2, num_elites=4),
              TrainConfig(batch_size=8, horizon=2),
              {"latent_dim": 8, "hidden_dim": 16, "ensemble_size": 2}).run(False, False)
    from agent.runs import save_config

    save_config(out, {"agent": {"num_samples": 16, "iterations": 2, "num_elites": 4}})
    return out


def test_eval_writes_the_json_contract(tiny_run, tmp_path):
    result = _wmpc("eval", "--run", str(tiny_run), "--env", "point_env:PointMass-v0",
                   "--episodes", "2", "--json", str(tmp_path / "e.json"))
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "e.json").read_text())
    assert set(data) == {"env", "returns", "mean_return", "success_rate", "planner",
                         "steps_per_episode"}
    assert len(data["returns"]) == 2 and data["steps_per_episode"] == 50
    assert data["planner"] == "mppi" and data["success_rate"] in (0.0, 0.5, 1.0)


@pytest.mark.parametrize("args, words", [
    (["eval", "--run", "RUN", "--env", "dm_control/cartpole-balance-v0"], "trained for"),
    (["eval", "--run", "/nonexistent/run", "--env", "point_env:PointMass-v0"], "not found"),
    (["run", "--env", "point_env:PointMass-v0", "--out", "RUN", "--steps", "5"], "already holds"),
    (["run", "--env", "NoSuchEnv-v9", "--out", "NEW", "--steps", "5"], "unknown env id"),
    (["run", "--out", "RUN", "--resume"], "no resumable"),
    (["run", "--env", "point_env:PointMass-v0", "--out", "NEW", "--device", "gpu"],
     "not a torch device"),
    (["eval", "--run", "RUN", "--env", "point_env:PointMass-v0", "--init-std", "0"],
     "init_std must be > 0"),
    (["eval", "--run", "RUN", "--env", "point_env:PointMass-v0", "--device", "mps"],
     "cpu or cuda"),
    (["eval", "--run", "RUN", "--env", "point_env:PointMass-v0", "--device", "cuda:99"],
     "CUDA"),
    (["eval", "--run", "RUN", "--episodes", "4", "--num-envs", "3"], "divide --episodes"),
    (["eval", "--run", "RUN", "--num-envs", "0"], "--num-envs must be positive"),
    (["eval", "--oracle", "--env", "point_env:PointMass-v0", "--episodes", "2", "--num-envs",
      "2"], "the oracle and --video"),
    (["eval", "--run", "RUN", "--env", "point_env:PointMass-v0", "--episodes", "2", "--num-envs",
      "2", "--goal", "[0, 0, 0, 0, 0, 0]"], "--goal none"),
    (["collect", "--env", "point_env:PointMass-v0", "--steps", "10", "--num-envs", "3", "--out",
      "NEW"], "divide --steps"),
    (["run", "--bogus"], "No such option: --bogus"),
    (["collect", "--env", "point_env:PointMass-v0", "--steps", "ten", "--out", "NEW"],
     "Invalid value for '--steps'"),
    (["eval", "--run", "RUN", "--episodes"], "requires an argument"),
])
def test_bad_input_is_one_clear_line(tiny_run, tmp_path, args, words):
    args = [str(tiny_run) if a == "RUN" else str(tmp_path / "new") if a == "NEW" else a
            for a in args]
    before = sorted(p.name for p in tiny_run.iterdir())
    result = _wmpc(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr
    assert sorted(p.name for p in tiny_run.iterdir()) == before


def test_eval_in_rounds_of_envs_in_other_processes(tiny_run, tmp_path):
    result = _wmpc("eval", "--run", str(tiny_run), "--env", "point_env:PointMass-v0",
                   "--episodes", "4", "--num-envs", "2", "--goal", "none",
                   "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "r.json").read_text())
    assert len(summary["returns"]) == 4 and summary["steps_per_episode"] == 50
    assert summary["success_rate"] is not None  # the env's info["success"] through the workers


@pytest.mark.parametrize("num_envs", [1, 2])
def test_collect_with_a_trained_run_plans_for_every_env(tiny_run, tmp_path, num_envs):
    import minari

    out = tmp_path / "data"
    result = _wmpc("collect", "--policy", str(tiny_run), "--env", "point_env:PointMass-v0",
                   "--steps", "120", "--num-envs",
                   str(num_envs), "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    dataset = minari.MinariDataset(out / "data")
    assert dataset.storage.metadata["policy"] == f"agent:{tiny_run}"  # the run's agent planned
    episodes = list(dataset.iterate_episodes())
    assert sum(len(e.actions) for e in episodes) == 120
    assert all(np.abs(e.actions).max() <= 1.0 + 1e-6 and np.isfinite(e.actions).all()
               for e in episodes)
