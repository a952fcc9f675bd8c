"""The wrappers `make_env` stacks on a raw environment; each overrides one hook.

Order, innermost first: `GoalInfo` (goal-conditioned Dict envs only), `FlattenObservation`,
`envs.targets.TaskGoalSuccess` (tasks with a goal beside their reward), `EpisodeGoal` (envs with
evaluation tasks, OGBench's), `RescaleAction`, `ActionRepeat`, for pixel observations
`envs.pixels.PixelObservation` and `envs.goal_images.RenderedGoal`, then Gymnasium's `TimeLimit`
counting agent decisions, then `SeedFirstReset`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.errors import UserError

GOAL_KEYS = ("achieved_goal", "desired_goal", "observation")
"""Keys of a goal-conditioned Dict observation (Gymnasium-Robotics' GoalEnv)."""


def _box_parts(space: gym.Space, prefix: str = "") -> list[tuple[str, gym.spaces.Box]]:
    """The Box leaves of a (nested) Dict space as (dotted key, Box), keys sorted at every level."""
    if isinstance(space, gym.spaces.Box):
        return [(prefix, space)]
    if isinstance(space, gym.spaces.Dict):
        parts = []
        for key in sorted(space.spaces):
            name = f"{prefix}.{key}" if prefix else key
            parts.extend(_box_parts(space.spaces[key], name))
        return parts
    raise UserError(
        f"observation space {space} is not supported: wmpc needs Box or Dict-of-Box observations"
    )


def _leaf(obs: Any, key: str) -> Any:
    for part in key.split(".") if key else ():
        obs = obs[part]
    return obs


class FlattenObservation(gym.ObservationWrapper):
    """Flat float32 Box observations: Dict leaves concatenated in sorted key order.

    `obs_layout` maps each Dict key (dotted for nested Dicts) to its slice of the flat vector;
    for a Box observation it is `{"observation": slice(0, O)}`.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        parts = _box_parts(env.observation_space)
        self._keys = [key for key, _ in parts]
        self.obs_layout: dict[str, slice] = {}
        start = 0
        for key, box in parts:
            size = int(np.prod(box.shape))
            self.obs_layout[key or "observation"] = slice(start, start + size)
            start += size
        low = np.concatenate([box.low.ravel() for _, box in parts]).astype(np.float32)
        high = np.concatenate([box.high.ravel() for _, box in parts]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        """(O,) float32 vector of the observation's leaves in sorted key order."""
        return np.concatenate(
            [np.asarray(_leaf(observation, key), dtype=np.float32).ravel() for key in self._keys]
        )


class GoalInfo(gym.Wrapper):
    """Copies `achieved_goal` and `desired_goal` (float32) of a goal Dict observation into info.

    `goal_layout` gives the slices of `achieved_goal`, `desired_goal` and `observation` in the
    flat observation that `FlattenObservation` makes (sorted key order).
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        sizes = {key: int(np.prod(env.observation_space[key].shape)) for key in GOAL_KEYS}
        self.goal_layout: dict[str, slice] = {}
        start = 0
        for key in GOAL_KEYS:
            self.goal_layout[key] = slice(start, start + sizes[key])
            start += sizes[key]

    @staticmethod
    def _with_goals(obs: dict, info: dict) -> dict:
        info = dict(info)
        for key in ("achieved_goal", "desired_goal"):
            info[key] = np.asarray(obs[key], dtype=np.float32).ravel()
        return info

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        return obs, self._with_goals(obs, info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._with_goals(obs, info)


def is_goal_space(space: gym.Space) -> bool:
    """True for a Dict observation space with exactly the keys of a goal-conditioned env."""
    return isinstance(space, gym.spaces.Dict) and set(space.spaces) == set(GOAL_KEYS)


def has_evaluation_tasks(base: gym.Env) -> bool:
    """True for an env with numbered evaluation tasks and a goal observation per episode, as
    OGBench's (`task_infos`, `reset(options={"task_id": k})`, `info["goal"]`)."""
    return isinstance(getattr(base, "task_infos", None), list | tuple) and bool(base.task_infos)


class EpisodeGoal(gym.Wrapper):
    """Reads the goal observation an env gives at reset (`info["goal"]`, OGBench's convention)
    into `episode_goal`, flat as the observation, and picks the evaluation task of a seeded
    reset: task `seed % num_tasks + 1` (so seeds 0..4 go over OGBench's five tasks), unless
    `options` names one.
    """

    def __init__(self, env: FlattenObservation):
        super().__init__(env)
        self.num_tasks = len(env.unwrapped.task_infos)
        self.episode_goal: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        options = dict(options or {})
        if seed is not None and not {"task_id", "task_info"} & set(options):
            options["task_id"] = seed % self.num_tasks + 1
        obs, info = self.env.reset(seed=seed, options=options)
        if "goal" not in info:
            raise UserError(f"{self.env.unwrapped} has evaluation tasks but reported no "
                            "info['goal'] at reset")
        self.episode_goal = self.env.observation(info["goal"])
        return obs, info


class RescaleAction(gym.ActionWrapper):
    """Agent actions in [-1, 1] (float32, clipped) mapped affinely onto the env's Box bounds."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, gym.spaces.Box):
            raise UserError(f"action space {space} is not supported: wmpc needs Box actions")
        if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
            raise UserError(f"action space {space} has infinite bounds; cannot map [-1, 1] onto it")
        self._low = space.low.astype(np.float64)
        self._half_range = (space.high.astype(np.float64) - self._low) / 2.0
        self._dtype = space.dtype
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=space.shape, dtype=np.float32)

    def to_env_action(self, action: np.ndarray) -> np.ndarray:
        """Actions (..., A) in [-1, 1] -> (..., A) in the env's bounds, in the env's dtype."""
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        return (self._low + (action + 1.0) * self._half_range).astype(self._dtype)

    def action(self, action: np.ndarray) -> np.ndarray:
        return self.to_env_action(action)


class ActionRepeat(gym.Wrapper):
    """Each agent decision repeats its action `action_repeat` times, summing the rewards.

    Stops early when the env terminates or truncates; the info is that of the last inner step.
    """

    def __init__(self, env: gym.Env, action_repeat: int):
        super().__init__(env)
        self.action_repeat = action_repeat

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        total = 0.0
        for _ in range(self.action_repeat):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info


class SeedFirstReset(gym.Wrapper):
    """The first `reset()` without a seed uses the seed given to `make_env`."""

    def __init__(self, env: gym.Env, seed: int):
        super().__init__(env)
        self._pending_seed: int | None = seed

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)
