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
    assert "| 2 | 1 | v |" in (tmp_path / "README.md").read_text()


def test_each_critic_is_measured_under_its_own_name(tmp_path):
    threads.main(["--env", "point_env:PointMass-v0", "--threads", "1", "--runs", "1",
                  "--seconds", "0.3", "--critics", "v,q", "--name", "critics",
                  "--out", str(tmp_path)])
    with (tmp_path / "critics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["critic"] for r in rows] == ["v", "q"]
    assert all(float(r["update_ms"]) > 0 for r in rows)
    text = (tmp_path / "README.md").read_text()
    assert "## Threads: critics" in text and "| 1 | 1 | q |" in text
