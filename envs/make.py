"""`make_env`: a Gymnasium, Shimmy or `module:EnvId` id as a flat-obs, [-1, 1]-action env."""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import gymnasium as gym

from envs.conventions import convention_for, env_spec
from envs.errors import UserError
from envs.goal_images import RenderedGoal, goal_pose_for
from envs.pixels import (
    OBS_MODES,
    PixelObservation,
    check_camera,
    check_pixel_settings,
    render_kwargs,
)
from envs.suites import (
    apply_fixes,
    check_compatible,
    check_installed,
    suite_for_entry_point,
    suite_for_id,
    unknown_id_hint,
    versions_line,
)
from envs.targets import TaskGoalSuccess
from envs.wrappers import (
    ActionRepeat,
    EpisodeGoal,
    FlattenObservation,
    GoalInfo,
    RescaleAction,
    SeedFirstReset,
    has_evaluation_tasks,
    is_goal_space,
)


def _close_matches(env_id: str) -> list[str]:
    by_lower: dict[str, str] = {}
    for name in gym.registry:
        by_lower.setdefault(name.lower(), name)
    found = difflib.get_close_matches(env_id.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[name] for name in found]


def _unknown_id(env_id: str) -> UserError:
    hint = unknown_id_hint(env_id)
    if hint is not None:
        return UserError(f"unknown env id {env_id!r}: {hint}")
    matches = _close_matches(env_id.split(":", 1)[-1])
    hint = f"; did you mean {', '.join(matches)}?" if matches else "; `wmpc envs --all` lists ids"
    return UserError(f"unknown env id {env_id!r}{hint}")


@contextlib.contextmanager
def _quiet_absl() -> Iterator[None]:
    """Hide MuJoCo's deprecation warnings about env XML files (logged through absl) for a while."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "(no message)"


def _positive(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise UserError(f"{name} must be a positive integer, got {value!r}")


def _is_dm_control_suite(spec: gym.envs.registration.EnvSpec) -> bool:
    keywords = getattr(spec.entry_point, "keywords", {})
    return spec.id.startswith("dm_control/") and "domain_name" in keywords


def make_env(
    env_id: str,
    /,
    *,
    seed: int = 0,
    action_repeat: int | None = None,
    episode_steps: int | None = None,
    obs: str = "state",
    image_size: int = 64,
    camera: int | str | None = None,
    frame_stack: int = 3,
    **env_kwargs: Any,
) -> gym.Env:
    """A Gymnasium env with flat float32 Box observations (O,) and Box actions (A,) in [-1, 1].

    `env_id`: a Gymnasium id (`HalfCheetah-v5`), a Shimmy id (`dm_control/cheetah-run-v0`) or
    `module:EnvId` (the module is imported first and registers EnvId). `action_repeat` and
    `episode_steps` (agent decisions) default to `convention_for(env_id)`; for dm_control suite
    tasks the episode length is the decision limit (dm_control's own time limit is lifted).
    `env_kwargs` go to `gymnasium.make` (`env_id` is positional-only, so an adapter's own `env_id`
    keyword passes through, e.g. Shimmy's `GymV26Environment-v0`). The first `reset()` without
    a seed uses `seed`; the action and observation spaces are seeded with it too.
    `obs="pixels"` observes `frame_stack` rendered `image_size`-square frames of `camera` (the
    family's default camera when None) instead of the state, flat uint8 (`envs.pixels`); an env
    with a goal state (PointMaze, reachers) then also renders it at every reset as
    `episode_goal` (`envs.goal_images`). `obs="pixels+state"` keeps the state after the frames
    (as its float32 bytes, `envs.pixels.decode_state`).
    Tasks with a goal beside their reward (`envs.targets`: reachers) report its success test as
    `info["success"]`. Goal-conditioned Dict envs also report `info["achieved_goal"]`,
    `info["desired_goal"]`, and `env.get_wrapper_attr("goal_layout")` gives their slices of the
    flat observation.
    Bad ids or arguments raise `UserError`, and so do a suite package that is missing or of a
    version known not to run with the installed MuJoCo (`envs.suites`), and an env whose
    construction fails; compatibility fixes the installed versions need are applied first.
    """
    if not isinstance(env_id, str) or not env_id.strip():
        raise UserError(f"env id must be a non-empty string, got {env_id!r}")
    _positive("action_repeat", action_repeat)
    _positive("episode_steps", episode_steps)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    named = suite_for_id(env_id)
    if named is not None and ":" in env_id:
        check_installed(env_id, named)
        check_compatible(env_id, named)
    spec = env_spec(env_id)
    if spec is None:
        raise _unknown_id(env_id)
    suite = suite_for_entry_point(spec.entry_point) or named
    if suite is not None:
        check_installed(env_id, suite)
        check_compatible(env_id, suite)
        apply_fixes(suite)
    if obs not in OBS_MODES:
        raise UserError(f"obs must be one of {', '.join(OBS_MODES)}, got {obs!r}")
    convention = convention_for(env_id)
    repeat = convention.action_repeat if action_repeat is None else action_repeat
    steps = convention.episode_steps if episode_steps is None else episode_steps
    kwargs = dict(env_kwargs)
    inner_limit: int | None = None
    if _is_dm_control_suite(spec):
        kwargs["task_kwargs"] = {"time_limit": math.inf, **kwargs.get("task_kwargs", {})}
    elif steps is not None:
        inner_limit = steps * repeat
    if obs != "state":
        check_pixel_settings(image_size, frame_stack, camera, kwargs.get("render_mode"))
        kwargs = {**render_kwargs(spec, image_size, camera), **kwargs}
    try:
        with _quiet_absl():
            env = gym.make(env_id, max_episode_steps=inner_limit, **kwargs)
    except gym.error.Error as err:
        if "not found" in str(err).lower():
            raise _unknown_id(env_id) from err
        raise UserError(str(err)) from err
    except TypeError as err:
        if obs != "state" and "render_mode" in str(err):
            raise UserError(f"{env_id} cannot render frames for pixel observations: its "
                            "constructor takes no render_mode") from err
        raise UserError(f"cannot make {env_id} with env kwargs {env_kwargs}: {err}") from err
    except Exception as err:  # the env's own code failed: name it in one line
        raise UserError(
            f"cannot make {env_id} ({versions_line(suite)}): {type(err).__name__}: "
            f"{_first_line(err)}"
        ) from err
    if is_goal_space(env.observation_space):
        env = GoalInfo(env)
    env = FlattenObservation(env)
    if convention.goal is not None:
        env = TaskGoalSuccess(env, convention.goal)
    if has_evaluation_tasks(env.unwrapped):
        env = EpisodeGoal(env)
    env = RescaleAction(env)
    env = ActionRepeat(env, repeat)
    if obs != "state":
        check_camera(env, env_id, camera)
        env = PixelObservation(env, image_size, frame_stack, state=obs == "pixels+state")
        pose = goal_pose_for(env_id)
        if pose is not None and obs == "pixels":
            env = RenderedGoal(env, pose)
    if steps is not None:
        env = gym.wrappers.TimeLimit(env, steps)
    env = SeedFirstReset(env, seed)
    env.action_space.seed(seed)
    env.observation_space.seed(seed)
    return env


def make_vector_env(env_id: str, num_envs: int, seed: int, env_kwargs: dict[str, Any],
                    autoreset: bool = False) -> gym.vector.VectorEnv:
    """`num_envs` envs of `env_id`, env i seeded `seed + i`, stepped at once: in this process for
    one (a SyncVectorEnv), in their own processes for more (an AsyncVectorEnv). Reset by the
    caller, or with `autoreset` on the step after an episode ends."""
    from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

    makers = [functools.partial(make_env, env_id, seed=seed + i, **env_kwargs)
              for i in range(num_envs)]
    mode = AutoresetMode.NEXT_STEP if autoreset else AutoresetMode.DISABLED
    if num_envs == 1:
        return SyncVectorEnv(makers, autoreset_mode=mode)
    return AsyncVectorEnv(makers, autoreset_mode=mode, context="spawn")


def parse_env_kwargs(text: str | None) -> dict[str, Any]:
    """`--env-kwargs` JSON text -> dict of keyword arguments; None or empty -> {}."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"--env-kwargs is not valid JSON ({err.msg} at char {err.pos})") from err
    if not isinstance(value, dict):
        raise UserError(f"--env-kwargs must be a JSON object like '{{\"key\": 1}}', got {text!r}")
    return value
