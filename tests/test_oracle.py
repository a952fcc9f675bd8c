"""The simulator oracle reproduces env.step exactly (rewards, terminations and observations) and
leaves the real env untouched, its own counters included."""

import importlib.util

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import torch

from envs import UserError, make_env, point_maze_rollout
from envs.oracle import SimulatorOracle

_INTEGRATION = mujoco.mjtState.mjSTATE_INTEGRATION.value
ORACLE_IDS = [
    "HalfCheetah-v5",
    "Hopper-v5",
    "Reacher-v5",
    "dm_control/cartpole-swingup-v0",
    "dm_control/reacher-easy-v0",
    "dm_control/cheetah-run-v0",
    "dm_control/walker-walk-v0",
    "dm_control/ball_in_cup-catch-v0",
    "dm_control/finger-spin-v0",
    "PointMaze_UMaze-v3",
    "toy_plugin:CountedPendulum-v0",
]


def _env_after_warmup(env_id, warmup):
    env = make_env(env_id, seed=7)
    env.reset()
    for action in warmup:
        env.step(action)
    return env


def _stepped(env_id, warmup, actions):
    """Rewards and terminated flags env.step gives for `actions` after `warmup`."""
    env = _env_after_warmup(env_id, warmup)
    rewards, terminated, done = np.zeros(len(actions)), np.zeros(len(actions), bool), False
    for h, action in enumerate(actions):
        if not done:
            _, rewards[h], done, _, _ = env.step(action)
        terminated[h] = done
    return rewards, terminated


def _state(oracle):
    state = np.empty(mujoco.mj_stateSize(oracle.model, _INTEGRATION))
    mujoco.mj_getState(oracle.model, oracle.data, state, _INTEGRATION)
    return state


@pytest.mark.parametrize("env_id", ORACLE_IDS)
@pytest.mark.parametrize("fast", [None, False])
def test_oracle_equals_env_step_and_restores_env(env_id, fast):
    rng = np.random.default_rng(1)
    probe = make_env(env_id)
    dim = probe.action_space.shape[0]
    horizon = 40 if env_id == "Hopper-v5" else 8
    warmup = rng.uniform(-1, 1, (4, dim)).astype(np.float32)
    actions = rng.uniform(-1, 1, (3, horizon, dim)).astype(np.float32)
    env = _env_after_warmup(env_id, warmup)
    oracle = SimulatorOracle(env, num_threads=2, fast=fast)
    oracle.sync()
    before = _state(oracle)
    rewards, terminated = oracle.rollout(actions)
    assert rewards.dtype == np.float64 and rewards.shape == (3, horizon)
    assert terminated.dtype == bool and terminated.shape == (3, horizon)
    np.testing.assert_array_equal(_state(oracle), before)
    for i in range(3):
        expected_rewards, expected_terminated = _stepped(env_id, warmup, actions[i])
        np.testing.assert_allclose(rewards[i], expected_rewards, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(terminated[i], expected_terminated)
    if env_id == "Hopper-v5":
        assert terminated[:, -1].any(), "no sequence terminated: termination not exercised"
        after_termination = terminated[:, :-1] & terminated[:, 1:]
        assert (rewards[:, 1:][after_termination] == 0).all()
    reference = _env_after_warmup(env_id, warmup)
    np.testing.assert_array_equal(env.step(actions[0, 0])[0], reference.step(actions[0, 0])[0])
    oracle.close()


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "dm_control/cartpole-swingup-v0"])
def test_fast_path_chosen_and_equal_to_generic(env_id):
    env = _env_after_warmup(env_id, [])
    fast, generic = SimulatorOracle(env, num_threads=2), SimulatorOracle(env, fast=False)
    assert fast.uses_fast_path and not generic.uses_fast_path
    actions = np.random.default_rng(2).uniform(-1, 1, (16, 12, env.action_space.shape[0]))
    fast.sync()
    generic.sync()
    fast_rewards, _ = fast.rollout(actions)
    np.testing.assert_allclose(fast_rewards, generic.rollout(actions)[0], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(fast.rollout(actions)[0], fast_rewards)
    fast.close()


def test_oracle_rollout_follows_a_later_sync():
    env = _env_after_warmup("dm_control/cartpole-swingup-v0", [])
    oracle = SimulatorOracle(env, fast=False)
    actions = np.zeros((1, 5, 1))
    oracle.sync()
    first = oracle.rollout(actions)[0]
    for _ in range(10):
        env.step(np.ones(1, np.float32))
    assert np.array_equal(oracle.rollout(actions)[0], first)
    oracle.sync()
    assert not np.array_equal(oracle.rollout(actions)[0], first)


def test_oracle_input_errors():
    env = make_env("HalfCheetah-v5")
    env.reset()
    oracle = SimulatorOracle(env, num_threads=1)
    with pytest.raises(RuntimeError, match="sync"):
        oracle.rollout(np.zeros((1, 2, 6)))
    oracle.sync()
    with pytest.raises(UserError, match=r"\(N, H, 6\)"):
        oracle.rollout(np.zeros((1, 2, 5)))
    with pytest.raises(UserError, match="fast"):
        SimulatorOracle(make_env("Hopper-v5"), fast=True)
    with pytest.raises(UserError, match="oracle supports"):
        SimulatorOracle(make_env("toy_plugin:Counter-v0"))
    with pytest.raises(UserError, match="make_env"):
        SimulatorOracle(gym.make("HalfCheetah-v5"))
    oracle.close()


def test_oracle_takes_torch_actions():
    env = make_env("dm_control/cartpole-swingup-v0")
    env.reset()
    actions = np.random.default_rng(3).uniform(-1, 1, (4, 6, 1))
    with SimulatorOracle(env, num_threads=1) as oracle:
        oracle.sync()
        from_numpy = oracle.rollout(actions)[0]
        np.testing.assert_array_equal(oracle.rollout(torch.from_numpy(actions))[0], from_numpy)


def _stepped_observations(env_id, warmup, actions, **kwargs):
    env = make_env(env_id, seed=7, **kwargs)
    env.reset()
    for action in warmup:
        env.step(action)
    return np.stack([env.step(action)[0] for action in actions])


@pytest.mark.parametrize("env_id", ["Hopper-v5", "dm_control/reacher-easy-v0",
                                    "PointMaze_UMaze-v3"])
@pytest.mark.parametrize("fast", [None, False])
def test_observations_equal_env_step_and_restore_env(env_id, fast):
    rng = np.random.default_rng(4)
    env = make_env(env_id, seed=7)
    dim = env.action_space.shape[0]
    warmup = rng.uniform(-1, 1, (3, dim)).astype(np.float32)
    actions = rng.uniform(-1, 1, (3, 6, dim)).astype(np.float32)
    env.reset()
    for action in warmup:
        env.step(action)
    oracle = SimulatorOracle(env, num_threads=1, fast=fast)
    oracle.sync()
    before = _state(oracle)
    obs = oracle.observations(actions)
    assert obs.shape == (3, 6, env.observation_space.shape[0]) and obs.dtype == np.float32
    np.testing.assert_array_equal(_state(oracle), before)
    for i in range(3):
        np.testing.assert_allclose(obs[i], _stepped_observations(env_id, warmup, actions[i]),
                                   rtol=0, atol=1e-5)
    oracle.close()


def _point_maze_oracles(env_id: str):
    env = make_env(env_id, seed=3, action_repeat=5)
    env.reset(seed=3)
    for _ in range(3):
        env.step(np.ones(2, np.float32))  # start with speed, at the velocity limit
    oracles = [SimulatorOracle(env, fast=fast) for fast in (None, False)]
    for oracle in oracles:
        oracle.sync()
    return oracles


@pytest.mark.parametrize("env_id", ["PointMaze_UMaze-v3", "PointMaze_Medium-v3"])
def test_batched_point_maze_observations_match_python_stepping(env_id):
    fast, slow = _point_maze_oracles(env_id)
    # long saturated pushes: the ball hits walls and the velocity clip binds
    actions = np.sign(np.random.default_rng(0).normal(size=(8, 30, 2)))
    got, want = fast.observations(actions), slow.observations(actions)
    assert np.abs(want[..., -2:]).max() == pytest.approx(5.0, abs=0.5)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_batched_point_maze_observations_need_the_velocity_clip(monkeypatch):
    fast, slow = _point_maze_oracles("PointMaze_Medium-v3")
    actions = np.ones((2, 10, 2))
    monkeypatch.setattr(point_maze_rollout, "VELOCITY_LIMIT", 1e9)
    assert np.abs(fast.observations(actions) - slow.observations(actions)).max() > 1e-2


def test_env_counters_restored_and_time_limit_lifted():
    env = make_env("toy_plugin:CountedPendulum-v0", seed=0, action_repeat=1)
    env.reset()
    base = env.unwrapped
    for _ in range(15):
        env.step(np.zeros(1, np.float32))
    oracle = SimulatorOracle(env)
    oracle.sync()
    actions = np.zeros((4, 10, 1))  # 25 steps: past the env's own limit of 20
    rewards, terminated = oracle.rollout(actions)
    assert base.curr_path_length == 15 and (rewards[~terminated] == 1.0).all()
    assert oracle.observations(actions).shape == (4, 10, 4) and base.curr_path_length == 15
    env.step(np.zeros(1, np.float32))
    assert base.curr_path_length == 16


def test_metaworld_oracle_equals_env_step_past_its_step_limit():
    if importlib.util.find_spec("metaworld") is None:
        pytest.skip("metaworld is not installed")
    try:
        env = make_env("metaworld:Meta-World/MT1", seed=0, env_name="reach-v3")
    except UserError as err:  # a combination envs.suites names
        pytest.skip(f"known broken combination here: {err}")
    env.reset()
    base = env.unwrapped
    rng = np.random.default_rng(5)
    for action in rng.uniform(-1, 1, (5, 4)).astype(np.float32):
        env.step(action)
    oracle = SimulatorOracle(env)
    oracle.sync()
    actions = rng.uniform(-1, 1, (2, base.max_path_length, 4))  # runs past the env's own limit
    rewards, _ = oracle.rollout(actions)
    obs = oracle.observations(actions[:, :3])
    assert base.curr_path_length == 10 and np.isfinite(rewards).all()
    for h in range(3):
        step_obs, reward, *_ = env.step(actions[1, h].astype(np.float32))
        np.testing.assert_allclose(obs[1, h], step_obs, atol=1e-5)
        assert reward == pytest.approx(rewards[1, h], abs=1e-6)
