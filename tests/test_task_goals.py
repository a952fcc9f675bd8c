"""Task goals (`envs.targets`): the reachers' target beside their reward, read by the task spec,
tested by the env's own geometry, judged at the last step, and planned to by `wmpc eval`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from agent.evaluate import run_episodes
from agent.goals import resolve_goal
from envs import make_env
from envs.conventions import convention_for

DM_REACHER = "dm_control/reacher-easy-v0"


def _wmpc(*args: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, MUJOCO_GL="egl")
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def _put_target_at_finger(env) -> None:
    physics = env.unwrapped._env.physics
    finger = physics.named.data.geom_xpos["finger", :2].copy()
    physics.named.model.geom_pos["target", :2] = finger
    physics.forward()


def test_reachers_have_a_task_goal_and_other_tasks_none():
    assert convention_for(DM_REACHER).goal.key == "to_target"
    assert convention_for(DM_REACHER).success_at_end
    assert convention_for("Reacher-v5").goal.part == (8, 10)
    assert convention_for("dm_control/cartpole-swingup-v0").goal is None
    assert convention_for("PointMaze_UMaze-v3").goal is None
    assert not convention_for("PointMaze_UMaze-v3").success_at_end
    assert convention_for("metaworld:Meta-World/MT1").success_at_end  # as TD-MPC2 reads it


def test_success_is_the_finger_inside_the_target():
    env = make_env(DM_REACHER, seed=0)
    env.reset(seed=3)
    assert env.get_wrapper_attr("goal_slice") == slice(2, 4)
    _, _, _, _, info = env.step(np.zeros(2, np.float32))
    assert info["success"] is False  # a fresh episode starts away from the target
    _put_target_at_finger(env)
    obs, _, _, _, info = env.step(np.zeros(2, np.float32))
    assert info["success"] is True and np.linalg.norm(obs[2:4]) < 0.02
    cartpole = make_env("dm_control/cartpole-swingup-v0")
    cartpole.reset()
    assert "success" not in cartpole.step(np.zeros(1))[4]


def test_eval_resolves_the_task_goal_unless_told_none():
    env = make_env(DM_REACHER)
    spec = resolve_goal(None, [env], DM_REACHER)
    assert spec.kind == "task" and spec.env_judges_success and not spec.whole_observation
    np.testing.assert_array_equal(spec.targets(np.ones((3, 6), np.float32)), np.zeros((3, 2)))
    assert resolve_goal("none", [env], DM_REACHER) is None
    pixels = make_env(DM_REACHER, obs="pixels", image_size=16)
    assert resolve_goal(None, [pixels], DM_REACHER).kind == "episode"  # the target, rendered
    pixels.close()


class _Script:
    """Two envs' success flags by step: both reach the goal on the way, only one holds it."""

    def __init__(self, flags):
        self.flags, self.t = flags, 0
        self.action_space = None

    def reset(self, seed=None):
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t == len(self.flags)
        return np.zeros(1, np.float32), 0.0, False, done, {"success": self.flags[self.t - 1]}


class _Zero:
    def act(self, obs):
        return np.zeros((len(obs), 1))

    def reset(self, index=None):
        pass


@pytest.mark.parametrize("at_end, want", [(False, [True, True]), (True, [True, False])])
def test_success_at_end_counts_the_last_step_only(at_end, want):
    envs = [_Script([False, True, True]), _Script([False, True, False])]
    result = run_episodes(envs, _Zero(), seeds=[0, 1], success_at_end=at_end)
    assert result.successes == want


def test_eval_plans_to_the_reacher_target_on_the_true_simulator(tmp_path):
    oracle = _wmpc("eval", "--env", DM_REACHER, "--oracle", "--episodes", "3", "--json",
                   "oracle.json", cwd=tmp_path)
    assert oracle.returncode == 0, oracle.stderr
    summary = json.loads((tmp_path / "oracle.json").read_text())
    assert summary["goal"] == "task" and summary["goal_energy"] == "sum"
    assert summary["steps_per_episode"] == 50 and summary["success_rate"] == 1.0
    rewarded = _wmpc("eval", "--env", DM_REACHER, "--planner", "random", "--episodes", "2",
                     "--goal", "none", "--json", "random.json", cwd=tmp_path)
    assert rewarded.returncode == 0, rewarded.stderr
    summary = json.loads((tmp_path / "random.json").read_text())
    assert "goal" not in summary and summary["steps_per_episode"] == 500
