"""`wmpc envs`: known env ids with observation/action sizes and their conventions."""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    all_ids: Annotated[
        bool,
        typer.Option("--all", help="Every registered id (sizes only for the default list)."),
    ] = False,
) -> None:
    """List env ids, observation and action sizes, action repeat and episode length."""
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
