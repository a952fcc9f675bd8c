"""Run jobs side by side as separate processes, retrying a failed job once.

Each job is `work(job)` in its own spawned process with `WMPC_TORCH_THREADS=1` unless the user set
it (runs sharing the cores are fastest with one torch thread each). A job that fails is started
once more (a `wmpc run` resumes from its last resume point) and then reported with its one-line
error while the others go on. Only the calling process writes shared files: it gets `on_change`
calls when a job ends and every `tick` seconds.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "(no message)"
    return f"{type(err).__name__}: {text}"[:300]


def _received(receive) -> str | None:
    """The error line a child sent, if any (a child that ended well sent nothing)."""
    try:
        return receive.recv()
    except EOFError:
        return None
    finally:
        receive.close()


def _child(work: Callable[[Any], None], job: Any, conn) -> None:
    os.environ.setdefault("WMPC_TORCH_THREADS", "1")
    try:
        work(job)
    except BaseException as err:  # the parent reports it, whatever it is
        conn.send(_one_line(err))
        raise SystemExit(1) from None


def launch(jobs: dict[str, Any], work: Callable[[Any], None], workers: int,
           on_change: Callable[[], None] | None = None, tick: float | None = None,
           log: Callable[[str], None] = print) -> dict[str, str]:
    """Run `work(job)` for every named job, `workers` at a time, each in a spawned process (so
    `work` must be a module-level function); returns {name: one-line error} of the jobs that
    failed twice. Interrupting the parent stops the jobs."""
    context = multiprocessing.get_context("spawn")
    pending = deque((name, 1) for name in jobs)
    running: dict[Any, tuple[str, int, Any]] = {}  # process -> (name, attempt, receiving end)
    failed: dict[str, str] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                name, attempt = pending.popleft()
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(work, jobs[name], send),
                                          name=name, daemon=False)
                process.start()
                send.close()
                running[process] = (name, attempt, receive)
                log(f"started {name}" + (" (retry)" if attempt > 1 else ""))
            ended = wait([p.sentinel for p in running], timeout=tick)
            for process in [p for p in running if p.sentinel in ended]:
                name, attempt, receive = running.pop(process)
                process.join()
                error = _received(receive)
                if process.exitcode and error is None:
                    error = f"exited with code {process.exitcode}"
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
        for process in running:
            process.terminate()
            process.join()
    return failed
