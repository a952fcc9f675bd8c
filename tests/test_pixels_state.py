"""`--obs pixels+state`: frames and the env's state in one uint8 row (the state as its float32
bytes), read by the convolutional encoder and a state MLP beside it, through replay, datasets,
runs and evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tests.pixel_point_env  # noqa: F401  (registers PixelPoint-v0)
from envs import UserError, make_env
from envs.pixels import decode_state
from envs.record import collect
from world_model import ModelConfig, WorldModel
from world_model.data import ReplayBuffer, load_trajectories
from world_model.pixels import random_shift

POINT = "tests.pixel_point_env:PixelPoint-v0"
PIXELS = 3 * 64 * 64
TESTS = Path(__file__).parent


def test_rows_hold_the_frames_then_the_state_as_float32_bytes():
    both = make_env(POINT, obs="pixels+state", frame_stack=1)
    pixels = make_env(POINT, obs="pixels", frame_stack=1)
    state = make_env(POINT)
    assert both.observation_space.dtype == np.uint8
    assert both.observation_space.shape == (PIXELS + 4 * 2,)
    assert both.get_wrapper_attr("state_dim") == 2
    assert both.get_wrapper_attr("obs_layout")["state"] == slice(PIXELS, PIXELS + 8)
    action = np.array([0.7, -0.3], np.float32)
    for obs_both, obs_px, obs_state in zip(
            (both.reset(seed=4)[0], both.step(action)[0]),
            (pixels.reset(seed=4)[0], pixels.step(action)[0]),
            (state.reset(seed=4)[0], state.step(action)[0]), strict=True):
        assert np.array_equal(obs_both[:PIXELS], obs_px)
        np.testing.assert_array_equal(decode_state(obs_both, (3, 64, 64)), obs_state)
    assert decode_state(obs_px, (3, 64, 64)).shape == (0,)


def _model(seed: int = 0) -> WorldModel:
    cfg = ModelConfig(obs_dim=PIXELS + 8, act_dim=2, image_shape=(3, 64, 64), latent_dim=16,
                      hidden_dim=32)
    assert cfg.state_dim == 2
    return WorldModel(cfg, seed=seed)


def _row(pixel: int, state: list[float]) -> np.ndarray:
    return np.concatenate([np.full(PIXELS, pixel, np.uint8),
                           np.asarray(state, np.float32).view(np.uint8)])


def test_the_latent_reads_both_the_image_and_the_state():
    model = _model()
    rows = torch.as_tensor(np.stack([_row(40, [0.1, 0.2]), _row(40, [0.9, -0.5]),
                                     _row(200, [0.1, 0.2])]))
    model.update_normaliser(rows)
    np.testing.assert_allclose(model.obs_mean[PIXELS:].numpy(), [1.1 / 3, -0.1 / 3], rtol=1e-5)
    z = model.encode(rows)
    assert z.shape == (3, 16) and torch.isfinite(z).all()
    assert not torch.allclose(z[0], z[1], atol=1e-4)  # only the state differs
    assert not torch.allclose(z[0], z[2], atol=1e-4)  # only the image differs
    with pytest.raises(ValueError, match="uint8 rows"):
        model.encode(rows.float())


def test_random_shift_moves_the_image_and_leaves_the_state_bytes():
    rows = torch.as_tensor(np.stack([_row(0, [3.5, -1.25])] * 8))
    rows[:, :PIXELS].view(-1, 3, 64, 64)[:, :, 20:30, 20:30] = 255
    shifted = random_shift(rows, (3, 64, 64), 4, np.random.default_rng(0))
    assert torch.equal(shifted[:, PIXELS:], rows[:, PIXELS:])
    assert not torch.equal(shifted[:, :PIXELS], rows[:, :PIXELS])


def test_datasets_and_replay_keep_the_rows_and_refuse_a_nan_state(tmp_path):
    out = collect(POINT, 60, tmp_path / "px", policy=lambda obs: np.array([0.5, -0.5]),
                  env_kwargs={"obs": "pixels+state", "frame_stack": 1}, progress=False)
    buffer = load_trajectories(str(out))
    assert buffer.image_shape == (3, 64, 64) and buffer.obs_dim == PIXELS + 8
    first, _ = make_env(POINT, obs="pixels+state", frame_stack=1).reset(seed=0)
    assert np.array_equal(buffer.episode(0)["obs"][0], first)
    bad = np.stack([_row(10, [0.0, np.nan])] * 3)
    with pytest.raises(UserError, match="NaN"):
        buffer.add_episode(bad, np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.ones(2))
    with pytest.raises(UserError, match="uint8 rows"):
        ReplayBuffer(PIXELS + 8, 2, image_shape=(3, 64, 64)).add_episode(
            bad.astype(np.float32), np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.ones(2))


def _wmpc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{TESTS.parent}{os.pathsep}"
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_a_run_on_pixels_and_state_evaluates_from_its_folder_and_refuses_other_obs(tmp_path):
    done = _wmpc("run", "--env", POINT, "--obs", "pixels+state", "--out", "run",
                 "--env-kwargs", '{"frame_stack": 1}', "--steps", "120", "--eval-every", "120",
                 "--eval-episodes", "1", "--samples", "64", "--iterations", "1",
                 "--set", "train.batch_size=8", "--set", "run.seed_steps=60",
                 "--set", "run.pretrain_updates=20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["obs_dim"] == PIXELS + 8
    evaluated = _wmpc("eval", "--run", "run", "--episodes", "1", "--samples", "64",
                      "--iterations", "1", "--json", "eval.json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert len(json.loads((tmp_path / "eval.json").read_text())["returns"]) == 1
    refused = _wmpc("eval", "--run", "run", "--obs", "pixels", "--episodes", "1", cwd=tmp_path)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode != 0 and len(lines) == 1, refused.stderr
    assert "trained on pixels+state" in lines[0]


def test_goals_are_refused_in_one_line_and_the_reward_is_planned_without_one():
    from agent.goals import parse_goal, resolve_goal

    env = make_env(POINT, obs="pixels+state")
    assert resolve_goal(None, [env], POINT) is None
    with pytest.raises(UserError, match="pixels\\+state cannot plan to a goal"):
        resolve_goal(parse_goal("[0.1, 0.2]"), [env], POINT)


def test_eval_of_a_reacher_on_pixels_and_state_keeps_its_own_planner_and_episodes(tmp_path):
    done = _wmpc("eval", "--env", "dm_control/reacher-easy-v0", "--obs", "pixels+state",
                 "--env-kwargs", '{"image_size": 16}', "--planner", "random", "--episodes", "1",
                 "--json", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["steps_per_episode"] == 500  # the task's own episodes, not a goal task's 50
