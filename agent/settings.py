"""A run's configuration from one source of truth.

Layers, each over the one before: the dataclass defaults (`RunConfig`, `AgentConfig`,
`ModelConfig`, `TrainConfig`: one default and one docstring per field), the env family's file
(`envs/families/*.yaml`), the user's `--config FILE` (YAML with the same sections), then the
`--set SECTION.FIELD=VALUE` flags and the command's own flags. The command line and the
benchmarks both resolve through `resolve`, so a default is typed once.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
from pathlib import Path
from typing import Any

import yaml

from agent.config import AgentConfig, RunConfig
from envs.conventions import CONFIG_SECTIONS, config_overrides
from envs.errors import UserError
from world_model.config import ModelConfig
from world_model.train import TrainConfig

CLASSES = {"run": RunConfig, "agent": AgentConfig, "model": ModelConfig, "train": TrainConfig}
"""The config dataclass of each section."""
DERIVED = {"run": {"env_id"}, "model": {"obs_dim", "act_dim", "image_shape", "episodic"}}
"""Fields set from the env, never by a layer."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The resolved configs of one run; `model` holds the ModelConfig fields set by a layer (the
    env supplies the sizes)."""

    run: RunConfig
    agent: AgentConfig
    train: TrainConfig
    model: dict[str, Any]


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring under it in the class body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)):
            docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def read_config_file(path: Path) -> dict[str, dict]:
    """The sections of a user's YAML config file; a missing or malformed one is one UserError."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise UserError(f"cannot read --config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise UserError(f"--config {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UserError(f"--config {path}: write sections {', '.join(CONFIG_SECTIONS)} with "
                        "fields under them")
    return data


def parse_sets(items: list[str] | None) -> dict[str, dict]:
    """`--set SECTION.FIELD=VALUE` items -> sections; VALUE is read as YAML (3, 0.5, true,
    null, cem)."""
    out: dict[str, dict] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not (sep and dot and name):
            raise UserError(f"--set {item!r}: write SECTION.FIELD=VALUE, e.g. agent.horizon=5")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        out.setdefault(section, {})[name] = value
    return out


def _check(layer: dict[str, dict], where: str) -> None:
    for section, values in layer.items():
        if section not in CLASSES:
            raise UserError(f"{where}: unknown section {section!r}; sections are "
                            f"{', '.join(CONFIG_SECTIONS)}")
        names = {f.name for f in dataclasses.fields(CLASSES[section])}
        names -= DERIVED.get(section, set())
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserError(f"{where}: unknown setting {section}.{unknown[0]}; "
                            f"`wmpc run --help` and the docstrings of {CLASSES[section].__name__} "
                            "list the fields")


def resolve(env_id: str, *, config_file: Path | None = None,
            sets: list[str] | None = None, flags: dict[str, dict] | None = None) -> Settings:
    """The settings of a run on `env_id`: defaults, family, `config_file`, `sets`, `flags`
    (flags whose value is None are not given)."""
    layers = [(config_overrides(env_id), f"family file of {env_id}")]
    if config_file is not None:
        layers.append((read_config_file(config_file), f"--config {config_file}"))
    layers.append((parse_sets(sets), "--set"))
    given = {s: {k: v for k, v in values.items() if v is not None}
             for s, values in (flags or {}).items()}
    layers.append((given, "flags"))
    merged: dict[str, dict] = {section: {} for section in CLASSES}
    for layer, where in layers:
        _check(layer, where)
        for section, values in layer.items():
            merged[section].update(values)
    try:
        return Settings(RunConfig(**{**merged["run"], "env_id": env_id}),
                        AgentConfig(**merged["agent"]), TrainConfig(**merged["train"]),
                        merged["model"])
    except (TypeError, ValueError) as err:
        raise UserError(f"bad setting: {err}") from None
