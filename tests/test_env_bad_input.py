"""Bad input around envs is one clear UserError, before anything is written: seeds, a plug-in
module that fails to import, pixel settings and cameras, NaN rewards and NaN actions."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest

import tests.pixel_point_env  # noqa: F401  (registers PixelPoint-v0)
from agent.cli import one_line
from agent.evaluate import finite_reward
from envs import UserError, make_env
from envs.record import collect

POINT = "tests.pixel_point_env:PixelPoint-v0"


class NanReward(gym.Env):
    """A point whose fifth step's reward is NaN."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        reward = float("nan") if self.t == 5 else 0.0
        return np.zeros(2, np.float32), reward, False, self.t >= 20, {}


gym.register("NanReward-v0", entry_point=NanReward)


def test_a_negative_seed_is_refused():
    with pytest.raises(UserError, match="seed must be a non-negative integer"):
        make_env(POINT, seed=-1)


def test_a_plugin_module_that_fails_to_import_is_named(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('no licence file')\n")
    (tmp_path / "typo_plugin.py").write_text("def f(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match="broken_plugin.*RuntimeError: no licence file"):
        make_env("broken_plugin:X-v0")
    with pytest.raises(UserError, match="typo_plugin.*SyntaxError"):
        make_env("typo_plugin:X-v0")
    sys.modules.pop("broken_plugin", None)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"image_size": 100_000}, "image_size must be an integer from 8 to 1024"),
    ({"image_size": True}, "image_size"),
    ({"frame_stack": 10_000}, "frame_stack must be an integer from 1 to 16"),
    ({"frame_stack": True}, "frame_stack"),
    ({"camera": 1.5}, "camera must be a camera's index or name"),
    ({"camera": True}, "camera must be"),
    ({"render_mode": "human"}, "render_mode 'human' cannot be used"),
])
def test_pixel_settings_that_cannot_work_are_refused(kwargs, message):
    with pytest.raises(UserError, match=message):
        make_env(POINT, obs="pixels", **kwargs)


@pytest.mark.parametrize("camera", [99, -2, "nope"])
def test_a_camera_a_mujoco_env_lacks_is_named_before_mujoco_stops(camera):
    with pytest.raises(UserError, match=f"InvertedPendulum-v5 has no camera {camera!r}"):
        make_env("InvertedPendulum-v5", obs="pixels+state", camera=camera)


def test_nan_rewards_and_nan_actions_stop_a_collection_before_it_writes(tmp_path):
    with pytest.raises(UserError, match="NanReward-v0 returned NaN .* at decision 4"):
        collect("NanReward-v0", 40, tmp_path / "nan", policy=lambda obs: np.zeros(2),
                progress=False)
    with pytest.raises(UserError, match="the policy gave NaN"):
        collect(POINT, 40, tmp_path / "nan", policy=lambda obs: np.full(2, np.nan),
                progress=False)
    assert not (tmp_path / "nan").exists()


def test_a_nan_reward_in_an_evaluation_is_an_error_not_a_return():
    assert finite_reward(np.array([1.0, 2.0]), "env", 3).tolist() == [1.0, 2.0]
    with pytest.raises(UserError, match="env returned a NaN or infinite reward at decision 3"):
        finite_reward(float("nan"), "env", 3)


def test_error_messages_are_one_line_of_bounded_length():
    assert one_line("first\n  second\tthird") == "first second third"
    long = one_line("x " * 1000)
    assert len(long) == 600 and long.endswith("…") and "\n" not in long
