"""`benchmarks.launcher`: jobs side by side in their own processes, a failed job retried once.

The jobs are the functions below (no training): each child imports this module to find them.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from benchmarks.launcher import launch, make_launcher
from envs.errors import UserError


def meet(job: tuple[Path, str, str]) -> None:
    """Leave a mark and wait for the other job's: it only ends if both run at once."""
    folder, me, other = job
    (folder / me).write_text(os.environ.get("WMPC_TORCH_THREADS", "unset"))
    deadline = time.monotonic() + 120
    while not (folder / other).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{other} never started beside {me}")
        time.sleep(0.05)


def flaky(job: tuple[Path, str]) -> None:
    """Fails on its first attempt, succeeds on the second (a resumable run that crashed)."""
    folder, name = job
    marker = folder / f"{name}.tried"
    if not marker.exists():
        marker.write_text("")
        raise RuntimeError("first attempt\nfails")
    (folder / f"{name}.done").write_text("")


def broken(job: tuple[Path, str]) -> None:
    """Always fails."""
    folder, name = job
    with (folder / f"{name}.attempts").open("a") as handle:
        handle.write("x")
    raise ValueError("no such task")


def dispatch(job: tuple) -> None:
    {"flaky": flaky, "broken": broken}[job[1]](job)


def test_two_jobs_run_side_by_side_with_one_torch_thread_each(tmp_path, monkeypatch):
    monkeypatch.delenv("WMPC_TORCH_THREADS", raising=False)
    jobs = {"a": (tmp_path, "a", "b"), "b": (tmp_path, "b", "a")}
    assert launch(jobs, meet, workers=2, log=lambda _: None) == {}
    assert (tmp_path / "a").read_text() == (tmp_path / "b").read_text() == "1"


def test_a_failed_job_is_retried_once_then_reported_while_others_finish(tmp_path):
    seen = []
    jobs = {"flaky": (tmp_path, "flaky"), "broken": (tmp_path, "broken")}
    failed = launch(jobs, dispatch, workers=2, on_change=lambda: seen.append(1), log=print)
    assert failed == {"broken": "ValueError: no such task"}
    assert (tmp_path / "flaky.done").exists()
    assert (tmp_path / "broken.attempts").read_text() == "xx"  # tried twice, not more
    assert len(seen) >= 2  # the parent heard of the jobs' ends (to rewrite its files)


def test_a_launcher_that_is_not_installed_is_one_line(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("ray", "submitit") else real(name, *a))
    for name in ("ray", "slurm"):
        with pytest.raises(UserError, match=rf"pip install 'wmpc\[{name}\]'"):
            make_launcher(name)
    with pytest.raises(UserError, match="unknown launcher"):
        make_launcher("kubernetes")


@pytest.mark.slow
def test_submitit_local_executor_runs_retries_and_reports(tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # the jobs' module, in the child
    slurm = make_launcher("slurm", tmp_path / "logs", {"timeout_min": 5}, cluster="local")
    jobs = {"flaky": (tmp_path, "flaky"), "broken": (tmp_path, "broken")}
    failed = launch(jobs, dispatch, workers=2, log=print, launcher=slurm)
    assert failed == {"broken": "ValueError: no such task"}
    assert (tmp_path / "flaky.done").exists()
    assert (tmp_path / "broken.attempts").read_text() == "xx"


@pytest.mark.slow
def test_ray_runs_retries_and_reports(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # the jobs' module, in workers
    jobs = {"flaky": (tmp_path, "flaky"), "broken": (tmp_path, "broken")}
    try:
        failed = launch(jobs, dispatch, workers=2, log=print, launcher=make_launcher("ray"))
    finally:
        ray.shutdown()
    assert failed == {"broken": "ValueError: no such task"}
    assert (tmp_path / "flaky.done").exists()
    assert (tmp_path / "broken.attempts").read_text() == "xx"
