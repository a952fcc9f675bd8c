"""Smoke runs of the world-model benchmarks at tiny size on the CPU (no timing is asserted)."""

from __future__ import annotations

import csv

import torch

from benchmarks import wm_speed


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_wm_speed_quick_writes_a_row_per_configuration(tmp_path):
    threads = torch.get_num_threads()
    try:
        wm_speed.main(["--device", "cpu", "--quick", "--seconds", "0.01", "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    (row,) = rows(tmp_path / "wm_speed_cpu.csv")
    assert row["error"] == "" and float(row["updates_per_s"]) > 0
    assert float(row["updates_per_s_sampled"]) > 0 and int(row["params"]) > 0
    assert "command:" in (tmp_path / "wm_speed_cpu.txt").read_text()
