"""Run jobs side by side on a launcher, retrying a failed job once.

Launchers: `local` (default) runs each job as `work(job)` in its own spawned process on this
machine; `slurm` submits each to SLURM through submitit (`pip install 'wmpc[slurm]'`); `ray` runs
each as a Ray task on the cluster `ray.init()` finds, or a local one (`pip install 'wmpc[ray]'`).
Every job gets `WMPC_TORCH_THREADS=1` unless the user set it (runs sharing cores are fastest with
one torch thread each). A job that fails is started once more (a `wmpc run` resumes from its last
resume point) and then reported with its one-line error while the others go on. Only the calling
process writes shared files: it gets `on_change` calls when a job ends and every `tick` seconds.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

from envs.errors import UserError

LAUNCHERS = {"local": None, "slurm": "submitit", "ray": "ray"}
"""Launcher name -> the package it needs (None: nothing beyond wmpc)."""


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "(no message)"
    return f"{type(err).__name__}: {text}"[:300]


def _in_job(work: Callable[[Any], None], job: Any) -> None:
    """`work(job)` as a launched job runs it: one torch thread unless the user chose."""
    os.environ.setdefault("WMPC_TORCH_THREADS", "1")
    work(job)


class Launcher(Protocol):
    """Starts jobs and says which have ended; `launch` does the bookkeeping and the retries."""

    def start(self, name: str, work: Callable[[Any], None], job: Any) -> Any:
        """Start `work(job)`; a handle for `ended` and `stop`."""

    def ended(self, handles: list[Any], timeout: float | None) -> list[tuple[Any, str | None]]:
        """Wait up to `timeout` seconds (None: until one ends) for jobs to end; each ended one as
        (handle, its one-line error or None)."""

    def stop(self, handles: list[Any]) -> None:
        """Stop jobs still running (the parent was interrupted)."""


class _Local:
    """Each job a spawned process on this machine (so `work` must be a module-level function)."""

    def __init__(self):
        self.context = multiprocessing.get_context("spawn")

    def start(self, name, work, job):
        receive, send = self.context.Pipe(duplex=False)
        process = self.context.Process(target=_child, args=(work, job, send), name=name,
                                       daemon=False)
        process.start()
        send.close()
        return process, receive

    def ended(self, handles, timeout):
        done = wait([process.sentinel for process, _ in handles], timeout=timeout)
        out = []
        for handle in [h for h in handles if h[0].sentinel in done]:
            process, receive = handle
            process.join()
            error = _received(receive)
            if process.exitcode and error is None:
                error = f"exited with code {process.exitcode}"
            out.append((handle, error))
        return out

    def stop(self, handles):
        for process, _ in handles:
            process.terminate()
            process.join()


def _child(work: Callable[[Any], None], job: Any, conn) -> None:
    try:
        _in_job(work, job)
    except BaseException as err:  # the parent reports it, whatever it is
        conn.send(_one_line(err))
        raise SystemExit(1) from None


def _received(receive) -> str | None:
    """The error line a child sent, if any (a child that ended well sent nothing)."""
    try:
        return receive.recv()
    except EOFError:
        return None
    finally:
        receive.close()


class _Polled:
    """Launchers whose jobs are polled (`done()` / `error()` per handle) every `poll` seconds."""

    poll = 2.0

    def ended(self, handles, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = [(h, self.error(h)) for h in handles if self.done(h)]
            if done or (deadline is not None and time.monotonic() >= deadline):
                return done
            time.sleep(self.poll)


class _Slurm(_Polled):
    """Each job a SLURM job through submitit; logs in `folder` (submitit's `local` executor
    where there is no SLURM, for testing)."""

    def __init__(self, folder: Path, options: dict[str, Any], cluster: str | None = None):
        import submitit

        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        self.executor.update_parameters(**options)

    def start(self, name, work, job):
        self.executor.update_parameters(name=name)
        return self.executor.submit(_in_job, work, job)

    def done(self, handle) -> bool:
        return handle.done()

    def error(self, handle) -> str | None:
        err = handle.exception()
        if err is None:
            return None
        parts = str(err).split("\n----------------------\n")  # submitit: text, trace, logs
        trace = [line for line in parts[1].splitlines() if line.strip()] if len(parts) > 2 else []
        return trace[-1][:300] if trace else _one_line(err)  # the job's own exception line

    def stop(self, handles):
        for handle in handles:
            handle.cancel(check=False)


class _Ray(_Polled):
    """Each job a Ray task (one CPU each) on the cluster `ray.init()` connects to."""

    poll = 0.5

    def __init__(self):
        import ray

        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
        self.task = ray.remote(num_cpus=1, max_retries=0)(_in_job)

    def start(self, name, work, job):
        return self.task.options(name=name).remote(work, job)

    def done(self, handle) -> bool:
        ready, _ = self.ray.wait([handle], timeout=0)
        return bool(ready)

    def error(self, handle) -> str | None:
        try:
            self.ray.get(handle)
        except Exception as err:  # Ray wraps the job's own exception
            cause = getattr(err, "cause", None)
            return _one_line(cause if isinstance(cause, BaseException) else err)
        return None

    def stop(self, handles):
        for handle in handles:
            self.ray.cancel(handle, force=True)


def check_launcher(name: str) -> None:
    """A one-line UserError for an unknown launcher or one whose package is not installed."""
    if name not in LAUNCHERS:
        raise UserError(f"unknown launcher {name!r}; choose from {', '.join(LAUNCHERS)}")
    package = LAUNCHERS[name]
    if package is not None and importlib.util.find_spec(package) is None:
        raise UserError(f"the {name} launcher needs {package}: pip install 'wmpc[{name}]'")


def make_launcher(name: str, folder: Path | None = None, options: dict[str, Any] | None = None,
                  cluster: str | None = None) -> Launcher:
    """The launcher `name` (`LAUNCHERS`); `folder` holds submitit's logs, `options` are
    submitit's parameters (e.g. `slurm_partition`, `timeout_min`, `cpus_per_task`) and `cluster`
    submitit's (None: SLURM where there is one; `local` runs its jobs on this machine). A
    launcher whose package is missing is a one-line UserError."""
    check_launcher(name)
    if name == "local":
        return _Local()
    if name == "ray":
        return _Ray()
    return _Slurm(folder or Path("submitit"), {"timeout_min": 24 * 60, "cpus_per_task": 1,
                                               **(options or {})}, cluster)


def launch(jobs: dict[str, Any], work: Callable[[Any], None], workers: int,
           on_change: Callable[[], None] | None = None, tick: float | None = None,
           log: Callable[[str], None] = print,
           launcher: Launcher | None = None) -> dict[str, str]:
    """Run `work(job)` for every named job, `workers` at a time, on `launcher` (default: local
    processes); returns {name: one-line error} of the jobs that failed twice. Interrupting the
    parent stops the jobs."""
    launcher = launcher or _Local()
    pending = deque((name, 1) for name in jobs)
    running: dict[int, tuple[Any, str, int]] = {}  # id(handle) -> (handle, name, attempt)
    failed: dict[str, str] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                name, attempt = pending.popleft()
                handle = launcher.start(name, work, jobs[name])
                running[id(handle)] = (handle, name, attempt)
                log(f"started {name}" + (" (retry)" if attempt > 1 else ""))
            for handle, error in launcher.ended([h for h, _, _ in running.values()], tick):
                _, name, attempt = running.pop(id(handle))
                if error is None:
                    log(f"finished {name}")
                elif attempt == 1:
                    log(f"{name} failed ({error}); retrying")
                    pending.appendleft((name, 2))
                else:
                    log(f"{name} failed twice: {error}")
                    failed[name] = error
            if on_change is not None:
                on_change()
    finally:
        launcher.stop([h for h, _, _ in running.values()])
    return failed
