"""Task rewards recomputed from simulated state sequences, for the oracle's `mujoco.rollout` path.

Each reward reproduces what the env's own `step` returns, from the qpos/qvel after every env step
and the control held during it. Only tasks without terminations are here.
"""

from __future__ import annotations

import math
from typing import Protocol

import gymnasium as gym
import numpy as np


class FastReward(Protocol):
    """Vectorised reward of one task."""

    physics_steps: int
    """MuJoCo steps per env step (frame skip, or dm_control's sub-steps per control step)."""

    def __call__(
        self, qpos0: np.ndarray, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray
    ) -> np.ndarray:
        """Rewards (N, S) float64 of S env steps.

        qpos0 (nq,): state before the first step; qpos (N, S, nq) and qvel (N, S, nv): after each
        env step; ctrl (N, S, nu): the env action of each step, in the env's action dtype.
        """


class HalfCheetahReward:
    """Gymnasium HalfCheetah-v5: forward velocity of the root minus a control cost."""

    def __init__(self, forward_weight: float, ctrl_weight: float, dt: float, frame_skip: int):
        self.forward_weight = forward_weight
        self.ctrl_weight = ctrl_weight
        self.dt = dt
        self.physics_steps = frame_skip

    def __call__(
        self, qpos0: np.ndarray, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray
    ) -> np.ndarray:
        x_after = qpos[..., 0]
        x_before = np.concatenate(
            [np.broadcast_to(qpos0[0], x_after.shape[:-1] + (1,)), x_after[..., :-1]], axis=-1
        )
        forward_reward = self.forward_weight * ((x_after - x_before) / self.dt)
        ctrl_cost = self.ctrl_weight * np.sum(np.square(ctrl), axis=-1)
        return forward_reward - ctrl_cost


def _gaussian_tolerance(x: np.ndarray, margin: float, value_at_margin: float = 0.1) -> np.ndarray:
    """dm_control's `tolerance` with bounds (0, 0) and a Gaussian sigmoid."""
    scale = math.sqrt(-2.0 * math.log(value_at_margin))
    distance = np.abs(x) / margin
    return np.where(x == 0, 1.0, np.exp(-0.5 * (distance * scale) ** 2))


def _quadratic_tolerance(x: np.ndarray, margin: float) -> np.ndarray:
    """dm_control's `tolerance`: bounds (0, 0), quadratic sigmoid, value 0 at the margin."""
    distance = np.abs(x) / margin
    return np.where(x == 0, 1.0, np.where(distance < 1, 1.0 - distance**2, 0.0))


class CartpoleReward:
    """dm_control cartpole balance/swingup (smooth reward, one pole): upright, centred, calm."""

    def __init__(self, n_sub_steps: int):
        self.physics_steps = n_sub_steps

    def __call__(
        self, qpos0: np.ndarray, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray
    ) -> np.ndarray:
        upright = (np.cos(qpos[..., 1]) + 1) / 2
        centered = (1 + _gaussian_tolerance(qpos[..., 0], margin=2.0)) / 2
        small_control = (4 + _quadratic_tolerance(ctrl[..., 0], margin=1.0)) / 5
        small_velocity = (1 + _gaussian_tolerance(qvel[..., 1], margin=5.0)) / 2
        return upright * small_control * small_velocity * centered


def fast_reward_for(base_env: gym.Env) -> FastReward | None:
    """The vectorised reward of the unwrapped env's task, or None where there is none."""
    from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv

    if isinstance(base_env, HalfCheetahEnv):
        return HalfCheetahReward(
            base_env._forward_reward_weight,
            base_env._ctrl_cost_weight,
            base_env.dt,
            base_env.frame_skip,
        )
    dm_env = getattr(base_env, "_env", None)
    task = getattr(dm_env, "task", None)
    if task is not None:
        from dm_control.suite.cartpole import Balance

        if isinstance(task, Balance) and not task._sparse and dm_env.physics.model.nq == 2:
            return CartpoleReward(dm_env._n_sub_steps)
    return None
