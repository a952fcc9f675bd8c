"""A tiny point-mass env for fast agent tests: importing it registers `PointMass-v0`.

Observation (6,): position (2,), velocity (2,), goal (2,). Action (2,) in [-1, 1]: a force.
Reward: minus the distance to the goal. Episodes of 50 steps; `info["success"]` within 0.1.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class PointMass(gym.Env):
    """Damped point mass on [-1, 1]^2 that should reach a goal drawn at reset."""

    def __init__(self, fixed_goal: tuple[float, float] | None = None):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.fixed_goal = fixed_goal
        self.pos = np.zeros(2)
        self.vel = np.zeros(2)
        self.goal = np.zeros(2)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.pos, self.vel, self.goal]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-0.8, 0.8, 2)
        self.vel = np.zeros(2)
        goal = self.fixed_goal
        if goal is None:
            goal = self.np_random.uniform(-0.8, 0.8, 2)
        self.goal = np.asarray(goal, dtype=np.float64)
        return self._obs(), {}

    def step(self, action):
        force = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.vel = 0.8 * self.vel + 0.1 * force
        self.pos = np.clip(self.pos + self.vel, -1.0, 1.0)
        dist = float(np.linalg.norm(self.pos - self.goal))
        return self._obs(), -dist, False, False, {"success": dist < 0.1}


gym.register("PointMass-v0", entry_point=PointMass, max_episode_steps=50)
