"""Env suites: one env of each installed suite makes, resets and steps; a missing package or a
combination of versions known to break is one `UserError` line; `wmpc envs ID` describes an id."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re

import mujoco
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from envs import make_env, suites
from envs.errors import UserError

SUITE_ENVS = [
    ("dm_control", "dm_control/cartpole-swingup-v0", {}),
    ("gymnasium", "HalfCheetah-v5", {}),
    ("gymnasium_robotics", "FetchReach-v4", {}),
    ("gymnasium_robotics", "PointMaze_UMaze-v3", {}),
    ("metaworld", "metaworld:Meta-World/MT1", {"env_name": "reach-v3"}),
    ("ogbench", "ogbench:pointmaze-medium-v0", {}),
]


@pytest.mark.parametrize(
    ("module", "env_id", "kwargs"), SUITE_ENVS, ids=[env_id for _, env_id, _ in SUITE_ENVS]
)
def test_one_env_of_each_installed_suite_makes_resets_and_steps(module, env_id, kwargs):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    suite = suites.suite_for_id(env_id)
    if suite is not None:
        try:
            suites.check_compatible(env_id, suite)
        except UserError as err:  # a combination the detection names (tested below)
            pytest.skip(f"known broken combination here: {err}")
    env = make_env(env_id, seed=0, **kwargs)
    obs, _ = env.reset()
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.all(np.isfinite(obs)) and np.isfinite(reward)
    env.close()


def test_fetch_reports_its_goals_and_success():
    if importlib.util.find_spec("gymnasium_robotics") is None:
        pytest.skip("gymnasium_robotics is not installed")
    env = make_env("FetchReach-v4")
    obs, info = env.reset()
    layout = env.get_wrapper_attr("goal_layout")
    np.testing.assert_allclose(obs[layout["desired_goal"]], info["desired_goal"])
    _, _, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert "is_success" in info
    env.close()


_JOINTS_XML = """
<mujoco>
  <worldbody>
    <body name="free"><freejoint name="free"/><geom size="0.1"/></body>
    <body name="ball" pos="1 0 0"><joint name="ball" type="ball"/><geom size="0.1"/>
      <body name="hinge" pos="0.3 0 0"><joint name="hinge" type="hinge"/><geom size="0.1"/>
        <body name="slide" pos="0.3 0 0"><joint name="slide" type="slide"/><geom size="0.1"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def test_patched_robotics_joint_helpers_address_every_joint_type():
    model = mujoco.MjModel.from_xml_string(_JOINTS_XML)
    data = mujoco.MjData(model)
    expected_qpos = {"free": slice(0, 7), "ball": slice(7, 11), "hinge": slice(11, 12),
                     "slide": slice(12, 13)}
    expected_qvel = {"free": slice(0, 6), "ball": slice(6, 9), "hinge": slice(9, 10),
                     "slide": slice(10, 11)}
    for name in expected_qpos:
        assert suites._joint_slice(model, name, velocity=False) == expected_qpos[name]
        assert suites._joint_slice(model, name, velocity=True) == expected_qvel[name]
    suites._set_joint_qpos(model, data, "ball", [0.0, 1.0, 0.0, 0.0])
    suites._set_joint_qvel(model, data, "hinge", 0.5)
    np.testing.assert_array_equal(suites._get_joint_qpos(model, data, "ball"), [0, 1, 0, 0])
    np.testing.assert_array_equal(suites._get_joint_qvel(model, data, "hinge"), [0.5])
    with pytest.raises(AssertionError):
        suites._set_joint_qpos(model, data, "free", [0.0, 1.0])


def test_installed_dm_control_matches_the_installed_mujoco():
    bindings = suites.dm_control_bindings()
    if bindings is None:
        pytest.skip("dm_control is not installed")
    _, fields = bindings
    assert suites.missing_mujoco_fields(fields) == []


def _fake_versions(monkeypatch, versions: dict[str, str | None]) -> None:
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name in versions:
            if versions[name] is None:
                raise importlib.metadata.PackageNotFoundError(name)
            return versions[name]
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_metaworld_with_a_mujoco_it_cannot_run_is_named_in_one_line(monkeypatch):
    _fake_versions(monkeypatch, {"metaworld": "3.1.1", "mujoco": "3.17.0"})
    with pytest.raises(UserError) as err:
        make_env("metaworld:Meta-World/MT1", env_name="reach-v3")
    text = _one_line(err)
    for part in ("metaworld:Meta-World/MT1", "metaworld 3.1.1", "mujoco 3.17.0", "pip install"):
        assert part in text


def test_metaworld_with_its_own_mujoco_passes_the_check(monkeypatch):
    _fake_versions(monkeypatch, {"metaworld": "3.1.1", "mujoco": "3.3.0"})
    suites.check_compatible("metaworld:Meta-World/MT1", suites.METAWORLD)


@pytest.mark.parametrize(("env_id", "extra"), [("ogbench:pointmaze-medium-v0", "ogbench"),
                                               ("metaworld:Meta-World/MT1", "metaworld")])
def test_a_missing_suite_package_is_named_with_its_install_command(monkeypatch, env_id, extra):
    _fake_versions(monkeypatch, {extra: None})
    with pytest.raises(UserError) as err:
        make_env(env_id)
    text = _one_line(err)
    assert env_id in text and f"pip install 'wmpc[{extra}]'" in text


def test_a_bare_suite_id_names_the_module_prefix_or_the_package(monkeypatch):
    env_id = "Meta-World/NotRegistered-v0"  # unknown also where metaworld was imported
    _fake_versions(monkeypatch, {"metaworld": "3.1.1"})
    with pytest.raises(UserError) as err:
        make_env(env_id)
    assert f"metaworld:{env_id}" in _one_line(err)
    _fake_versions(monkeypatch, {"metaworld": None})
    with pytest.raises(UserError) as err:
        make_env(env_id)
    assert "pip install 'wmpc[metaworld]'" in _one_line(err)


def test_dm_control_built_for_another_mujoco_is_named_in_one_line(monkeypatch):
    if importlib.util.find_spec("dm_control") is None:
        pytest.skip("dm_control is not installed")
    monkeypatch.setattr(
        suites, "dm_control_bindings",
        lambda: ("3.17.0", {"mjmodel": ("nq", "no_such_field"), "mjdata": ("qpos",)}),
    )
    _fake_versions(monkeypatch, {"dm-control": "1.0.50", "mujoco": "4.0.1"})
    with pytest.raises(UserError) as err:
        make_env("dm_control/cartpole-swingup-v0")
    text = _one_line(err)
    for part in ("dm-control 1.0.50", "mujoco 3.17.0", "mujoco 4.0.1", "Model.no_such_field",
                 "pip install 'mujoco==3.17.0'"):
        assert part in text


def test_an_env_whose_construction_fails_is_one_user_error():
    import gymnasium as gym

    def broken(**_):
        raise RuntimeError("the simulator could not start\nsecond line")

    gym.register("BrokenOnMake-v0", entry_point=broken)
    try:
        with pytest.raises(UserError) as err:
            make_env("BrokenOnMake-v0")
        text = _one_line(err)
        assert "BrokenOnMake-v0" in text and "RuntimeError: the simulator could not start" in text
    finally:
        gym.registry.pop("BrokenOnMake-v0")


def test_header_versions_read_as_releases():
    assert suites._header_version(330) == "3.3.0"
    assert suites._header_version(3017000) == "3.17.0"
    assert suites._header_version(4000001) == "4.0.1"


def _rows(output: str) -> dict[str, str]:
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in output.splitlines() if line)


def _envs_cli(*args: str):
    from agent.commands import envs_list

    app = typer.Typer()
    app.command("envs")(envs_list.command)
    app.command("other")(lambda: None)  # two commands: `envs` stays a sub-command
    return CliRunner().invoke(app, ["envs", *args])


def test_envs_describes_a_goal_env():
    if importlib.util.find_spec("gymnasium_robotics") is None:
        pytest.skip("gymnasium_robotics is not installed")
    result = _envs_cli("FetchReach-v4")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert rows["id"] == "FetchReach-v4"
    assert "desired_goal/achieved_goal" in rows["goal"]
    assert "info['is_success']" in rows["success"]
    assert rows["oracle"].startswith("no:")
    assert "4 in [-1, 1]" in rows["action"]


def test_envs_describes_a_module_env_with_kwargs():
    result = _envs_cli("toy_plugin:Counter-v0", "--env-kwargs", '{"terminate_at": 7}')
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert rows["env kwargs"] == "{'terminate_at': 7}"
    assert rows["suite"].startswith("not a known suite")
    assert rows["goal"] == "none"
    assert rows["success"].startswith("none")
    assert rows["observation"].startswith("3 float32")


def test_envs_describes_a_dm_control_task_with_its_oracle():
    if importlib.util.find_spec("dm_control") is None:
        pytest.skip("dm_control is not installed")
    result = _envs_cli("dm_control/cartpole-swingup-v0")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert rows["oracle"].startswith("yes")
    assert rows["action repeat"].startswith("2")


def test_envs_kwargs_without_an_id_is_a_user_error():
    result = _envs_cli("--env-kwargs", "{}")
    assert isinstance(result.exception, UserError)


def test_copy_data_without_the_binding_steps_like_the_source():
    model = mujoco.MjModel.from_xml_string(_JOINTS_XML)
    src, dst = mujoco.MjData(model), mujoco.MjData(model)
    src.qvel[:] = np.linspace(-1.0, 1.0, model.nv)
    for _ in range(5):
        mujoco.mj_step(model, src)
    suites._copy_data_by_state(dst, model, src)  # the path for mujoco < 3.5
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    states = [np.empty(mujoco.mj_stateSize(model, spec)) for _ in range(2)]
    for data, state in zip((src, dst), states, strict=True):
        mujoco.mj_getState(model, data, state, spec)
    np.testing.assert_array_equal(states[1], states[0])
    for _ in range(5):
        mujoco.mj_step(model, src)
        mujoco.mj_step(model, dst)
    np.testing.assert_array_equal(dst.qpos, src.qpos)
    np.testing.assert_array_equal(dst.qvel, src.qvel)
    assert dst.time == src.time


def test_ogbench_goal_of_each_episode_is_read_and_reaching_it_is_success():
    if importlib.util.find_spec("ogbench") is None:
        pytest.skip("ogbench is not installed")
    env = make_env("ogbench:pointmaze-medium-v0", seed=0)
    obs, info = env.reset(seed=2)
    goal = env.get_wrapper_attr("episode_goal")
    np.testing.assert_allclose(goal, np.asarray(info["goal"], np.float32).ravel())
    assert env.unwrapped.cur_task_id == 3  # seed % 5 + 1
    env.unwrapped.set_xy(goal[:2])
    _, _, _, _, info = env.step(np.zeros(2, np.float32))
    assert info["success"]
    env.close()
