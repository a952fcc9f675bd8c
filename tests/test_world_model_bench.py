"""Smoke runs of the world-model benchmarks at tiny size on the CPU (no timing is asserted)."""

from __future__ import annotations

import csv

import pytest
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


def test_wm_speed_times_data_parallel_ranks_beside_one_process(tmp_path):
    threads = torch.get_num_threads()
    try:
        wm_speed.main(["--device", "cpu", "--quick", "--seconds", "0.01", "--ranks", "2",
                       "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    table = {row["config"]: row for row in rows(tmp_path / "wm_speed_cpu_ranks2.csv")}
    single, ddp = table["eager fp32, uncompiled, 1 process"], table["DDP 2 ranks, eager fp32"]
    assert ddp["error"] == "" and ddp["ranks"] == "2" and float(ddp["updates_per_s"]) > 0
    assert float(ddp["samples_per_s"]) == pytest.approx(2 * 32 * float(ddp["updates_per_s"]),
                                                        rel=1e-2)
    assert ddp["params"] == single["params"]
    summary = (tmp_path / "wm_speed_cpu_ranks2.txt").read_text()
    assert f"all-reduces {4 * int(single['params']) / 1e6:.2f} MB" in summary
    assert "scaling efficiency" in summary


def test_wm_speed_refuses_ranks_below_one():
    with pytest.raises(ValueError, match="--ranks must be positive"):
        wm_speed.main(["--device", "cpu", "--ranks", "0"])
