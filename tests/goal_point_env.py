"""Reward-free goal-conditioned point masses: importing it registers `GoalPointMass-v0` (goals in
the observation, as Gymnasium-Robotics) and `TaskPointMass-v0` (a goal observation at reset, as
OGBench).

`GoalPointMass-v0`: a Dict observation like Gymnasium-Robotics' goal envs: `observation` (4,)
position and velocity, `achieved_goal` (2,) the position, `desired_goal` (2,) a goal drawn at
reset. Action (2,) in [-1, 1]: a force. The reward is always 0; `info["success"]` within 0.1 of
the goal. Episodes of 40 steps.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class GoalPointMass(gym.Env):
    """Damped point mass on [-1, 1]^2 with a goal in its observation and no reward."""

    def __init__(self):
        box = lambda n: gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)  # noqa: E731
        self.observation_space = gym.spaces.Dict(
            {"observation": box(4), "achieved_goal": box(2), "desired_goal": box(2)})
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.pos, self.vel, self.goal = np.zeros(2), np.zeros(2), np.zeros(2)

    def _obs(self) -> dict:
        return {"observation": np.concatenate([self.pos, self.vel]).astype(np.float32),
                "achieved_goal": self.pos.astype(np.float32),
                "desired_goal": self.goal.astype(np.float32)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-0.8, 0.8, 2)
        self.vel = np.zeros(2)
        self.goal = self.np_random.uniform(-0.8, 0.8, 2)
        return self._obs(), {}

    def step(self, action):
        force = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.vel = 0.8 * self.vel + 0.1 * force
        self.pos = np.clip(self.pos + self.vel, -1.0, 1.0)
        success = float(np.linalg.norm(self.pos - self.goal)) < 0.1
        return self._obs(), 0.0, False, False, {"success": success}


gym.register("GoalPointMass-v0", entry_point=GoalPointMass, max_episode_steps=40)


class TaskPointMass(gym.Env):
    """The same point mass with OGBench's goal convention: a Box observation (4,) (position,
    velocity), five numbered evaluation tasks (`task_infos`, `reset(options={"task_id": k})`)
    and the goal *observation* of each episode in the reset info (`info["goal"]`); success
    within 0.1 of the goal position."""

    GOALS = ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5), (0.0, 0.6))

    def __init__(self):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.task_infos = [{"goal_xy": np.array(g)} for g in self.GOALS]
        self.pos, self.vel, self.goal = np.zeros(2), np.zeros(2), np.zeros(2)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.pos, self.vel]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id", int(self.np_random.integers(1, 6)))
        self.goal = self.task_infos[task_id - 1]["goal_xy"]
        self.pos, self.vel = self.np_random.uniform(-0.1, 0.1, 2), np.zeros(2)
        goal_obs = np.concatenate([self.goal, np.zeros(2)]).astype(np.float32)
        return self._obs(), {"goal": goal_obs, "task_id": task_id}

    def step(self, action):
        force = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.vel = 0.8 * self.vel + 0.1 * force
        self.pos = np.clip(self.pos + self.vel, -1.0, 1.0)
        success = float(np.linalg.norm(self.pos - self.goal)) < 0.1
        return self._obs(), 0.0, False, False, {"success": success}


gym.register("TaskPointMass-v0", entry_point=TaskPointMass, max_episode_steps=40)
