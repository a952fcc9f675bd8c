"""Goals a task defines beside its reward: reach a target in a part of the state observation.

dm_control's reacher and Gymnasium's Reacher-v5 observe the finger-to-target vector; their goal is
that vector at 0, and they count as reached when the finger is inside the target. Such a goal is a
`TaskGoal` of the task spec (`envs.conventions.TaskConvention.goal`): which part of the flat
observation to drive where, the env's own success test, and how a goal episode is run and planned
(`wmpc eval` with no `--goal` plans to it). `TaskGoalSuccess` reports the test as
`info["success"]` at every step; an episode counts it at its last step only
(`TaskConvention.success_at_end`: a reacher must hold the target, not brush past it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class TaskGoal:
    """A target in a slice of the flat state observation, the env's test of reaching it, and how
    a goal episode is run and planned."""

    key: str
    """The observation key (`FlattenObservation.obs_layout`) holding the goal-space point."""
    part: tuple[int, int] | None
    """[start, stop) of the point inside that key's slice; None: all of it."""
    target: tuple[float, ...]
    """Where that point must go."""
    radius: Callable[[gym.Env], float]
    """The success radius around the target, read from the base env (its geometry)."""
    description: str
    """The success test in words (shown by `wmpc envs ID`)."""
    episode_steps: int
    """Agent decisions per goal episode."""
    agent: dict[str, Any] = field(default_factory=dict)
    """Planning settings (`AgentConfig` fields) of a goal episode, over the run's own."""


def _dm_reacher_radius(base: gym.Env) -> float:
    physics = base.unwrapped._env.physics
    return float(physics.named.model.geom_size[["target", "finger"], 0].sum())


def _gym_reacher_radius(base: gym.Env) -> float:
    return 0.02


_REACHER_PLANNING = {"planner": "cem", "num_samples": 64, "iterations": 3, "num_elites": 8,
                     "horizon": 5, "goal_energy": "sum"}
"""Five decisions of summed distance (the goal benchmark's setting: benchmarks/results/goals)."""

TASK_GOALS: dict[str, TaskGoal] = {
    "dm_control/reacher-*": TaskGoal(
        "to_target", None, (0.0, 0.0), _dm_reacher_radius,
        "finger inside the target (distance <= target radius + finger radius) at the last step",
        episode_steps=50, agent=_REACHER_PLANNING),
    "Reacher-v5": TaskGoal(
        "observation", (8, 10), (0.0, 0.0), _gym_reacher_radius,
        "fingertip-target distance <= 0.02 at the last step", episode_steps=50,
        agent=_REACHER_PLANNING),
}
"""Task goals by env id pattern (fnmatch, the `module:` prefix dropped)."""

def task_goal_for(env_id: str) -> TaskGoal | None:
    """The goal the task `env_id` defines beside its reward, or None."""
    bare_id = env_id.split(":", 1)[-1]
    return next((goal for pattern, goal in TASK_GOALS.items() if fnmatchcase(bare_id, pattern)),
                None)


def goal_slice(env: gym.Env, goal: TaskGoal) -> slice:
    """The slice of `env`'s flat state observation that `goal` drives to its target."""
    whole = env.get_wrapper_attr("obs_layout")[goal.key]
    if goal.part is None:
        return whole
    return slice(whole.start + goal.part[0], whole.start + goal.part[1])


class TaskGoalSuccess(gym.Wrapper):
    """Adds `info["success"]`: the task goal's point of the flat observation is within the goal's
    radius of its target (over a `FlattenObservation`)."""

    def __init__(self, env: gym.Env, goal: TaskGoal):
        super().__init__(env)
        self.task_goal = goal
        self.goal_slice = goal_slice(env, goal)
        self._target = np.asarray(goal.target, dtype=np.float32)
        self._radius: float | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self._radius = self.task_goal.radius(self.env)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        distance = float(np.linalg.norm(obs[self.goal_slice] - self._target))
        return obs, reward, terminated, truncated, {**info, "success": distance <= self._radius}
