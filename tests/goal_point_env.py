"""A reward-free goal-conditioned point mass: importing it registers `GoalPointMass-v0`.

Dict observation like Gymnasium-Robotics' goal envs: `observation` (4,) position and velocity,
`achieved_goal` (2,) the position, `desired_goal` (2,) a goal drawn at reset. Action (2,) in
[-1, 1]: a force. The reward is always 0; `info["success"]` within 0.1 of the goal. Episodes of 40
steps.
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
