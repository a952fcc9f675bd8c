"""The batched PointMaze goal oracle (`agent.point_maze_rollout`) equals the env's own stepping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agent import point_maze_rollout
from agent.goals import TrueGoalImagination
from envs import make_env


def _sims(env_id: str, seed: int):
    env = make_env(env_id, seed=seed, action_repeat=5)
    env.reset(seed=seed)
    for _ in range(3):
        env.step(np.ones(2, np.float32))  # start with speed, at the velocity limit
    layout = env.get_wrapper_attr("goal_layout")
    sims = [TrueGoalImagination(env, layout["observation"], fast=fast) for fast in (True, False)]
    for sim in sims:
        sim.sync()
    return sims


@pytest.mark.parametrize("env_id", ["PointMaze_UMaze-v3", "PointMaze_Medium-v3"])
def test_batched_rollout_matches_python_stepping(env_id):
    fast, slow = _sims(env_id, seed=3)
    # long saturated pushes: the ball hits walls and the velocity clip binds
    rng = np.random.default_rng(0)
    actions = torch.as_tensor(np.sign(rng.normal(size=(8, 30, 2))), dtype=torch.float32)
    got, want = fast(actions).latents, slow(actions).latents
    assert np.abs(want[..., 2:].numpy()).max() == pytest.approx(5.0, abs=0.5)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


def test_batched_rollout_needs_the_velocity_clip(monkeypatch):
    fast, slow = _sims("PointMaze_Medium-v3", seed=3)
    actions = torch.ones(2, 10, 2)
    monkeypatch.setattr(point_maze_rollout, "VELOCITY_LIMIT", 1e9)
    assert np.abs(fast(actions).latents.numpy() - slow(actions).latents.numpy()).max() > 1e-2
