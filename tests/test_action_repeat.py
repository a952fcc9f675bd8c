"""Action repeat sums rewards, stops early on termination; episode length counts decisions."""

import numpy as np

from envs import make_env

PLUGIN_ID = "toy_plugin:Counter-v0"


def test_repeat_sums_rewards_and_stops_on_termination():
    env = make_env(PLUGIN_ID, action_repeat=3, terminate_at=7)
    env.reset()
    action = np.zeros(2, np.float32)
    obs, reward, terminated, _, _ = env.step(action)
    assert reward == 1 + 2 + 3 and obs[0] == 3 and not terminated
    obs, reward, terminated, _, _ = env.step(action)
    assert reward == 4 + 5 + 6 and obs[0] == 6 and not terminated
    obs, reward, terminated, _, _ = env.step(action)
    assert terminated and obs[0] == 7 and reward == 7


def test_episode_steps_count_decisions_not_env_steps():
    env = make_env(PLUGIN_ID, action_repeat=4, episode_steps=3)
    env.reset()
    flags = [env.step(np.zeros(2, np.float32))[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_dmc_repeat_two_equals_two_single_steps():
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (20, 1)).astype(np.float32)
    repeated = make_env("dm_control/cartpole-swingup-v0", seed=5)
    single = make_env("dm_control/cartpole-swingup-v0", seed=5, action_repeat=1)
    obs_r, _ = repeated.reset()
    obs_s, _ = single.reset()
    np.testing.assert_array_equal(obs_r, obs_s)
    for action in actions:
        obs_r, reward_r, *_ = repeated.step(action)
        reward_s = 0.0
        for _ in range(2):
            obs_s, reward, *_ = single.step(action)
            reward_s += reward
        assert reward_r == reward_s
        np.testing.assert_array_equal(obs_r, obs_s)
