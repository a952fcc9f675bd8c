"""Benchmark result files: the date, atomic writes of CSV and README sections (the commit and
machine come from `agent.provenance`)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
