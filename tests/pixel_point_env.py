"""A point that draws itself: importing it registers `PixelPoint-v0` (renders rgb_array frames)
and `BlindPoint-v0` (the same point, which cannot be asked to render).

State (2,): the position in [-1, 1]^2; action (2,) in [-1, 1] moves it by 0.15 * action. Reward:
minus the distance to the origin. `render()` draws a 96 x 96 image (a plug-in's own size, which
`make_env(obs="pixels")` resizes): a dark floor with a red square at the position. Episodes of 50
steps.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

SIDE = 96
"""Pixels of a rendered frame's side."""


class PixelPoint(gym.Env):
    """A first-order point on [-1, 1]^2 that renders itself from above."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode: str | None = None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.pos = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-0.8, 0.8, 2)
        return self.pos.astype(np.float32), {}

    def step(self, action):
        move = 0.15 * np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.pos = np.clip(self.pos + move, -1.0, 1.0)
        reward = -float(np.linalg.norm(self.pos))
        return self.pos.astype(np.float32), reward, False, False, {}

    def render(self) -> np.ndarray:
        image = np.full((SIDE, SIDE, 3), 30, np.uint8)
        col = int((self.pos[0] + 1.0) / 2.0 * (SIDE - 12))
        row = int((1.0 - self.pos[1]) / 2.0 * (SIDE - 12))
        image[row:row + 12, col:col + 12] = (220, 40, 40)
        return image


class BlindPoint(PixelPoint):
    """The same point, whose constructor takes no render mode."""

    metadata = {"render_modes": []}

    def __init__(self):
        super().__init__()


gym.register("PixelPoint-v0", entry_point=PixelPoint, max_episode_steps=50)
gym.register("BlindPoint-v0", entry_point=BlindPoint, max_episode_steps=50)
