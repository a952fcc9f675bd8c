"""Smoke test of `wmpc bench tasks --quick`: runs, baselines, anchors, CSV and plot."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks import tasks

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"


def test_quick_run_writes_rows_for_wmpc_and_random(tmp_path):
    tasks.main(["--quick", "--tasks", "cartpole-swingup", "--oracle-episodes", "0",
                "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                "--anchors", str(ANCHORS)])
    with (tmp_path / "out" / "tasks_quick.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["kind"] for r in rows} == {"wmpc", "random"}
    assert all("mppi" in r["settings"] for r in rows if r["kind"] == "wmpc")
    assert [int(r["step"]) for r in rows if r["kind"] == "wmpc"] == [30, 60]
    assert (tmp_path / "out" / "tasks_quick.png").stat().st_size > 0


def test_a_resumed_run_keeps_its_own_agent_config(tmp_path, monkeypatch):
    import torch

    from agent.runs import load_config, read_evals

    monkeypatch.setitem(tasks.TASKS, "point", "point_env:PointMass-v0")  # 50-step episodes
    common = ["--quick", "--tasks", "point", "--oracle-episodes", "0", "--runs",
              str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--anchors", str(ANCHORS)]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        tasks.main(common + ["--prior-samples", "2", "--value-expectile", "0.7",
                             "--activation", "silu", "--updates-per-step", "1",
                             "--explore-final", "0.2", "--init-std", "2"])
        run = tmp_path / "runs" / "point_s0"
        assert (run / "resume.pt").exists()  # taken at the episode end at step 50
        torch.set_num_threads(2)
        tasks.main(common)  # without the flags: resumes with its own settings
    finally:
        torch.set_num_threads(threads)
    assert load_config(run)["agent"]["prior_samples"] == 2
    assert load_config(run)["torch_threads"] == [1, 2]  # each segment's thread count, in order
    assert load_config(run)["model"]["value_expectile"] == 0.7
    assert load_config(run)["model"]["activation"] == "silu"
    assert load_config(run)["run"]["updates_per_step"] == 1
    assert load_config(run)["agent"]["explore_std_final"] == 0.2
    assert load_config(run)["agent"]["init_std"] == 2.0
    assert "x H3 from std 2, executing" in tasks._settings(run)
    assert "exploration noise 0.3 to 0.2 over 25000 decisions" in tasks._settings(run)
    assert ("critic expectile 0.7, activation silu, torch.compile on, torch threads 1 then 2"
            in tasks._settings(run))
    assert (run / "prior.pt").exists()
    assert [r["step"] for r in read_evals(run)] == [30, 60]


def test_anchor_curves_are_read_as_means_over_seeds():
    curve = tasks.anchor_curve(ANCHORS, "tdmpc2", "cartpole-swingup")
    if curve is None:
        pytest.skip("the shared anchor curves are not beside this checkout")
    steps, means = curve
    assert steps[0] >= 0 and (means >= 0).all() and (means <= 1000).all()
    assert abs(float(means[steps <= 100_000][-1]) - 839) < 1.0  # the README's 100k anchor


def test_report_shows_each_seed_at_the_last_step(tmp_path):
    """Also the settings each run's rows carry, though no run folder is on disk."""
    from types import SimpleNamespace

    def row(seed, step, ret, wall):
        return {"task": "cup-catch", "kind": "wmpc", "seed": seed, "step": step, "return": ret,
                "wall_seconds": wall, "commit": f"c{seed}", "machine": "m",
                "settings": f"budget {seed}" if seed else ""}

    rows = [row(0, 90, 900, 80), row(2, 90, 10, 9), row(0, 100, 970, 100), row(1, 100, 990, 50)]
    args = SimpleNamespace(anchors=ANCHORS, out=tmp_path, runs=tmp_path / "runs", seeds="0,1,2")
    tasks._report(rows, args, ["--report-only"], tmp_path / "tasks.csv")
    line = next(x for x in (tmp_path / "RESULTS.md").read_text().splitlines()
                if x.startswith("| cup-catch"))
    assert line.startswith("| cup-catch | 0,1 | c0 / c1 | 100 | 980 (970 / 990) | 100 / 50 |")
    settings = [x for x in (tmp_path / "RESULTS.md").read_text().splitlines()
                if x.startswith("- cup-catch")]
    assert settings == ["- cup-catch seed 1: budget 1", "- cup-catch seed 2: budget 2"]
