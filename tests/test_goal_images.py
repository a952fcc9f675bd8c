"""Goals as images (`envs.goal_images`, `agent.goals`): the env's own goal rendered for pixel
observations without disturbing the episode, goal images read and checked, and `wmpc eval`
planning to them with success judged by the env's true test only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from agent.goals import parse_goal, resolve_goal
from envs import make_env as _make_env
from envs.errors import UserError
from envs.goal_images import _sim

REACHER = "dm_control/reacher-easy-v0"
MAZE = "PointMaze_UMaze-v3"
TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _close_envs():
    """Closes every env a test made (a rendering context left open fails at exit)."""
    yield
    while MADE:
        MADE.pop().close()


MADE: list = []


def make_env(*args, **kwargs):
    MADE.append(_make_env(*args, **kwargs))
    return MADE[-1]


def _wmpc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MUJOCO_GL="egl", PYTHONPATH=f"{TESTS}{os.pathsep}"
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.parametrize("env_id", [REACHER, MAZE])
def test_the_rendered_goal_leaves_the_episode_as_it_was(env_id):
    pixels = make_env(env_id, obs="pixels", image_size=24)
    state = make_env(env_id)
    first, _ = pixels.reset(seed=5)
    state.reset(seed=5)
    goal = pixels.get_wrapper_attr("episode_goal")
    assert goal.shape == first.shape and goal.dtype == np.uint8
    assert not np.array_equal(goal, first)  # the goal state looks different from the start
    assert np.array_equal(goal[: goal.size // 3], goal[-(goal.size // 3):])  # a still stack
    for _ in range(3):
        action = np.full(2, 0.5, np.float32)
        pixels.step(action)
        state.step(action)
    np.testing.assert_array_equal(_sim(pixels)[1].qpos, _sim(state)[1].qpos)


def test_the_reacher_goal_image_shows_the_finger_on_the_target():
    import mujoco

    env = make_env(REACHER, obs="pixels", image_size=24)
    env.reset(seed=2)
    model, data = _sim(env)
    pose = env.get_wrapper_attr("_pose")
    pose(env, model, data)
    mujoco.mj_kinematics(model, data)
    finger = data.geom_xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "finger")]
    target = data.geom_xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "target")]
    assert np.linalg.norm(finger[:2] - target[:2]) < 0.005


def test_pixel_envs_plan_to_their_rendered_goal_never_to_state_slices():
    for env_id in (REACHER, MAZE):
        env = make_env(env_id, obs="pixels", image_size=24)
        spec = resolve_goal(None, [env], env_id)
        assert spec.kind == "episode" and spec.whole_observation and spec.env_judges_success
    assert resolve_goal(None, [make_env(MAZE)], MAZE).kind == "env"  # state: desired_goal


def test_goal_images_are_read_checked_and_tiled(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    iio.imwrite(tmp_path / "goal.png", rgb)
    iio.imwrite(tmp_path / "rgba.png", np.dstack([rgb, np.full((24, 24), 255, np.uint8)]))
    iio.imwrite(tmp_path / "gray.png", rgb[..., 0])
    iio.imwrite(tmp_path / "small.png", rgb[:16, :16])
    np.testing.assert_array_equal(parse_goal(str(tmp_path / "rgba.png")), rgb)
    env = make_env(REACHER, obs="pixels", image_size=24)
    spec = resolve_goal(parse_goal(str(tmp_path / "goal.png")), [env], REACHER)
    frame = rgb.transpose(2, 0, 1).ravel()
    assert spec.kind == "observation"
    np.testing.assert_array_equal(spec.values, np.tile(frame, 3).astype(np.float32))
    for name, message in (("gray.png", "8-bit RGB"), ("missing.png", "cannot read")):
        with pytest.raises(UserError, match=message):
            parse_goal(str(tmp_path / name))
    with pytest.raises(UserError, match="16x16x3 .* observes 24x24x3"):
        resolve_goal(parse_goal(str(tmp_path / "small.png")), [env], REACHER)
    with pytest.raises(UserError, match="needs pixel observations"):
        resolve_goal(parse_goal(str(tmp_path / "goal.png")), [make_env(REACHER)], REACHER)


def test_cli_eval_from_pixels_uses_the_rendered_goal_and_the_true_test(tmp_path):
    done = _wmpc("eval", "--env", REACHER, "--obs", "pixels", "--planner", "random",
                 "--episodes", "2", "--json", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["goal"] == "episode" and summary["steps_per_episode"] == 50
    assert summary["success_rate"] == 0.0  # random actions do not hold the target
    refused = _wmpc("eval", "--env", REACHER, "--obs", "pixels", "--oracle", "--episodes", "1",
                    cwd=tmp_path)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1 and "true state" in lines[0]
