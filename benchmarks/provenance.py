"""Where a benchmark result came from: commit, date, machine (CPU, cores, GPU), torch."""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
ARCHIVED = Path("benchmarks") / "COMMIT"  # `git archive` writes the commit's hash into it


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
    tracked file but the results in `benchmarks/results/`, which are outputs, not code). Outside
    a git checkout: the hash `git archive` wrote into `benchmarks/COMMIT`, else "unknown"."""
    paths = paths or (".", ":(exclude)benchmarks/results")
    try:
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


def today() -> str:
    """UTC date and time, minutes."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def replace_section(results_md: Path, title: str, body: str) -> None:
    """Replace the `## title` section of a suite's README.md where it stands (append it when
    new), leaving the others untouched."""
    text = results_md.read_text() if results_md.exists() else "# Benchmark results\n"
    section = ["", f"## {title}", "", body.strip(), ""]
    out, skipping, placed = [], False, False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = line.strip() == f"## {title}"
            if skipping and not placed:
                _put(out, section)
                placed = True
        if not skipping:
            out.append(line)
    if not placed:
        _put(out, section)
    write_text(results_md, "\n".join(out).rstrip() + "\n")


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _put(lines: list[str], section: list[str]) -> None:
    """Append `section` to `lines` after dropping the blank lines that end them."""
    while lines and not lines[-1].strip():
        lines.pop()
    lines += section


def write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    """Write `rows` with columns `fields` to `path` atomically (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
