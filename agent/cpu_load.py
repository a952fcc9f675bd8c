"""How busy the machine's cores are with other processes, for choosing torch's CPU threads.

Two runs that each take every core slow each other several times over (on 2 cores, 2 threads each:
9 decisions/s per run, against 22 with 1 thread each; benchmarks/results/threads/threads_cpu.csv),
so a run that starts beside busy processes leaves their cores to them. Read from Linux's
/proc/stat; elsewhere the machine counts as idle.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STAT = Path("/proc/stat")


def _jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, in clock ticks, or None off Linux."""
    try:
        fields = STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_cores_of_others(sample_seconds: float = 0.3) -> float:
    """Cores' worth of CPU time that other processes used over the next `sample_seconds`
    (this process's own use subtracted); 0.0 where it cannot be read."""
    before, own_before = _jiffies(), time.process_time()
    time.sleep(sample_seconds)
    after, own_after = _jiffies(), time.process_time()
    if before is None or after is None or after[1] <= before[1]:
        return 0.0
    cpus = os.cpu_count() or 1
    machine = cpus * (after[0] - before[0]) / (after[1] - before[1])
    own = (own_after - own_before) / sample_seconds
    return max(0.0, machine - own)


def threads_for(cores: int, busy_others: float) -> int:
    """Threads for a process that may use `cores` cores while others keep `busy_others` busy:
    the cores left free, at least one."""
    return max(1, min(cores, cores - round(busy_others)))
