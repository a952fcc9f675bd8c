"""Task conventions (action repeat, episode length) in one table, and the ids `wmpc envs` lists.

DeepMind Control tasks follow the published anchors (TD-MPC2, DreamerV3): action repeat 2 and 500
agent decisions per episode, rewards summed over the repeats. Every other env keeps its own
conventions: action repeat 1 and the episode length of its Gymnasium registration.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
from dataclasses import dataclass
from fnmatch import fnmatchcase

import gymnasium as gym

from envs.errors import UserError


@dataclass(frozen=True)
class TaskConvention:
    """How an env id is run by default."""

    action_repeat: int
    """Simulator env steps per agent decision (the action is held, rewards are summed)."""
    episode_steps: int | None
    """Agent decisions per episode before truncation; None: the env's own limit, if any."""
    source: str
    """Where the convention comes from (shown by `wmpc envs`)."""


_TABLE: tuple[tuple[str, TaskConvention], ...] = (
    ("dm_control/*", TaskConvention(2, 500, "DMC anchors (TD-MPC2/DreamerV3)")),
)
"""(fnmatch pattern over env ids, convention); the first match wins."""

BENCHMARK_DMC_TASKS = (
    "cartpole-swingup",
    "reacher-easy",
    "cheetah-run",
    "walker-walk",
    "ball_in_cup-catch",
    "finger-spin",
)
"""DeepMind Control tasks of the benchmark (domain-task)."""

GYM_MUJOCO_V5 = (
    "Ant-v5",
    "HalfCheetah-v5",
    "Hopper-v5",
    "Humanoid-v5",
    "HumanoidStandup-v5",
    "InvertedDoublePendulum-v5",
    "InvertedPendulum-v5",
    "Pusher-v5",
    "Reacher-v5",
    "Swimmer-v5",
    "Walker2d-v5",
)
"""Gymnasium's MuJoCo v5 set."""

GOAL_ENVS = ("PointMaze_UMaze-v3",)
"""Goal-conditioned envs from Gymnasium-Robotics."""


@functools.cache
def register_all() -> None:
    """Register Shimmy's (dm_control, ...) and Gymnasium-Robotics' envs in Gymnasium's registry."""
    import shimmy

    gym.register_envs(shimmy)
    with contextlib.redirect_stderr(io.StringIO()):  # it prints a version notice on import
        try:
            import gymnasium_robotics
        except ImportError:
            return
    gym.register_envs(gymnasium_robotics)


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec | None:
    """The registry entry of `env_id` (importing `module` first for `module:EnvId`), or None."""
    register_all()
    if ":" in env_id:
        module, env_id = env_id.split(":", 1)
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise UserError(f"cannot import module {module!r} of env id: {err}") from err
    return gym.registry.get(env_id)


def convention_for(env_id: str) -> TaskConvention:
    """The default convention of `env_id` (episode length resolved from its registration)."""
    bare_id = env_id.split(":", 1)[-1]
    for pattern, convention in _TABLE:
        if fnmatchcase(bare_id, pattern):
            return convention
    spec = env_spec(env_id)
    steps = spec.max_episode_steps if spec is not None else None
    return TaskConvention(1, steps, "env's own")


def known_env_ids(all_ids: bool = False) -> list[str]:
    """Ids `wmpc envs` lists: the benchmark's DMC tasks, Gymnasium MuJoCo v5, PointMaze.

    With `all_ids`, every id in Gymnasium's registry (after registering Shimmy and Robotics).
    """
    register_all()
    if all_ids:
        return sorted(gym.registry)
    dmc = [f"dm_control/{task}-v0" for task in BENCHMARK_DMC_TASKS]
    return [env_id for env_id in (*dmc, *GYM_MUJOCO_V5, *GOAL_ENVS) if env_id in gym.registry]
