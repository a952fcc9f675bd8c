"""`wmpc envs`: known env ids with their sizes and conventions; `wmpc envs ID` describes one."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def command(
    env_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="Describe this env id (`module:EnvId` too): spaces, episode length, action "
            "repeat, goal convention, success test, oracle support.",
            show_default=False,
        ),
    ] = None,
    env_kwargs: Annotated[
        str | None,
        typer.Option("--env-kwargs", help="JSON keyword arguments for the env of ID."),
    ] = None,
    all_ids: Annotated[
        bool,
        typer.Option("--all", help="Every registered id (sizes only for the default list)."),
    ] = False,
) -> None:
    """List env ids, observation and action sizes, action repeat and episode length."""
    from envs import parse_env_kwargs
    from envs.errors import UserError

    if env_id is None:
        if env_kwargs is not None:
            raise UserError("--env-kwargs describes one env: give its ID, `wmpc envs ID ...`")
        _list(all_ids)
        return
    if all_ids:
        raise UserError("--all lists ids; leave it out to describe one ID")
    rows = describe(env_id, parse_env_kwargs(env_kwargs))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name.ljust(width)}  {value}")


def _list(all_ids: bool) -> None:
    from envs import convention_for, known_env_ids, make_env

    shown = set(known_env_ids())
    rows = [("id", "obs", "act", "repeat", "episode", "convention")]
    for env_id in known_env_ids(all_ids):
        convention = convention_for(env_id)
        obs = act = "-"
        if env_id in shown:
            env = make_env(env_id)
            obs, act = str(env.observation_space.shape[0]), str(env.action_space.shape[0])
            env.close()
        episode = "-" if convention.episode_steps is None else str(convention.episode_steps)
        rows.append((env_id, obs, act, str(convention.action_repeat), episode, convention.source))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


def _space(space: Any) -> str:
    """A space in one short line: `Box(-1.0, 1.0, (4,), float32)`, Dicts by key."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Dict):
        return "Dict(" + ", ".join(f"{k}: {_space(v)}" for k, v in space.spaces.items()) + ")"
    if isinstance(space, gym.spaces.Box):
        low, high = space.low.min(), space.high.max()
        bounds = f"{low:g}, {high:g}" if space.shape else ""
        return f"Box({bounds}, {space.shape}, {space.dtype})"
    return str(space)


def _slices(layout: dict[str, slice]) -> str:
    return ", ".join(f"{key} [{part.start}:{part.stop}]" for key, part in layout.items())


def _success_key(info: dict) -> str | None:
    for key in ("success", "is_success"):
        if key in info:
            return key
    return None


def _goal_convention(env: Any, suite: Any, reset_info: dict, flat_layout: str) -> str:
    from envs.suites import METAWORLD, OGBENCH

    try:
        goal_layout = env.get_wrapper_attr("goal_layout")
    except AttributeError:
        goal_layout = None
    if goal_layout is not None:
        return ("desired_goal/achieved_goal in the observation (Gymnasium-Robotics GoalEnv); "
                f"flat slices: {_slices(goal_layout)}")
    if "goal" in reset_info:
        tasks = getattr(env.unwrapped, "task_infos", None)
        evaluation = (f"; evaluation tasks: reset(options={{'task_id': 1..{len(tasks)}}})"
                      if tasks else "")
        owner = "OGBench" if suite is OGBENCH else "the env"
        return (f"per-episode goal in reset info['goal'] ({owner}), not in the observation "
                f"({flat_layout}){evaluation}")
    if env.has_wrapper_attr("task_goal"):
        goal = env.get_wrapper_attr("task_goal")
        part = env.get_wrapper_attr("goal_slice")
        return (f"the task's target: {goal.key} [{part.start}:{part.stop}] -> {list(goal.target)}"
                f" (`wmpc eval` plans to it: {goal.episode_steps}-decision episodes, "
                f"{goal.agent.get('goal_energy', 'min')} energy over H{goal.agent['horizon']})")
    if suite is METAWORLD:
        return ("none in the observation: the task (env_name) is fixed and Meta-World reports "
                "info['success']")
    return "none"


def _oracle_support(env: Any, horizon: int) -> str:
    """Whether `SimulatorOracle` takes this env: built, synced and one rollout of `horizon`
    decisions run (longer than an episode, so that the env's own step counters are exercised)."""
    import numpy as np

    from envs.oracle import SimulatorOracle

    try:
        with SimulatorOracle(env, num_threads=1) as oracle:
            oracle.sync()
            oracle.rollout(np.zeros((1, horizon, oracle.action_dim)))
            path = "fast path" if oracle.uses_fast_path else "generic path"
    except Exception as err:  # the oracle's own refusal or a failure of the env under it
        text = str(err).strip().splitlines()
        return f"no: {type(err).__name__}: {text[0] if text else '(no message)'}"
    return f"yes ({path}; checked with one {horizon}-decision rollout)"


def _own_time_limit(env: Any) -> int | None:
    """The step limit of a TimeLimit the env itself wraps (below make_env's wrappers), if any."""
    import gymnasium as gym

    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env._max_episode_steps
        env = env.env
    return None


def describe(env_id: str, env_kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) rows describing `env_id` made by `make_env` with `env_kwargs`."""
    import numpy as np

    from envs import convention_for, make_env
    from envs.conventions import env_spec
    from envs.suites import suite_for_entry_point, suite_for_id, versions_line

    env = make_env(env_id, **env_kwargs)
    try:
        spec = env_spec(env_id)
        suite = suite_for_entry_point(spec.entry_point) if spec is not None else None
        suite = suite or suite_for_id(env_id)
        convention = convention_for(env_id)
        repeat = env.get_wrapper_attr("action_repeat")
        inner = env.unwrapped
        layout = env.get_wrapper_attr("obs_layout")
        obs_size = env.observation_space.shape[0]
        own_limit = _own_time_limit(env)
        if convention.episode_steps is not None:
            episode = (f"{convention.episode_steps} decisions = "
                       f"{convention.episode_steps * repeat} simulator steps")
        elif own_limit is not None:
            episode = f"{own_limit} env steps (the env's own time limit)"
        else:
            episode = "no limit"
        decisions = convention.episode_steps or (own_limit and -(-own_limit // repeat)) or 1
        _, reset_info = env.reset()
        _, _, _, _, step_info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        key = _success_key(step_info)
        success = (f"info[{key!r}] (the env's own test)" if key is not None
                   else "none (the env reports no success; returns only)")
        if env.has_wrapper_attr("task_goal"):
            success = f"info['success']: {env.get_wrapper_attr('task_goal').description}"
        flat_layout = _slices(layout)
        rows = [
            ("id", env_id),
            ("suite", f"{suite.name} ({versions_line(suite)})" if suite is not None
             else "not a known suite (its own module)"),
            ("env kwargs", str(env_kwargs) if env_kwargs else "none"),
            ("observation", f"{obs_size} float32 (flat: {flat_layout}) from "
             f"{_space(inner.observation_space)}"),
            ("action", f"{env.action_space.shape[0]} in [-1, 1], rescaled to "
             f"{_space(inner.action_space)}"),
            ("action repeat", f"{repeat} ({convention.source})"),
            ("episode", episode),
            ("terminates", "yes (the env may terminate)" if getattr(convention, "episodic", True)
             else "no (only the time limit ends an episode)"),
            ("goal", _goal_convention(env, suite, reset_info, flat_layout)),
            ("success", success),
            ("oracle", _oracle_support(env, min(decisions, 1000) + 1)),
        ]
    finally:
        env.close()
    return rows
