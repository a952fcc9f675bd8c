"""The env's own goal as an image: for pixel observations, each episode's goal is rendered.

An env whose goal is a state (PointMaze's ball at `goal`, a reacher's finger in its target) is
posed in that state right after reset, rendered by the same camera as its observations, and put
back exactly (MuJoCo's integration state, `mj_setState`). `RenderedGoal` keeps the frame, stacked
as an observation is, as `episode_goal`, so `wmpc eval --obs pixels` plans to the goal image's
embedding while success stays the env's own test on the true state.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

_INTEGRATION = mujoco.mjtState.mjSTATE_INTEGRATION.value


def _sim(base: gym.Env) -> tuple[Any, Any]:
    """The MuJoCo (model, data) behind a dm_control, PointMaze or Gymnasium MuJoCo env."""
    unwrapped = base.unwrapped
    if hasattr(unwrapped, "_env") and hasattr(unwrapped._env, "physics"):
        physics = unwrapped._env.physics
        return physics.model.ptr, physics.data.ptr
    if hasattr(unwrapped, "point_env"):
        return unwrapped.point_env.model, unwrapped.point_env.data
    return unwrapped.model, unwrapped.data


def _pose_point_maze(base: gym.Env, model, data) -> None:
    """The ball at rest on the maze's goal."""
    data.qpos[:2] = base.unwrapped.goal
    data.qvel[:] = 0.0


def _pose_dm_reacher(base: gym.Env, model, data) -> None:
    """The arm at rest with its finger on the target: the joint angles of a coarse grid, then a
    fine one around the best, whose forward kinematics put the finger nearest the target."""
    target = data.geom_xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "target")][:2]
    finger = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "finger")
    wrist = model.jnt_range[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, "wrist")]
    best = (np.inf, 0.0, 0.0)
    for step, shoulders, wrists in (
            (None, np.linspace(-np.pi, np.pi, 72, endpoint=False), np.linspace(*wrist, 64)),
            (0.1, None, None)):
        if step is not None:
            shoulders = best[1] + np.linspace(-step, step, 21)
            wrists = np.clip(best[2] + np.linspace(-step, step, 21), *wrist)
        for a in shoulders:
            for b in wrists:
                data.qpos[:2] = a, b
                mujoco.mj_kinematics(model, data)
                dist = float(np.linalg.norm(data.geom_xpos[finger][:2] - target))
                if dist < best[0]:
                    best = (dist, a, b)
    data.qpos[:2] = best[1:]
    data.qvel[:] = 0.0


GOAL_POSES: dict[str, Callable[[gym.Env, Any, Any], None]] = {
    "PointMaze_*": _pose_point_maze,
    "dm_control/reacher-*": _pose_dm_reacher,
}
"""Env id patterns (fnmatch, the `module:` prefix dropped) -> how to pose the env at its goal."""


def goal_pose_for(env_id: str) -> Callable[[gym.Env, Any, Any], None] | None:
    """How to pose `env_id` at its own goal, or None when it has no goal state to render."""
    bare_id = env_id.split(":", 1)[-1]
    return next((pose for pattern, pose in GOAL_POSES.items() if fnmatchcase(bare_id, pattern)),
                None)


class RenderedGoal(gym.Wrapper):
    """Over `envs.pixels.PixelObservation`: after every reset, `episode_goal` is the env posed at
    its goal, rendered and stacked as an observation (flat uint8); the env is left exactly as the
    reset left it."""

    goal_is_image = True
    """Marks `episode_goal` as an observation of the pixel env (not a state vector)."""

    def __init__(self, env: gym.Env, pose: Callable[[gym.Env, Any, Any], None]):
        super().__init__(env)
        self._pose = pose
        self.episode_goal: np.ndarray | None = None

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        model, data = _sim(self.env)
        state = np.empty(mujoco.mj_stateSize(model, _INTEGRATION))
        mujoco.mj_getState(model, data, state, _INTEGRATION)
        try:
            self._pose(self.env, model, data)
            mujoco.mj_forward(model, data)
            frame = self.env.frame()
        finally:
            mujoco.mj_setState(model, data, state, _INTEGRATION)
            mujoco.mj_forward(model, data)
        self.episode_goal = np.tile(frame.ravel(), self.env.stack)
        return obs, info
