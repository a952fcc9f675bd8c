"""A user's own env package in miniature: importing it registers `Counter-v0` and
`CountedPendulum-v0`.

`make_env("toy_plugin:Counter-v0")` imports this module first (Gymnasium's `module:EnvId` form).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv


class Counter(gym.Env):
    """Deterministic toy env: counts its steps.

    Observation (3,) float64: [steps so far, last action (2,)]. Reward of step t (1-based): t.
    Terminates at step `terminate_at`, or with `random_length` at a step drawn in [3, 12] at each
    reset. Action bounds are asymmetric, [0, 4] x [-2, 2], to check rescaling. With `raise_at`,
    the instance's step number `raise_at` (counted over its episodes) raises RuntimeError, as a
    buggy plug-in would.
    """

    def __init__(self, terminate_at: int = 1000, raise_at: int | None = None,
                 random_length: bool = False):
        self.terminate_at, self.raise_at, self._steps = terminate_at, raise_at, 0
        self.random_length = random_length
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float64)
        self.action_space = gym.spaces.Box(
            np.array([0.0, -2.0]), np.array([4.0, 2.0]), dtype=np.float64
        )
        self._t = 0
        self._last = np.zeros(2)

    def _obs(self) -> np.ndarray:
        return np.array([self._t, *self._last], dtype=np.float64)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.random_length:
            self.terminate_at = int(self.np_random.integers(3, 13))
        self._t = 0
        self._last = np.zeros(2)
        return self._obs(), {}

    def step(self, action):
        self._steps += 1
        if self._steps == self.raise_at:
            raise RuntimeError("sensor fault")
        self._t += 1
        self._last = np.asarray(action, dtype=np.float64).copy()
        return self._obs(), float(self._t), self._t >= self.terminate_at, False, {}


gym.register("Counter-v0", entry_point=Counter, max_episode_steps=100)


class CountedPendulum(InvertedPendulumEnv):
    """Gymnasium's InvertedPendulum with a step counter inside `step` that refuses to go past
    `max_path_length`, as Meta-World's envs do (`curr_path_length`)."""

    def __init__(self, max_path_length: int = 20, **kwargs):
        super().__init__(**kwargs)
        self.max_path_length, self.curr_path_length = max_path_length, 0

    def reset_model(self):
        self.curr_path_length = 0
        return super().reset_model()

    def step(self, action):
        if self.curr_path_length >= self.max_path_length:
            raise ValueError("You must reset the env manually once truncate==True")
        self.curr_path_length += 1
        return super().step(action)


gym.register("CountedPendulum-v0", entry_point=CountedPendulum)
