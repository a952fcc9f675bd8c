"""How busy the machine's cores are with other processes, for choosing torch's CPU threads.

Two runs that each take every core slow each other several times over (on 2 cores, 2 threads each:
9 decisions/s per run, against 22 with 1 thread each; benchmarks/results/threads/threads_cpu.csv),
so a run that starts beside busy processes leaves their cores to them, and a long loop
(`ThreadShare`) looks again as it goes: it gives a core back when a busy process starts beside it
and takes it again when that one ends. Read from Linux's /proc/stat, over the cores this process may
run on (its affinity: a cpuset or `taskset` limits it); elsewhere the machine counts as idle.
`WMPC_TORCH_THREADS` fixes the count instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from envs.errors import UserError

PROC = Path("/proc")
STAT = PROC / "stat"


def usable_cpus() -> set[int]:
    """The CPU numbers this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def _jiffies(cpus: set[int]) -> tuple[int, int] | None:
    """(busy, total) CPU time so far of the cores `cpus`, in clock ticks, or None off Linux.

    Per-core lines `cpuN user nice system idle iowait irq softirq steal guest guest_nice`: guest
    time is already inside user and nice, so only the first eight count; idle and iowait are
    not busy."""
    try:
        lines = STAT.read_text().splitlines()
    except OSError:
        return None
    busy = total = 0
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or not name[3:].isdigit() or int(name[3:]) not in cpus:
            continue
        values = [int(v) for v in fields[:8]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        busy += sum(values) - idle
        total += sum(values)
    return (busy, total) if total else None


def _others(cpus: set[int], before, after, own_seconds: float, seconds: float) -> float:
    """Cores' worth of CPU time others used between the readings `before` and `after` of
    `_jiffies(cpus)`, `seconds` apart, while this process used `own_seconds`."""
    if before is None or after is None or after[1] <= before[1] or seconds <= 0:
        return 0.0
    used = len(cpus) * (after[0] - before[0]) / (after[1] - before[1])
    return max(0.0, used - own_seconds / seconds)


def _children_ticks() -> dict[int, int]:
    """User plus system CPU time so far, in clock ticks, of each live child of this process (a
    run's env workers, say), from Linux's /proc/PID/stat; {} elsewhere."""
    own, ticks = os.getpid(), {}
    if not PROC.is_dir():
        return ticks
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # not a process, or one that just ended
            continue
        if len(fields) > 12 and int(fields[1]) == own:  # ppid, then utime and stime at 11 and 12
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def _children_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds the children used between the readings `before` and `after` of
    `_children_ticks` (a child started between them counts from zero, one that ended not at all,
    a process id used again by a new child from zero too)."""
    ticks = sum(max(0, t - before.get(pid, 0)) for pid, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_cores_of_others(sample_seconds: float = 0.3) -> float:
    """Cores' worth of CPU time that other processes used, on the cores this process may use,
    over the next `sample_seconds` (this process's own use subtracted); 0.0 where it cannot be
    read."""
    cpus = usable_cpus()
    before, own_before = _jiffies(cpus), time.process_time()
    time.sleep(sample_seconds)
    after, own_after = _jiffies(cpus), time.process_time()
    return _others(cpus, before, after, own_after - own_before, sample_seconds)


def threads_for(cores: int, busy_others: float) -> int:
    """Threads for a process that may use `cores` cores while others keep `busy_others` busy:
    the cores left free, at least one."""
    return max(1, min(cores, cores - round(busy_others)))


def fixed_threads() -> int | None:
    """The thread count `WMPC_TORCH_THREADS` fixes, or None where it is unset."""
    text = os.environ.get("WMPC_TORCH_THREADS")
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"WMPC_TORCH_THREADS must be a positive whole number, got {text!r}")
    return int(text)


class ThreadShare:
    """Keeps torch's CPU threads at the usable cores other processes leave free, looked at again
    every `period` seconds of a long loop (`check`).

    Inductor's C++ kernels are told to read the thread count when they run
    (`cpp.dynamic_threads`), so compiled code follows a change too; make the share before
    anything compiles."""

    def __init__(self, period: float = 10.0):
        import torch._inductor.config

        torch._inductor.config.cpp.dynamic_threads = True
        self.period = period
        self.cpus = usable_cpus()
        self._mark()

    def _mark(self) -> None:
        self._time, self._own = time.monotonic(), time.process_time()
        self._children = _children_ticks()
        self._jiffies = _jiffies(self.cpus)

    def own_seconds(self) -> float:
        """CPU seconds this process and its children (a run's env workers are its own work, not
        another process's) used since the last look."""
        return (time.process_time() - self._own
                + _children_seconds(self._children, _children_ticks()))

    def check(self) -> int:
        """torch's thread count, first set anew where `period` has passed since the last look."""
        import torch

        seconds = time.monotonic() - self._time
        if seconds >= self.period:
            busy = _others(self.cpus, self._jiffies, _jiffies(self.cpus), self.own_seconds(),
                           seconds)
            threads = threads_for(len(self.cpus), busy)
            if threads != torch.get_num_threads():
                torch.set_num_threads(threads)
            self._mark()
        return torch.get_num_threads()


def thread_share() -> ThreadShare | None:
    """A `ThreadShare` for a long loop, or None where `WMPC_TORCH_THREADS` fixes the count or
    there is one core."""
    return None if fixed_threads() is not None or len(usable_cpus()) < 2 else ThreadShare()
