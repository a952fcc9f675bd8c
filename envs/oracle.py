"""The true simulator as a model: score action sequences from the env's current state.

`SimulatorOracle` plays the role a learned world model plays for the planner, with the env's own
reward, and is the upper bound every planner benchmark compares against.
"""

from __future__ import annotations

import os

import gymnasium as gym
import mujoco
import mujoco.rollout
import numpy as np

from envs.errors import UserError
from envs.fast_rewards import FastReward, fast_reward_for
from envs.suites import copy_data

_INTEGRATION = mujoco.mjtState.mjSTATE_INTEGRATION.value
_FULLPHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS.value


class _GymnasiumSim:
    """Steps a Gymnasium `MujocoEnv` itself (no wrappers: no step counters move)."""

    def __init__(self, base: gym.Env):
        self.base = base
        self.model = base.model
        self.data = base.data

    def step(self, env_action: np.ndarray) -> tuple[float, bool]:
        _, reward, terminated, _, _ = self.base.step(env_action)
        return float(reward), bool(terminated)


class _DmControlSim:
    """Steps a dm_control suite task as `control.Environment.step` does, minus its counters."""

    def __init__(self, dm_env):
        self.physics = dm_env.physics
        self.task = dm_env.task
        self.n_sub_steps = dm_env._n_sub_steps
        self.model = self.physics.model.ptr
        self.data = self.physics.data.ptr

    def step(self, env_action: np.ndarray) -> tuple[float, bool]:
        self.task.before_step(env_action, self.physics)
        self.physics.step(self.n_sub_steps)
        self.task.after_step(self.physics)
        reward = self.task.get_reward(self.physics)
        return float(reward or 0.0), self.task.get_termination(self.physics) is not None


def _simulator(base: gym.Env) -> _GymnasiumSim | _DmControlSim:
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    if isinstance(base, MujocoEnv):
        return _GymnasiumSim(base)
    from dm_control.rl import control

    dm_env = getattr(base, "_env", None)
    if isinstance(dm_env, control.Environment):
        return _DmControlSim(dm_env)
    raise UserError(
        f"the oracle supports Gymnasium MuJoCo envs and dm_control suite tasks, not {base}"
    )


class SimulatorOracle:
    """Scores action sequences with the true simulator, exactly as `env.step` would.

    `env` must come from `make_env` (its action rescaling and repeat are applied). `sync()` captures
    the env's current state; `rollout` restores it for every sequence and leaves the env exactly
    as it was. Time limits are ignored: sequences run H decisions from the synced state.

    Two paths: the generic one steps the env's own simulator in Python; the fast one runs
    `mujoco.rollout` on `num_threads` threads (default: all cores) and recomputes the reward from
    the states (`envs.fast_rewards`). `fast=None` picks the fast path where the task has one,
    `True` requires it, `False` forces the generic path.
    """

    def __init__(self, env: gym.Env, num_threads: int | None = None, fast: bool | None = None):
        self._sim = _simulator(env.unwrapped)
        self.model = self._sim.model
        self.data = self._sim.data
        try:
            self.action_repeat: int = env.get_wrapper_attr("action_repeat")
            self._to_env_action = env.get_wrapper_attr("to_env_action")
        except AttributeError as err:
            raise UserError("the oracle needs an env made by envs.make_env") from err
        self.action_dim = int(np.prod(env.action_space.shape))
        fast_reward = fast_reward_for(env.unwrapped) if fast is not False else None
        if fast and fast_reward is None:
            raise UserError(f"no fast oracle path for {env.unwrapped}")
        self._fast_reward: FastReward | None = fast_reward
        self._backup = mujoco.MjData(self.model)
        self._state: np.ndarray | None = None
        self._rollout: mujoco.rollout.Rollout | None = None
        if fast_reward is not None:
            threads = (os.cpu_count() or 1) if num_threads is None else num_threads
            self._rollout = mujoco.rollout.Rollout(nthread=threads)
            self._thread_data = [mujoco.MjData(self.model) for _ in range(max(threads, 1))]

    @property
    def uses_fast_path(self) -> bool:
        """True when `rollout` goes through `mujoco.rollout` and a recomputed reward."""
        return self._fast_reward is not None

    def sync(self) -> None:
        """Capture the env's current true state (mjSTATE_INTEGRATION) as the rollouts' start."""
        state = np.empty(mujoco.mj_stateSize(self.model, _INTEGRATION))
        mujoco.mj_getState(self.model, self.data, state, _INTEGRATION)
        self._state = state
        if self._fast_reward is not None:
            for data in self._thread_data:
                mujoco.mj_setState(self.model, data, state, _INTEGRATION)
            start = self._thread_data[0]
            self._full_state = np.empty(mujoco.mj_stateSize(self.model, _FULLPHYSICS))
            mujoco.mj_getState(self.model, start, self._full_state, _FULLPHYSICS)
            self._warmstart = start.qacc_warmstart.copy()
            self._qpos0 = start.qpos.copy()

    def rollout(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards (N, H) float64 and terminated (N, H) bool of actions (N, H, A) in [-1, 1].

        `actions` may be a NumPy array or a torch tensor on any device.

        Each reward is what `env.step` returns for that decision (summed over the action repeat).
        `terminated[i, h]` is True from the decision where sequence i terminates onwards; the
        rewards after that decision are 0.
        """
        if self._state is None:
            raise RuntimeError("call sync() before rollout()")
        if hasattr(actions, "detach"):
            actions = actions.detach().cpu().numpy()
        actions = np.asarray(actions, dtype=np.float64)
        if actions.ndim != 3 or actions.shape[2] != self.action_dim:
            raise UserError(
                f"oracle actions must have shape (N, H, {self.action_dim}), got {actions.shape}"
            )
        env_actions = self._to_env_action(actions)
        if self._fast_reward is not None:
            return self._fast_rollout(env_actions)
        return self._generic_rollout(env_actions)

    def _generic_rollout(self, env_actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, horizon = env_actions.shape[:2]
        rewards = np.zeros((n, horizon))
        terminated = np.zeros((n, horizon), dtype=bool)
        copy_data(self._backup, self.model, self.data)
        try:
            for i in range(n):
                mujoco.mj_setState(self.model, self.data, self._state, _INTEGRATION)
                mujoco.mj_forward(self.model, self.data)
                for h in range(horizon):
                    total = 0.0
                    for _ in range(self.action_repeat):
                        reward, done = self._sim.step(env_actions[i, h])
                        total += reward
                        if done:
                            break
                    rewards[i, h] = total
                    if done:
                        terminated[i, h:] = True
                        break
        finally:
            copy_data(self.data, self.model, self._backup)
        return rewards, terminated

    def _fast_rollout(self, env_actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, horizon = env_actions.shape[:2]
        reward_fn = self._fast_reward
        inner = reward_fn.physics_steps
        env_steps = np.repeat(env_actions, self.action_repeat, axis=1)
        control = np.repeat(env_steps.astype(np.float64), inner, axis=1)
        states, _ = self._rollout.rollout(
            self.model,
            self._thread_data,
            self._full_state[None],
            control,
            initial_warmstart=self._warmstart[None],
        )
        ends = states[:, inner - 1 :: inner]
        nq, nv = self.model.nq, self.model.nv
        qpos = ends[..., 1 : 1 + nq]
        qvel = ends[..., 1 + nq : 1 + nq + nv]
        per_step = reward_fn(self._qpos0, qpos, qvel, env_steps)
        rewards = per_step.reshape(n, horizon, self.action_repeat).sum(axis=-1)
        return rewards, np.zeros((n, horizon), dtype=bool)

    def __enter__(self) -> SimulatorOracle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the rollout thread pool (the fast path); the oracle cannot roll out after this."""
        if self._rollout is not None:
            self._rollout.close()
            self._rollout = None
