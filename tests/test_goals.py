"""Goal reaching: goal parsing, goal energies, the true goal points, `wmpc eval --goal`.

The learning test trains a world model on reward-free random data of `GoalPointMass-v0`
(tests/goal_point_env.py) and plans to each episode's own goal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agent.cost import Imagined
from agent.goals import GoalCost, GoalPoints, parse_goal, resolve_goal
from envs import make_env
from envs.errors import UserError
from envs.oracle import SimulatorOracle

TESTS = Path(__file__).parent
GOAL_ENV = "goal_point_env:GoalPointMass-v0"
TASK_ENV = "goal_point_env:TaskPointMass-v0"


def _wmpc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MUJOCO_GL="egl", PYTHONPATH=f"{TESTS}{os.pathsep}"
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_parse_goal_forms(tmp_path):
    assert parse_goal("env") == "env"
    np.testing.assert_array_equal(parse_goal("[1, 2.5]"), np.array([1, 2.5], np.float32))
    np.save(tmp_path / "g.npy", np.arange(3.0))
    np.testing.assert_array_equal(parse_goal(str(tmp_path / "g.npy")), np.arange(3.0))
    for bad in ("[]", "[1, \"a\"]", "[1, NaN]", "{", "nonsense", str(tmp_path / "missing.npy"),
                "dataset:x:1", "dataset:/no/such/data:0:0"):
        with pytest.raises(UserError):
            parse_goal(bad)


def test_resolve_goal_sizes():
    env = make_env(GOAL_ENV)
    assert resolve_goal(None, [env], GOAL_ENV).kind == "env"
    spec = resolve_goal(np.zeros(2, np.float32), [env], GOAL_ENV)
    assert spec.kind == "goal_space" and spec.goal_slice == slice(0, 2)
    assert resolve_goal(np.zeros(8, np.float32), [env], GOAL_ENV).kind == "observation"
    with pytest.raises(UserError, match="needs 8 .* or 2"):
        resolve_goal(np.zeros(3, np.float32), [env], GOAL_ENV)
    plain = make_env("point_env:PointMass-v0")
    assert resolve_goal(None, [plain], "PointMass") is None
    with pytest.raises(UserError, match="no goals of its own"):
        resolve_goal("env", [plain], "PointMass")


def test_episode_goals_read_at_reset_per_env_and_task():
    envs = [make_env(TASK_ENV, seed=0) for _ in range(2)]
    infos = [env.reset(seed=seed)[1] for env, seed in zip(envs, (0, 3), strict=True)]
    assert [info["task_id"] for info in infos] == [1, 4]  # seed % 5 + 1
    spec = resolve_goal(None, envs, TASK_ENV)
    assert spec.kind == "episode" and spec.env_judges_success and spec.whole_observation
    obs = np.zeros((2, 4), np.float32)
    want = np.stack([info["goal"] for info in infos])
    np.testing.assert_array_equal(spec.targets(obs), want)
    np.testing.assert_array_equal(spec.targets(obs[0]), want[0])
    assert envs[0].reset(seed=0, options={"task_id": 5})[1]["task_id"] == 5
    np.testing.assert_array_equal(spec.targets(obs)[0], envs[0].get_wrapper_attr("episode_goal"))


def test_cli_eval_reads_the_env_goal_of_each_episode(tmp_path):
    result = _wmpc("eval", "--env", TASK_ENV, "--planner", "random", "--episodes", "5",
                   "--json", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["goal"] == "episode" and summary["success_rate"] is not None


def test_a_run_folder_remembers_its_env_for_eval_and_collect(tmp_path):
    small = ["--set", "run.seed_steps=60", "--set", "run.pretrain_updates=2", "--set",
             "model.latent_dim=8", "--set", "model.hidden_dim=16", "--set", "train.batch_size=8",
             "--set", "agent.num_elites=4", "--samples", "16", "--iterations", "1",
             "--eval-every", "1000", "--no-progress"]
    ran = _wmpc("run", "--env", GOAL_ENV, "--out", "run", "--steps", "80", *small, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "run" / "dataset").is_dir()
    result = _wmpc("eval", "--run", "run", "--episodes", "2", "--json", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["env"] == GOAL_ENV and summary["goal"] == "env"
    assert (tmp_path / "run" / "goal_map.pt").is_file()  # fitted on RUN/dataset/
    collected = _wmpc("collect", "--policy", "run", "--steps", "20", "--out", "more",
                      "--no-progress", cwd=tmp_path)
    assert collected.returncode == 0, collected.stderr
    assert GOAL_ENV in collected.stdout
    bare = _wmpc("collect", "--steps", "20", "--out", "none", cwd=tmp_path)
    assert bare.returncode == 2 and "give --env" in bare.stderr.strip().splitlines()[-1]


def test_goal_cost_modes_and_batched_targets():
    # one problem, 2 sequences, H = 3, points on a line; target at 1.0
    points = torch.tensor([[0.0, 2.0, 5.0, 3.0], [0.0, 1.5, 1.2, 0.0]]).unsqueeze(-1)
    im = Imagined(torch.zeros(2, 3, 1), torch.zeros(2, 3), torch.ones(2, 3), torch.ones(2), points)
    expected = {"end": [2.0, 1.0], "min": [1.0, 0.2], "sum": [7.0, 1.7]}
    for mode, want in expected.items():
        cost = GoalCost(mode)
        cost.aim(torch.tensor([1.0]))
        torch.testing.assert_close(cost(im), torch.tensor(want))
    batched = Imagined(torch.zeros(2, 2, 3, 1), torch.zeros(2, 2, 3), torch.ones(2, 2, 3),
                       torch.ones(2, 2), torch.stack([points, points]))
    cost = GoalCost("end", project=lambda z: 2 * z)
    cost.aim(torch.tensor([[0.0], [4.0]]))
    torch.testing.assert_close(cost(batched), torch.tensor([[6.0, 0.0], [2.0, 4.0]]))
    with pytest.raises(ValueError):
        GoalCost("median")


def test_true_goal_points_match_the_env_and_leave_it_alone():
    env = make_env("PointMaze_UMaze-v3", seed=1, action_repeat=2)
    obs, _ = env.reset(seed=1)
    layout = env.get_wrapper_attr("goal_layout")
    oracle = SimulatorOracle(env)
    oracle.sync()
    sim = GoalPoints(oracle, layout["achieved_goal"])
    actions = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (3, 4, 2)),
                              dtype=torch.float32)
    points = sim(actions).latents
    assert points.shape == (3, 5, 2)
    for h in range(4):
        obs, *_ = env.step(actions[2, h].numpy())
        np.testing.assert_allclose(points[2, h + 1].numpy(), obs[layout["achieved_goal"]],
                                   atol=1e-6)
    oracle.sync()
    before = sim(actions[:1]).latents
    np.testing.assert_array_equal(sim(actions[:1]).latents, before)


def test_cli_bad_goal_is_one_line(tmp_path):
    cases = [(["--env", GOAL_ENV, "--oracle", "--goal", "[1, 2, 3]"], "needs 8"),
             (["--env", "point_env:PointMass-v0", "--planner", "random", "--goal", "env"],
              "no goals of its own"),
             (["--env", GOAL_ENV, "--planner", "random", "--goal-energy", "median"],
              "--goal-energy")]
    for args, expected in cases:
        result = _wmpc("eval", *args, "--episodes", "1", cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and expected in lines[0], result.stderr


@pytest.mark.slow
def test_reward_free_model_reaches_goals_far_more_often_than_random(tmp_path):
    assert _wmpc("collect", "--env", GOAL_ENV, "--steps", "4000", "--out", str(tmp_path / "data"),
                 "--no-progress", cwd=tmp_path).returncode == 0
    trained = _wmpc("train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                    "--steps", "1500", "--batch-size", "64", "--latent-dim", "16", "--hidden-dim",
                    "64", "--ensemble", "2", "--eval-every", "500", "--no-progress", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    common = ["--env", GOAL_ENV, "--episodes", "20", "--seed", "7"]
    model = _wmpc("eval", *common, "--run", "run", "--planner", "cem", "--horizon", "10",
                  "--samples", "128", "--iterations", "3", "--json", "model.json", cwd=tmp_path)
    assert model.returncode == 0, model.stderr
    rand = _wmpc("eval", *common, "--planner", "random", "--json", "random.json", cwd=tmp_path)
    assert rand.returncode == 0, rand.stderr
    model_rate = json.loads((tmp_path / "model.json").read_text())["success_rate"]
    random_rate = json.loads((tmp_path / "random.json").read_text())["success_rate"]
    assert model_rate >= 0.5 and model_rate >= random_rate + 0.3, (model_rate, random_rate)
    assert (tmp_path / "run" / "goal_map.pt").is_file()
    frame = parse_goal(f"dataset:{tmp_path / 'data'}:3:10")
    assert frame.shape == (8,)
    observed = _wmpc("eval", *common[:2], "--episodes", "2", "--run", "run", "--planner", "cem",
                     "--samples", "32", "--iterations", "2", "--goal",
                     f"dataset:{tmp_path / 'data'}:3:10", "--json", "frame.json", cwd=tmp_path)
    assert observed.returncode == 0, observed.stderr
    summary = json.loads((tmp_path / "frame.json").read_text())
    assert summary["goal"].startswith("dataset:") and 0.0 <= summary["success_rate"] <= 1.0


def test_goals_benchmark_quick_smoke(tmp_path):
    from benchmarks.goals import main

    rows = main(["--quick", "--tasks", "umaze,reacher-v5", "--out", str(tmp_path)])
    assert {(r["task"], r["method"]) for r in rows} == {
        (t, m) for t in ("umaze", "reacher-v5") for m in ("random", "oracle", "model")}
    assert {r["energy"] for r in rows if r["method"] != "random"} == {"min", "sum"}
    assert all(0.0 <= r["success_rate"] <= 1.0 for r in rows)
    assert (tmp_path / "goals_quick.csv").is_file() and (tmp_path / "goals_quick.png").is_file()
