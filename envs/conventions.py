"""The task spec of an env id (action repeat, episode length, whether episodes terminate), the
config overrides of its family, and the ids `wmpc envs` lists. The agent reads what it needs of
an env from here.

A family is a file `envs/families/<name>.yaml`: `match` (fnmatch patterns over env ids, the
`module:` prefix dropped), `source`, a `task` section (fields of `TaskConvention`) and optional
config sections `run`, `agent`, `model`, `train` (fields of `RunConfig`, `AgentConfig`,
`ModelConfig`, `TrainConfig`) that `agent.settings` applies over the dataclass defaults.
DeepMind Control tasks follow the published anchors (TD-MPC2, DreamerV3): action repeat 2 and 500
agent decisions per episode, rewards summed over the repeats, and no termination. An env of no
family keeps its own conventions: action repeat 1, the episode length of its Gymnasium
registration, and episodes that may terminate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import io
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import gymnasium as gym
import yaml

from envs.errors import UserError
from envs.targets import TaskGoal, task_goal_for


@dataclass(frozen=True)
class TaskConvention:
    """The task spec: how an env id is run by default and what the agent may assume of it."""

    action_repeat: int
    """Simulator env steps per agent decision (the action is held, rewards are summed)."""
    episode_steps: int | None
    """Agent decisions per episode before truncation; None: the env's own limit, if any."""
    source: str
    """Where the convention comes from (shown by `wmpc envs`)."""
    episodic: bool = True
    """Whether an episode can end by termination (the world model then learns a termination
    head and cuts its TD targets there); False where only the time limit ends one."""
    goal: TaskGoal | None = None
    """A target the task defines beside its reward (`envs.targets`: reachers), or None."""
    success_at_end: bool = False
    """Whether an episode succeeds by the env's `info["success"]` at its last step (Meta-World
    as TD-MPC2 reports it; a reacher holding its target) rather than at any step."""


FAMILIES = Path(__file__).parent / "families"
"""Folder of the family files."""
CONFIG_SECTIONS = ("run", "agent", "model", "train")
"""Config sections a family file may override."""


@dataclass(frozen=True)
class Family:
    """One family file: which env ids it covers, their task spec, their config overrides."""

    name: str
    match: tuple[str, ...]
    source: str
    task: dict
    overrides: dict[str, dict]

    def covers(self, env_id: str) -> bool:
        bare_id = env_id.split(":", 1)[-1]
        return any(fnmatchcase(bare_id, pattern) for pattern in self.match)


@functools.cache
def families() -> tuple[Family, ...]:
    """Every family file, by name; a malformed one raises `UserError` naming it."""
    names = {f.name for f in dataclasses.fields(TaskConvention)} - {"source", "goal"}
    found = []
    for path in sorted(FAMILIES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        unknown = set(data) - {"match", "source", "task", *CONFIG_SECTIONS}
        bad_task = set(data.get("task", {})) - names
        if unknown or bad_task or not data.get("match"):
            raise UserError(f"family file {path}: needs `match`; unknown keys "
                            f"{sorted(unknown | bad_task)}")
        found.append(Family(path.stem, tuple(data["match"]), data.get("source", path.stem),
                            dict(data.get("task", {})),
                            {k: dict(data[k]) for k in CONFIG_SECTIONS if k in data}))
    return tuple(found)


def family_for(env_id: str) -> Family | None:
    """The first family (by file name) whose patterns match `env_id`, or None."""
    return next((f for f in families() if f.covers(env_id)), None)

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
        except Exception as err:  # the user's module: ImportError, SyntaxError, its own errors
            raise UserError(f"cannot import module {module!r} of env id: "
                            f"{type(err).__name__}: {err}") from err
    return gym.registry.get(env_id)


def convention_for(env_id: str) -> TaskConvention:
    """The task spec of `env_id`: its family's, with what the family leaves out from the env's
    registration (its episode limit in simulator steps, divided by the action repeat)."""
    family = family_for(env_id)
    task = family.task if family is not None else {}
    repeat = task.get("action_repeat", 1)
    steps = task.get("episode_steps")
    if steps is None:
        spec = env_spec(env_id)
        limit = spec.max_episode_steps if spec is not None else None
        steps = None if limit is None else max(limit // repeat, 1)
    goal = task_goal_for(env_id)
    return TaskConvention(repeat, steps, family.source if family else "env's own",
                          task.get("episodic", True), goal,
                          task.get("success_at_end", goal is not None))


def config_overrides(env_id: str) -> dict[str, dict]:
    """The config sections (`CONFIG_SECTIONS`) the family of `env_id` overrides: {} if none."""
    family = family_for(env_id)
    return {} if family is None else family.overrides


def known_env_ids(all_ids: bool = False) -> list[str]:
    """Ids `wmpc envs` lists: the benchmark's DMC tasks, Gymnasium MuJoCo v5, PointMaze.

    With `all_ids`, every id in Gymnasium's registry (after registering Shimmy and Robotics).
    """
    register_all()
    if all_ids:
        return sorted(gym.registry)
    dmc = [f"dm_control/{task}-v0" for task in BENCHMARK_DMC_TASKS]
    return [env_id for env_id in (*dmc, *GYM_MUJOCO_V5, *GOAL_ENVS) if env_id in gym.registry]
