"""One source of configuration: defaults, the env family's file, --config, --set, flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.config import AgentConfig, RunConfig
from agent.settings import field_docs, parse_sets, resolve
from envs import UserError
from envs.conventions import convention_for, families
from world_model.config import ModelConfig
from world_model.train import TrainConfig


def test_defaults_are_the_dataclasses_own():
    got = resolve("dm_control/cheetah-run-v0")
    assert got.agent == AgentConfig() and got.train == TrainConfig() and got.model == {}
    assert got.run == RunConfig(env_id="dm_control/cheetah-run-v0")


def test_layers_apply_in_order(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("agent:\n  horizon: 7\n  num_samples: 64\nmodel:\n  latent_dim: 48\n")
    got = resolve("PointMaze_UMaze-v3", config_file=path, sets=["agent.num_samples=32"],
                  flags={"agent": {"iterations": 5, "planner": None}})
    assert got.agent.planner == "cem"  # the family file (the flag was not given)
    assert (got.agent.horizon, got.agent.num_samples, got.agent.iterations) == (7, 32, 5)
    assert got.model == {"latent_dim": 48, "hidden_dim": 128}
    assert got.train.horizon == 8 and got.train.batch_size == 128


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"sets": ["agent.horizn=3"]}, "unknown setting agent.horizn"),
    ({"sets": ["agent.horizon"]}, "SECTION.FIELD=VALUE"),
    ({"sets": ["world.size=3"]}, "unknown section 'world'"),
    ({"sets": ["model.obs_dim=3"]}, "unknown setting model.obs_dim"),
    ({"sets": ["agent.horizon=-2"]}, "horizon must be >= 1"),
    ({"sets": ["run.eval_every=0"]}, "eval_every must be >= 1"),
    ({"flags": {"agent": {"num_samples": 0}}}, "num_samples must be >= 1"),
])
def test_bad_settings_are_one_user_error(kwargs, words):
    with pytest.raises(UserError, match=words):
        resolve("dm_control/cheetah-run-v0", **kwargs)


def test_a_bad_config_file_is_one_user_error(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("agent: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML"):
        resolve("dm_control/cheetah-run-v0", config_file=broken)
    with pytest.raises(UserError, match="cannot read"):
        resolve("dm_control/cheetah-run-v0", config_file=tmp_path / "missing.yaml")


def test_set_values_are_read_as_yaml():
    assert parse_sets(["agent.init_std=null", "run.steps=5", "agent.planner=cem",
                       "agent.use_critic=false"]) == {
        "agent": {"init_std": None, "planner": "cem", "use_critic": False}, "run": {"steps": 5}}


def test_every_field_has_a_docstring():
    for cls in (AgentConfig, RunConfig, TrainConfig, ModelConfig):
        names = {f for f in cls.__dataclass_fields__}
        assert names == set(field_docs(cls)), cls.__name__


def test_the_family_files_are_the_task_spec():
    names = {f.name for f in families()}
    assert {"dmc", "pointmaze"} <= names
    dmc = convention_for("dm_control/walker-walk-v0")
    assert (dmc.action_repeat, dmc.episode_steps, dmc.episodic) == (2, 500, False)
    maze = convention_for("PointMaze_UMaze-v3")
    assert (maze.action_repeat, maze.episode_steps) == (5, 60)  # 300 simulator steps / 5
    assert convention_for("HalfCheetah-v5").episodic


def test_wmpc_run_help_lists_each_flag_default_from_the_dataclass():
    out = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "run",
                          "--help"], capture_output=True, text=True, env={"COLUMNS": "200",
                                                                          "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert f"(default: {AgentConfig.horizon})" in out.stdout
    assert f"(default: {RunConfig.eval_every})" in out.stdout
    assert len(out.stdout.splitlines()) < 60
