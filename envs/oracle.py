"""The true simulator as a model: score action sequences from the env's current state.

`SimulatorOracle` plays the role a learned world model plays for the planner, with the env's own
reward (`rollout`) or the env's own observations (`observations`, what goal reaching measures),
and is the upper bound every planner benchmark compares against.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import gymnasium as gym
import mujoco
import mujoco.rollout
import numpy as np

from envs.errors import UserError
from envs.fast_rewards import FastReward, fast_reward_for
from envs.point_maze_rollout import PointMazeRollout
from envs.suites import copy_data
from envs.wrappers import FlattenObservation

_INTEGRATION = mujoco.mjtState.mjSTATE_INTEGRATION.value
_FULLPHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS.value

TRUNCATION_COUNTERS = ("curr_path_length",)
"""Step counters an env keeps and stops on inside its own `step` (Meta-World's `curr_path_length`
raises once it reaches `max_path_length`): zeroed before every rollout step, since rollouts ignore
time limits, and put back after the rollout."""


class _GymnasiumSim:
    """Steps a Gymnasium `MujocoEnv` itself (no wrappers, so their counters never move).

    What the env keeps beside the MuJoCo state (numbers and arrays among its attributes: step
    counters, Meta-World's previous observation) is saved by `save()` and put back by `restore()`.
    """

    def __init__(self, base: gym.Env):
        self.base = base
        self.model = base.model
        self.data = base.data
        self._obs: Any = None
        self._saved: dict[str, Any] = {}
        self._counters = [name for name in TRUNCATION_COUNTERS if hasattr(base, name)]

    def step(self, env_action: np.ndarray) -> tuple[float, bool]:
        for name in self._counters:
            setattr(self.base, name, 0)
        self._obs, reward, terminated, _, _ = self.base.step(env_action)
        return float(reward), bool(terminated)

    def observation(self) -> Any:
        """The observation the last `step` returned."""
        return self._obs

    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def save(self) -> None:
        self._saved = {k: copy.copy(v) for k, v in vars(self.base).items()
                       if isinstance(v, (bool, int, float, np.number))
                       or (isinstance(v, np.ndarray) and v.base is None)}  # views follow the data

    def restore(self) -> None:
        for name, value in self._saved.items():
            setattr(self.base, name, copy.copy(value))


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

    def observation(self) -> Any:
        return self.task.get_observation(self.physics)

    def forward(self) -> None:
        self.physics.forward()

    def save(self) -> None:
        """Nothing beside the physics state: the step counters are the bypassed env's."""

    def restore(self) -> None:
        """Nothing to put back."""


class _PointMazeSim:
    """Steps Gymnasium-Robotics PointMaze as `PointEnv.step` moves the ball, with the maze's
    own reward and termination test, but not its goal bookkeeping (which could move the goal)."""

    def __init__(self, base):
        self.base = base
        self.point = base.point_env
        self.model = self.point.model
        self.data = self.point.data

    def step(self, env_action: np.ndarray) -> tuple[float, bool]:
        point = self.point
        point._clip_velocity()
        point.data.ctrl[:] = np.clip(env_action, -1.0, 1.0)
        mujoco.mj_step(point.model, point.data, nstep=point.frame_skip)
        achieved = self.data.qpos[:2].copy()
        reward = self.base.compute_reward(achieved, self.base.goal, {})
        return float(reward), bool(self.base.compute_terminated(achieved, self.base.goal, {}))

    def observation(self) -> dict[str, np.ndarray]:
        qpos, qvel = self.data.qpos, self.data.qvel
        return {"achieved_goal": qpos[:2].copy(), "desired_goal": self.base.goal.copy(),
                "observation": np.concatenate([qpos, qvel])}

    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def save(self) -> None:
        """Nothing beside the physics state and the goal, which the rollouts never change."""

    def restore(self) -> None:
        """Nothing to put back."""


def _simulator(base: gym.Env) -> _GymnasiumSim | _DmControlSim | _PointMazeSim:
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    if isinstance(base, MujocoEnv):
        return _GymnasiumSim(base)
    if hasattr(base, "point_env") and hasattr(base, "goal"):
        return _PointMazeSim(base)
    from dm_control.rl import control

    dm_env = getattr(base, "_env", None)
    if isinstance(dm_env, control.Environment):
        return _DmControlSim(dm_env)
    raise UserError(
        f"the oracle supports Gymnasium MuJoCo envs (Meta-World's among them), Gymnasium-Robotics "
        f"PointMaze and dm_control suite tasks, not {base}"
    )


def _flattener(env: gym.Env) -> FlattenObservation:
    """The `FlattenObservation` that `make_env` stacked on `env`: raw observation -> flat (O,)."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, FlattenObservation):
            return env
        env = env.env
    raise UserError("the oracle needs an env made by envs.make_env")


class SimulatorOracle:
    """Scores action sequences with the true simulator, exactly as `env.step` would.

    `env` must come from `make_env` (its action rescaling and repeat are applied). `sync()` captures
    the env's current state; `rollout` and `observations` restore it for every sequence and leave
    the env exactly as it was, its own counters included. Time limits are ignored: sequences run H
    decisions from the synced state.

    Two paths: the generic one steps the env's own simulator in Python; the fast one runs
    `mujoco.rollout` on `num_threads` threads (default: all cores) and recomputes the reward from
    the states (`envs.fast_rewards`), or, for PointMaze's observations, rolls every sequence at
    once (`envs.point_maze_rollout`). `fast=None` picks a fast path where the task has one, `True`
    requires the fast reward, `False` forces the generic path.
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
        flattener = _flattener(env)
        self._flatten = flattener.observation
        self.obs_dim = int(flattener.observation_space.shape[0])
        self.action_dim = int(np.prod(env.action_space.shape))
        fast_reward = fast_reward_for(env.unwrapped) if fast is not False else None
        if fast and fast_reward is None:
            raise UserError(f"no fast oracle path for {env.unwrapped}")
        self._fast_reward: FastReward | None = fast_reward
        self._fast_observations = (PointMazeRollout(env.unwrapped)
                                   if fast is not False and isinstance(self._sim, _PointMazeSim)
                                   else None)
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
        """Capture the env's current true state (mjSTATE_INTEGRATION, and what the env keeps
        beside it) as the rollouts' start."""
        state = np.empty(mujoco.mj_stateSize(self.model, _INTEGRATION))
        mujoco.mj_getState(self.model, self.data, state, _INTEGRATION)
        self._state = state
        self._sim.save()
        self._full_state = np.empty(mujoco.mj_stateSize(self.model, _FULLPHYSICS))
        mujoco.mj_getState(self.model, self.data, self._full_state, _FULLPHYSICS)
        if self._fast_reward is not None:
            for data in self._thread_data:
                mujoco.mj_setState(self.model, data, state, _INTEGRATION)
            self._warmstart = self.data.qacc_warmstart.copy()
            self._qpos0 = self.data.qpos.copy()

    def _env_actions(self, actions) -> np.ndarray:
        if self._state is None:
            raise RuntimeError("call sync() before rolling out")
        if hasattr(actions, "detach"):
            actions = actions.detach().cpu().numpy()
        actions = np.asarray(actions, dtype=np.float64)
        if actions.ndim != 3 or actions.shape[2] != self.action_dim:
            raise UserError(
                f"oracle actions must have shape (N, H, {self.action_dim}), got {actions.shape}"
            )
        return self._to_env_action(actions)

    def rollout(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards (N, H) float64 and terminated (N, H) bool of actions (N, H, A) in [-1, 1].

        `actions` may be a NumPy array or a torch tensor on any device.

        Each reward is what `env.step` returns for that decision (summed over the action repeat).
        `terminated[i, h]` is True from the decision where sequence i terminates onwards; the
        rewards after that decision are 0.
        """
        env_actions = self._env_actions(actions)
        if self._fast_reward is not None:
            return self._fast_rollout(env_actions)
        n, horizon = env_actions.shape[:2]
        rewards = np.zeros((n, horizon))
        terminated = np.zeros((n, horizon), dtype=bool)

        def sequence(i: int) -> None:
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
                    return

        self._each_sequence(n, sequence)
        return rewards, terminated

    def observations(self, actions: np.ndarray) -> np.ndarray:
        """The env's flat observations (N, H, O) after each decision of actions (N, H, A) in
        [-1, 1], as `env.step` returns them (sequences run on past a termination)."""
        env_actions = self._env_actions(actions)
        if self._fast_observations is not None:
            return self._fast_observations.observations(self._full_state, env_actions,
                                                        self.action_repeat).astype(np.float32)
        n, horizon = env_actions.shape[:2]
        obs = np.empty((n, horizon, self.obs_dim), np.float32)

        def sequence(i: int) -> None:
            for h in range(horizon):
                for _ in range(self.action_repeat):
                    self._sim.step(env_actions[i, h])
                obs[i, h] = self._flatten(self._sim.observation())

        self._each_sequence(n, sequence)
        return obs

    def _each_sequence(self, n: int, sequence) -> None:
        """Run `sequence(i)` for i < n, each from the synced state; then put the env back."""
        copy_data(self._backup, self.model, self.data)
        try:
            for i in range(n):
                mujoco.mj_setState(self.model, self.data, self._state, _INTEGRATION)
                self._sim.restore()
                self._sim.forward()
                sequence(i)
        finally:
            copy_data(self.data, self.model, self._backup)
            self._sim.restore()

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
