"""Torch threads: how many the CLI uses (`WMPC_TORCH_THREADS`, else the cores it may use that other
processes leave free: every one on an idle machine, fewer beside a busy process), and
`wmpc bench threads`, which measures every setting in its own processes and reports it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time

import pytest

from agent import cpu_load
from agent.cli import torch_threads
from benchmarks import threads
from envs.errors import UserError


def test_default_is_the_usable_cores_other_processes_leave_free(monkeypatch):
    monkeypatch.delenv("WMPC_TORCH_THREADS", raising=False)
    monkeypatch.setattr(cpu_load, "busy_cores_of_others", lambda: 0.1)
    assert torch_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(cpu_load, "busy_cores_of_others", lambda: 1.0)
    assert torch_threads() == max(1, len(os.sched_getaffinity(0)) - 1)


def test_threads_for_a_busy_machine():
    assert [cpu_load.threads_for(2, busy) for busy in (0.0, 0.4, 0.6, 1.0, 1.9, 3.0)] == [
        2, 2, 1, 1, 1, 1]
    assert cpu_load.threads_for(16, 3.2) == 13 and cpu_load.threads_for(1, 0.0) == 1


def test_a_busy_process_beside_is_seen():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        busy = cpu_load.busy_cores_of_others(1.0)
    finally:
        spinner.kill()
        spinner.wait()
    assert busy >= 0.7  # the spinner's core (and whatever else runs here)


def test_environment_variable_wins(monkeypatch):
    monkeypatch.setenv("WMPC_TORCH_THREADS", "3")
    assert torch_threads() == 3


@pytest.mark.parametrize("text", ["0", "two", "-1", ""])
def test_bad_value_is_a_user_error(monkeypatch, text):
    monkeypatch.setenv("WMPC_TORCH_THREADS", text)
    with pytest.raises(UserError, match="WMPC_TORCH_THREADS"):
        torch_threads()


def test_bad_value_is_one_line_on_the_command_line():
    env = {**os.environ, "WMPC_TORCH_THREADS": "many"}
    done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "envs"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wmpc: error: WMPC_TORCH_THREADS must be a positive whole number, got 'many'"]


# --- wmpc bench threads ---------------------------------------------------------------------

def test_two_runs_side_by_side_are_measured_and_reported(tmp_path):
    threads.main(["--env", "point_env:PointMass-v0", "--threads", "1", "--runs", "2",
                  "--seconds", "0.5", "--out", str(tmp_path)])
    with (tmp_path / "threads_cpu.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    each, total = float(row["decisions_per_s_each"]), float(row["decisions_per_s_total"])
    assert (row["runs"], row["threads"]) == ("2", "1")
    assert each > 0 and abs(total - 2 * each) < 1e-6 * total + 0.02
    assert float(row["plan_ms"]) > 0 and float(row["update_ms"]) > 0
    assert (tmp_path / "threads_cpu.png").stat().st_size > 0
    assert "| 2 | 1 | 1 | v |" in (tmp_path / "README.md").read_text()


def test_default_threads_are_measured_alone_then_beside_a_second_run(tmp_path):
    threads.main(["--env", "point_env:PointMass-v0", "--threads", "auto", "--runs", "1,2",
                  "--seconds", "0.5", "--out", str(tmp_path)])
    with (tmp_path / "threads_cpu.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["runs"] for r in rows] == ["1", "2"]
    assert rows[0]["threads"].startswith("auto (") and rows[1]["threads"].count("+") == 1
    assert all(float(r["decisions_per_s_each"]) > 0 for r in rows)


def test_envs_per_run_are_measured_with_every_env_s_decisions(tmp_path):
    threads.main(["--env", "point_env:PointMass-v0", "--threads", "1", "--runs", "1",
                  "--num-envs", "1,2", "--seconds", "0.5", "--out", str(tmp_path)])
    with (tmp_path / "threads_cpu.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["num_envs"] for r in rows] == ["1", "2"]
    assert all(float(r["decisions_per_s_each"]) > 0 for r in rows)
    assert "| 1 | 1 | 2 | v |" in (tmp_path / "README.md").read_text()


def test_each_critic_is_measured_under_its_own_name(tmp_path):
    threads.main(["--env", "point_env:PointMass-v0", "--threads", "1", "--runs", "1",
                  "--seconds", "0.3", "--critics", "v,q", "--name", "critics",
                  "--out", str(tmp_path)])
    with (tmp_path / "critics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["critic"] for r in rows] == ["v", "q"]
    assert all(float(r["update_ms"]) > 0 for r in rows)
    text = (tmp_path / "README.md").read_text()
    assert "## Threads: critics" in text and "| 1 | 1 | 1 | q |" in text


def test_only_the_usable_cores_count_and_guest_time_once(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    line = "cpu{} {} 0 0 {} 0 0 0 0 {} 0\n"  # user, idle and guest (already inside user)
    stat.write_text("cpu  0 0 0 0 0 0 0 0 0 0\n" + line.format(0, 100, 100, 50)
                    + line.format(1, 200, 0, 0) + "intr 5\n")
    monkeypatch.setattr(cpu_load, "STAT", stat)
    assert cpu_load._jiffies({0}) == (100, 200)
    assert cpu_load._jiffies({0, 1}) == (300, 400)
    assert cpu_load._jiffies({7}) is None


@pytest.fixture
def inductor_threads():
    """Inductor's `cpp.dynamic_threads`, which a `ThreadShare` turns on, as it was after the
    test."""
    import torch._inductor.config

    before = torch._inductor.config.cpp.dynamic_threads
    yield
    torch._inductor.config.cpp.dynamic_threads = before


@pytest.mark.usefixtures("inductor_threads")
def test_a_long_run_gives_a_core_back_when_a_busy_process_starts_beside_it(monkeypatch):
    import torch
    monkeypatch.setattr(cpu_load, "usable_cpus", lambda: {0, 1})
    stat = []
    monkeypatch.setattr(cpu_load, "_jiffies", lambda cpus: stat[-1])
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        stat.append((0, 200))
        share = cpu_load.ThreadShare(period=0.2)
        stat.append((100, 400))  # one of the two cores busy meanwhile, not by this process
        assert share.check() == 2  # the period has not passed: no new look
        time.sleep(0.3)
        assert share.check() == 1
        stat.append((110, 600))  # idle again
        time.sleep(0.3)
        assert share.check() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.usefixtures("inductor_threads")
def test_thread_share_only_where_the_count_is_not_fixed(monkeypatch):
    monkeypatch.setattr(cpu_load, "usable_cpus", lambda: {0, 1})
    monkeypatch.setenv("WMPC_TORCH_THREADS", "2")
    assert cpu_load.thread_share() is None
    monkeypatch.delenv("WMPC_TORCH_THREADS")
    assert isinstance(cpu_load.thread_share(), cpu_load.ThreadShare)
    monkeypatch.setattr(cpu_load, "usable_cpus", lambda: {0})
    assert cpu_load.thread_share() is None


@pytest.mark.usefixtures("inductor_threads")
def test_a_run_with_a_share_gives_a_core_back_as_it_goes(monkeypatch, tmp_path):
    import torch

    from agent.online import AgentConfig, OnlineRun, RunConfig, TrainConfig
    monkeypatch.setattr(cpu_load, "usable_cpus", lambda: {0, 1})
    monkeypatch.setattr(cpu_load, "_others", lambda *reading: 1.0)  # a core busy beside the run
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cfg = RunConfig(env_id="point_env:PointMass-v0", steps=60, seed_steps=50,
                        pretrain_updates=3, eval_every=60, eval_episodes=1)
        OnlineRun(tmp_path, cfg, AgentConfig(num_samples=16, iterations=2, num_elites=4),
                  TrainConfig(batch_size=8, horizon=2),
                  {"latent_dim": 8, "hidden_dim": 16, "ensemble_size": 2}
                  ).run(False, False, threads=cpu_load.ThreadShare(period=0.0))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_run_s_own_children_are_not_others():
    """A run's env workers are its own processes: their CPU time is the run's, so a run with
    several envs does not give its cores away to itself."""
    share = cpu_load.ThreadShare(period=3600)
    spinner = subprocess.Popen([sys.executable, "-c",
                                "import time\nend = time.process_time() + 0.6\n"
                                "while time.process_time() < end: pass"])
    try:
        spinner.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spinner.kill()
        raise
    assert share.own_seconds() < 0.3  # an ended child (0.6 s of CPU), reaped, counts no more
    share._mark()
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        deadline = time.monotonic() + 30
        while share.own_seconds() < 0.3 and time.monotonic() < deadline:
            time.sleep(0.1)
        own = share.own_seconds()
    finally:
        child.kill()
        child.wait()
    assert own >= 0.3  # the live child's time is the run's
