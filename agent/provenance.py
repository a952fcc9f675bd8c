"""Where a run or a result came from: the commit of the code and the machine (CPU, cores, GPU,
torch)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
ARCHIVED = Path("agent") / "COMMIT"  # `git archive` writes the commit's hash into it


def machine(device: str = "cpu") -> str:
    """CPU model and cores, torch threads, the GPU's name when `device` is CUDA, torch version."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    text = f"CPU {cpu} x{os.cpu_count()} ({torch.get_num_threads()} torch threads)"
    if str(device).startswith("cuda") and torch.cuda.is_available():
        text += f"; GPU {torch.cuda.get_device_name(device)}"
    else:
        text += "; no GPU"
    return f"{text}; torch {torch.__version__}"


def commit(paths: tuple[str, ...] = ()) -> str:
    """Short hash of HEAD, flagged when files under `paths` have local changes (default: every
    tracked file but the results in `benchmarks/results/`, which are outputs, not code), where
    wmpc's folder is a git checkout's top level. Elsewhere: the hash `git archive` wrote into
    `agent/COMMIT`, else "unknown"."""
    paths = paths or (".", ":(exclude)benchmarks/results")
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        if Path(top).resolve() != ROOT.resolve():  # wmpc installed inside another repository
            return _archived()
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *paths], cwd=ROOT, check=True, capture_output=True,
                               text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return _archived()
    return head + (" (with uncommitted changes)" if dirty else "")


def _archived() -> str:
    try:
        text = (ROOT / ARCHIVED).read_text().strip()
    except OSError:
        return "unknown"
    return f"{text} (git archive)" if text and not text.startswith("$") else "unknown"
