"""make_env's contract: flat float32 observations, [-1, 1] actions, seeding, ids and errors;
action repeat (rewards summed, stops early on termination) and episode lengths in decisions."""

import numpy as np
import pytest

from envs import UserError, make_env, parse_env_kwargs

COUNTER = "toy_plugin:Counter-v0"  # tests/toy_plugin.py: obs[0] counts simulator steps
CONTRACT_IDS = [
    "HalfCheetah-v5",
    "Hopper-v5",
    "Reacher-v5",
    "dm_control/cartpole-swingup-v0",
    "dm_control/walker-walk-v0",
    "PointMaze_UMaze-v3",
    COUNTER,
]


@pytest.mark.parametrize("env_id", CONTRACT_IDS)
def test_env_contract(env_id):
    env = make_env(env_id, seed=1)
    space = env.observation_space
    assert space.dtype == np.float32 and len(space.shape) == 1
    assert env.action_space.dtype == np.float32 and len(env.action_space.shape) == 1
    np.testing.assert_array_equal(env.action_space.low, -1.0)
    np.testing.assert_array_equal(env.action_space.high, 1.0)
    obs, info = env.reset()
    assert isinstance(info, dict)
    assert obs.dtype == np.float32 and obs.shape == space.shape
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert obs.dtype == np.float32 and obs.shape == space.shape
        assert np.isfinite(obs).all() and np.isfinite(reward)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        if terminated or truncated:
            env.reset()
    env.close()


def test_same_seed_same_episode_and_other_seed_differs():
    def first_obs(seed):
        env = make_env("HalfCheetah-v5", seed=seed)
        obs, _ = env.reset()
        obs2 = env.step(env.action_space.sample())[0]
        return np.concatenate([obs, obs2])

    np.testing.assert_array_equal(first_obs(3), first_obs(3))
    assert not np.array_equal(first_obs(3), first_obs(4))


def test_actions_rescaled_to_env_bounds_and_clipped():
    env = make_env(COUNTER)  # env bounds [0, 4] x [-2, 2]
    env.reset()
    for action, expected in [
        ([-1, -1], [0, -2]),
        ([1, 1], [4, 2]),
        ([0, 0], [2, 0]),
        ([0.5, -0.5], [3, -1]),
        ([3, -7], [4, -2]),
    ]:
        obs = env.step(np.asarray(action, np.float32))[0]
        np.testing.assert_allclose(obs[1:], expected, rtol=0, atol=1e-6)


def test_env_kwargs_reach_the_env():
    rng = np.random.default_rng(0)
    action = rng.uniform(-1, 1, 6).astype(np.float32)
    rewards = []
    for weight in (0.1, 5.0):
        env = make_env("HalfCheetah-v5", seed=0, ctrl_cost_weight=weight)
        env.reset()
        rewards.append(env.step(action)[1])
    expected_gap = (5.0 - 0.1) * float(np.sum(np.square(action)))
    assert rewards[0] - rewards[1] == pytest.approx(expected_gap, rel=1e-5)


def test_goal_env_keeps_goal_parts_reachable():
    env = make_env("PointMaze_UMaze-v3", seed=0)
    obs, info = env.reset()
    layout = env.get_wrapper_attr("goal_layout")
    assert set(layout) == {"achieved_goal", "desired_goal", "observation"}
    np.testing.assert_array_equal(obs[layout["achieved_goal"]], info["achieved_goal"])
    np.testing.assert_array_equal(obs[layout["desired_goal"]], info["desired_goal"])
    obs, *_, info = env.step(np.ones(2, np.float32))
    np.testing.assert_array_equal(obs[layout["achieved_goal"]], info["achieved_goal"])
    assert obs[layout["observation"]].shape == (4,)


def test_unknown_id_suggests_close_matches():
    with pytest.raises(UserError, match="did you mean HalfCheetah-v5"):
        make_env("HalfCheeta-v5")
    with pytest.raises(UserError, match="dm_control/cartpole-swingup-v0"):
        make_env("dm_control/cartpol-swingup-v0")


def test_bad_arguments_are_user_errors():
    with pytest.raises(UserError, match="action_repeat"):
        make_env("HalfCheetah-v5", action_repeat=0)
    with pytest.raises(UserError, match="episode_steps"):
        make_env("HalfCheetah-v5", episode_steps=-3)
    with pytest.raises(UserError, match="HalfCheetah-v5"):
        make_env("HalfCheetah-v5", no_such_kwarg=1)


def test_parse_env_kwargs():
    assert parse_env_kwargs(None) == {}
    assert parse_env_kwargs('{"a": 1, "b": [2]}') == {"a": 1, "b": [2]}
    with pytest.raises(UserError, match="not valid JSON"):
        parse_env_kwargs("{a: 1}")
    with pytest.raises(UserError, match="JSON object"):
        parse_env_kwargs("[1, 2]")


def test_adapter_env_id_keyword_passes_through():
    # Shimmy's old-gym adapter takes its own `env_id` keyword; without `gym` installed it reports
    # that, with it the Discrete CartPole actions are refused: a UserError either way, no TypeError.
    with pytest.raises(UserError, match="gym|Discrete|not supported"):
        make_env("GymV26Environment-v0", env_id="CartPole-v1")


# --- action repeat and episode length ------------------------------------------------------

def test_repeat_sums_rewards_and_stops_on_termination():
    env = make_env(COUNTER, action_repeat=3, terminate_at=7)
    env.reset()
    action = np.zeros(2, np.float32)
    obs, reward, terminated, _, _ = env.step(action)
    assert reward == 1 + 2 + 3 and obs[0] == 3 and not terminated
    obs, reward, terminated, _, _ = env.step(action)
    assert reward == 4 + 5 + 6 and obs[0] == 6 and not terminated
    obs, reward, terminated, _, _ = env.step(action)
    assert terminated and obs[0] == 7 and reward == 7


def test_episode_steps_count_decisions_not_env_steps():
    env = make_env(COUNTER, action_repeat=4, episode_steps=3)
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
