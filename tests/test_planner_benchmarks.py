"""Smoke tests of the planner benchmarks at tiny sizes: they run and write their results."""

import csv

from benchmarks import gpu_planners
from benchmarks import planners as bench


def test_planner_benchmark_quick_writes_results(tmp_path):
    bench.main(["--quick", "--out", str(tmp_path), "--problems", "quadratic,cartpole"])
    for name in ("planners_quality.csv", "planners_quality.png", "planners_latency_cpu.csv",
                 "planners_latency_cpu.png", "README.md"):
        assert (tmp_path / name).stat().st_size > 0
    rows = list(csv.DictReader((tmp_path / "planners_quality.csv").open()))
    assert {r["planner"] for r in rows if r["problem"] == "cartpole"} == {
        "random", "cem", "icem", "mppi"}  # the oracle is not differentiable
    text = (tmp_path / "README.md").read_text()
    assert text.count("## Planners") == 1 and "wmpc bench planners --quick" in text
    (tmp_path / "README.md").write_text("# R\n\n## Other\nkeep\n\n" + text.split("\n", 1)[1])
    bench.main(["--report-only", "--out", str(tmp_path)])
    text = (tmp_path / "README.md").read_text()
    assert "## Other\nkeep" in text and text.count("## Planners") == 1


def test_gpu_script_runs_on_cpu_quick(tmp_path):
    rows = gpu_planners.main(["--device", "cpu", "--quick", "--out", str(tmp_path)])
    assert len(rows) >= 8 and all(r["error"] == "" for r in rows)
    assert all(r["max_diff_vs_eager"] == "0" for r in rows if r["mode"] == "graph")
    assert (tmp_path / "planners_gpu.csv").exists()
