"""Command-line options generated from the config dataclasses: help from the first sentence of
each field's docstring (its asides in parentheses left to `--set` and the docstring), the
default shown from the field (a flag left out is not applied, so the env's family file and
`--config` can set the field)."""

from __future__ import annotations

import dataclasses
import re

import typer


def _default(cls: type, name: str):
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def option(section: str, name: str, *decls: str):
    """A typer option (default None: not given) for field `name` of config section `section`."""
    from agent.settings import CLASSES, field_docs

    cls = CLASSES[section]
    doc = re.sub(r" \([^()]*\)", "", field_docs(cls)[name].split(". ")[0]).rstrip(".")
    return typer.Option(None, *decls, show_default=False,
                        help=f"{doc} (default: {_default(cls, name)}).")


CONFIG = typer.Option(None, "--config", help="YAML file with sections run, agent, model, train "
                      "whose fields override the defaults and the env's family file.")
SET = typer.Option(None, "--set", help="SECTION.FIELD=VALUE, repeatable, over --config: any "
                   "field of RunConfig, AgentConfig, ModelConfig, TrainConfig (their docstrings).")

OBS = typer.Option(None, "--obs", help="state; pixels: 3 stacked 64 x 64 RGB frames "
                   "(image_size, camera, frame_stack in --env-kwargs); or pixels+state: both. "
                   "Default: state, or a run's own.")


def with_obs(env_kwargs: dict, obs: str | None) -> dict:
    """`env_kwargs` with `--obs` applied (make_env checks the value)."""
    return env_kwargs if obs is None else {**env_kwargs, "obs": obs}
