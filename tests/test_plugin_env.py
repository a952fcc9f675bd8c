"""A `module:EnvId` plug-in (tests/toy_plugin.py) works through make_env unchanged."""

from pathlib import Path

import numpy as np
import pytest

from envs import UserError, convention_for, make_env

PLUGIN_ID = "toy_plugin:Counter-v0"


def test_plugin_env_is_made_through_module_import():
    env = make_env(PLUGIN_ID)
    obs, _ = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (3,)
    obs, reward, terminated, truncated, _ = env.step(np.zeros(2, np.float32))
    assert obs[0] == 1.0 and reward == 1.0 and not terminated and not truncated
    env.close()


def test_plugin_env_kwargs_and_convention():
    assert convention_for(PLUGIN_ID).action_repeat == 1
    assert convention_for(PLUGIN_ID).episode_steps == 100
    env = make_env(PLUGIN_ID, terminate_at=2)
    env.reset()
    assert not env.step(np.zeros(2, np.float32))[2]
    assert env.step(np.zeros(2, np.float32))[2]


def test_missing_plugin_module_is_a_user_error():
    with pytest.raises(UserError, match="cannot import module"):
        make_env("no_such_module_xyz:Counter-v0")


def _wmpc(*args, cwd):
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": tests + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, env=env)


def test_an_env_that_raises_mid_run_is_one_line_and_the_run_resumes(tmp_path):
    small = ["--set", "run.seed_steps=50", "--set", "run.pretrain_updates=2", "--set",
             "model.latent_dim=8", "--set", "model.hidden_dim=16", "--set", "train.batch_size=8",
             "--set", "agent.num_elites=4", "--samples", "16", "--iterations", "1",
             "--eval-every", "1000", "--no-progress"]
    args = ["run", "--env", PLUGIN_ID, "--env-kwargs", '{"raise_at": 150}', "--out", "run"]
    failed = _wmpc(*args, "--steps", "300", *small, cwd=tmp_path)
    assert failed.returncode == 2
    line = failed.stderr.strip()
    assert "\n" not in line and "Counter-v0 raised RuntimeError: sensor fault" in line
    assert "at decision 149" in line and "continues from decision 100" in line
    assert "RuntimeError: sensor fault" in (tmp_path / "run" / "error.log").read_text()
    resumed = _wmpc("run", "--out", "run", "--resume", "--steps", "200", "--no-progress",
                    cwd=tmp_path)  # a new env instance: its fault comes 150 steps later
    assert resumed.returncode == 0, resumed.stderr
    assert "steps 200" in resumed.stdout


def test_an_env_that_raises_in_a_vector_worker_is_one_line_with_its_trace_saved(tmp_path):
    small = ["--set", "run.seed_steps=400", "--set", "model.latent_dim=8", "--set",
             "model.hidden_dim=16", "--eval-every", "1000", "--no-progress"]
    args = ["run", "--env", PLUGIN_ID, "--env-kwargs", '{"raise_at": 150}', "--out", "run",
            "--num-envs", "2", "--steps", "400"]
    failed = _wmpc(*args, *small, cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "Counter-v0 raised RuntimeError: sensor fault" in failed.stderr
    log = (tmp_path / "run" / "error.log").read_text()
    assert "toy_plugin.py" in log  # the worker's own trace, not only the parent's re-raise


@pytest.mark.parametrize("num_envs", ["1", "2"])
def test_an_env_that_raises_in_collect_or_eval_is_one_line_and_nothing_is_written(tmp_path,
                                                                                  num_envs):
    faulty = ["--env", PLUGIN_ID, "--env-kwargs", '{"raise_at": 50}', "--num-envs", num_envs]
    for args in (["collect", *faulty, "--steps", "200", "--out", "data", "--no-progress"],
                 ["eval", *faulty, "--planner", "random", "--episodes", "2"]):
        failed = _wmpc(*args, cwd=tmp_path)
        assert failed.returncode == 2, failed.stderr
        line = failed.stderr.strip()
        assert "\n" not in line and f"{PLUGIN_ID} raised RuntimeError: sensor fault" in line
        log = Path(line.split("traceback in ")[1].split(";")[0])
        assert "toy_plugin.py" in log.read_text()  # the env's own frame, also from a worker
        log.unlink()
    assert list(tmp_path.iterdir()) == []


def test_an_env_that_raises_in_a_run_s_evaluation_is_one_line_with_its_trace_in_the_run(tmp_path):
    small = ["--set", "run.seed_steps=30", "--set", "run.pretrain_updates=2", "--set",
             "model.latent_dim=8", "--set", "model.hidden_dim=16", "--set", "train.batch_size=8",
             "--set", "agent.num_elites=4", "--samples", "16", "--iterations", "1",
             "--eval-episodes", "1", "--no-progress"]
    failed = _wmpc("run", "--env", PLUGIN_ID, "--env-kwargs", '{"raise_at": 50}', "--out", "run",
                   "--steps", "40", "--eval-every", "40", *small, cwd=tmp_path)
    assert failed.returncode == 2, failed.stderr
    line = failed.stderr.strip()
    assert "\n" not in line and f"{PLUGIN_ID} raised RuntimeError: sensor fault" in line
    assert "at decision 40 (evaluation, at decision 49 of episode 0)" in line
    assert "toy_plugin.py" in (tmp_path / "run" / "error.log").read_text()
