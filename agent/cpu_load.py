"""How busy the machine's cores are with other processes, for choosing torch's CPU threads.

Two runs that each take every core slow each other several times over (on 2 cores, 2 threads each:
9 decisions/s per run, against 22 with 1 thread each; benchmarks/results/threads/threads_cpu.csv),
so a run that starts beside busy processes leaves their cores to them. Read from Linux's
/proc/stat, over the cores this process may run on (its affinity: a cpuset or `taskset` limits
it); elsewhere the machine counts as idle.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STAT = Path("/proc/stat")


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


def busy_cores_of_others(sample_seconds: float = 0.3) -> float:
    """Cores' worth of CPU time that other processes used, on the cores this process may use,
    over the next `sample_seconds` (this process's own use subtracted); 0.0 where it cannot be
    read."""
    cpus = usable_cpus()
    before, own_before = _jiffies(cpus), time.process_time()
    time.sleep(sample_seconds)
    after, own_after = _jiffies(cpus), time.process_time()
    if before is None or after is None or after[1] <= before[1]:
        return 0.0
    used = len(cpus) * (after[0] - before[0]) / (after[1] - before[1])
    own = (own_after - own_before) / sample_seconds
    return max(0.0, used - own)


def threads_for(cores: int, busy_others: float) -> int:
    """Threads for a process that may use `cores` cores while others keep `busy_others` busy:
    the cores left free, at least one."""
    return max(1, min(cores, cores - round(busy_others)))
