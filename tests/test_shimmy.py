"""dm_control through Shimmy: Dict observations flattened in sorted key order; DMC conventions."""

import gymnasium as gym
import numpy as np
import shimmy

from envs import convention_for, make_env


def test_dict_observation_flattened_in_sorted_key_order():
    gym.register_envs(shimmy)
    raw = gym.make("dm_control/walker-walk-v0")
    raw_obs, _ = raw.reset(seed=4)
    env = make_env("dm_control/walker-walk-v0", seed=4)
    obs, _ = env.reset()
    keys = sorted(raw_obs)
    assert keys == ["height", "orientations", "velocity"]
    expected = np.concatenate([np.ravel(raw_obs[k]) for k in keys]).astype(np.float32)
    np.testing.assert_array_equal(obs, expected)
    layout = env.get_wrapper_attr("obs_layout")
    assert list(layout) == keys
    assert layout["height"] == slice(0, 1) and layout["orientations"] == slice(1, 15)
    assert layout["velocity"] == slice(15, 24)


def test_dmc_convention_repeat_two_and_500_decisions():
    convention = convention_for("dm_control/cartpole-swingup-v0")
    assert (convention.action_repeat, convention.episode_steps) == (2, 500)
    env = make_env("dm_control/cartpole-swingup-v0")
    env.reset()
    zero = np.zeros(1, np.float32)
    truncated = [env.step(zero)[3] for _ in range(500)]
    assert not any(truncated[:-1]) and truncated[-1]


def test_episode_steps_override_beyond_dm_control_time_limit():
    env = make_env("dm_control/cartpole-balance-v0", action_repeat=4, episode_steps=300)
    env.reset()
    zero = np.zeros(1, np.float32)
    truncated = [env.step(zero)[3] for _ in range(300)]  # 1200 control steps > dm_control's 1000
    assert not any(truncated[:-1]) and truncated[-1]
