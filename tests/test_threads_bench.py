"""`wmpc bench threads`: every setting is measured in its own processes and reported."""

from __future__ import annotations

import csv

from benchmarks import threads


def test_two_runs_side_by_side_are_measured_and_reported(tmp_path):
    threads.main(["--env", "point_env:PointMass-v0", "--threads", "1", "--runs", "2",
                  "--seconds", "0.5", "--out", str(tmp_path)])
    with (tmp_path / "threads_cpu.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    each, total = float(row["decisions_per_s_each"]), float(row["decisions_per_s_total"])
    assert (row["runs"], row["threads"]) == ("2", "1")
    assert each > 0 and abs(total - 2 * each) < 1e-6 * total + 0.02
    assert float(row["plan_ms"]) > 0 and float(row["update_ms"]) > 0
    assert (tmp_path / "threads_cpu.png").stat().st_size > 0
    assert "| 2 | 1 |" in (tmp_path / "RESULTS.md").read_text()
