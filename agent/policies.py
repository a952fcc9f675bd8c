"""Random policies for collecting data: uniform, and temporally correlated (coloured) noise.

Both follow `envs.record.Policy`: `policy(obs) -> action (A,) float32 in [-1, 1]`, `reset()` before
each episode. Each owns its random generator, so the same seed gives the same actions.
"""

from __future__ import annotations

import numpy as np
import torch

from planners.noise import colored_noise


class UniformPolicy:
    """Actions drawn i.i.d. uniformly from [-1, 1]^A at every step."""

    name = "random"

    def __init__(self, action_dim: int, *, seed: int = 0):
        self.action_dim = action_dim
        self._rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """Nothing to reset: steps are independent."""

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """(A,) float32 action, ignoring `obs`."""
        return self._rng.uniform(-1.0, 1.0, self.action_dim).astype(np.float32)


class ColoredNoisePolicy:
    """One coloured-noise sequence (power spectrum ~ 1/f^beta along time) per episode.

    Actions are `clip(scale * noise[t], -1, 1)` with unit-variance noise; beta=0 is white noise,
    1 pink, 2 red: larger beta moves further in one direction, covering more of the state space.
    The default scale 0.6 is about the standard deviation of uniform actions (0.58).
    """

    def __init__(
        self,
        action_dim: int,
        *,
        episode_steps: int,
        beta: float = 1.0,
        scale: float = 0.6,
        seed: int = 0,
    ):
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        if episode_steps < 1:
            raise ValueError(f"episode_steps must be >= 1, got {episode_steps}")
        self.action_dim = action_dim
        self.episode_steps = episode_steps
        self.beta = beta
        self.scale = scale
        self.name = f"colored(beta={beta})"
        self._generator = torch.Generator(device="cpu").manual_seed(seed)
        self._noise: np.ndarray | None = None
        self._t = 0

    def reset(self) -> None:
        """Draw the next episode's noise sequence (episode_steps, A)."""
        noise = colored_noise(
            self.beta,
            (self.episode_steps, self.action_dim),
            generator=self._generator,
            device="cpu",
        )
        self._noise = noise.numpy().astype(np.float64)
        self._t = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """(A,) float32 action for the next step; a new sequence when one runs out."""
        if self._noise is None or self._t >= self.episode_steps:
            self.reset()
        action = np.clip(self.scale * self._noise[self._t], -1.0, 1.0)
        self._t += 1
        return action.astype(np.float32)
