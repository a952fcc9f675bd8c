"""A `module:EnvId` plug-in (tests/toy_plugin.py) works through make_env unchanged."""

import numpy as np
import pytest

from envs import UserError, convention_for, make_env

PLUGIN_ID = "toy_plugin:Counter-v0"


def test_plugin_env_is_made_through_module_import():
    env = make_env(PLUGIN_ID)
    obs, _ = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (3,)
    obs, reward, terminated, truncated, _ = env.step(np.zeros(2, np.float32))
    assert obs[0] == 1.0 and reward == 1.0 and not terminated and not truncated
    env.close()


def test_plugin_env_kwargs_and_convention():
    assert convention_for(PLUGIN_ID).action_repeat == 1
    assert convention_for(PLUGIN_ID).episode_steps == 100
    env = make_env(PLUGIN_ID, terminate_at=2)
    env.reset()
    assert not env.step(np.zeros(2, np.float32))[2]
    assert env.step(np.zeros(2, np.float32))[2]


def test_missing_plugin_module_is_a_user_error():
    with pytest.raises(UserError, match="cannot import module"):
        make_env("no_such_module_xyz:Counter-v0")
