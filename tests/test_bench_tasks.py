"""`wmpc bench tasks`: the report from run folders, bad input, resuming, and a tiny real run."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import tasks
from envs.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def _anchors(tmp_path: Path) -> Path:
    folder = tmp_path / "anchors" / "tdmpc2-results" / "tdmpc2"
    folder.mkdir(parents=True)
    (folder / "cup-catch.csv").write_text(
        "step,reward,seed\n0,0,1\n100000,970,1\n200000,980,1\n0,0,2\n100000,990,2\n200000,976,2\n")
    return tmp_path / "anchors"


def _run(runs: Path, task: str, seed: int, returns: dict[int, float], **changes) -> Path:
    """A run folder as `wmpc bench tasks` leaves it: config.json (today's defaults, `changes`
    in its run section) and evals.csv with `returns` by decision."""
    folder = runs / f"{task}_s{seed}"
    folder.mkdir(parents=True)
    job = tasks.Job("wmpc", task, tasks.TASKS[task].env_id, folder, tasks.TASKS[task].env_kwargs,
                    seed=seed, steps=100_000, eval_every=5_000)
    config = tasks._requested(job)
    config["run"].update(changes)
    config.update(commit="abc1234", machine="test machine", torch_threads=[1])
    (folder / "config.json").write_text(json.dumps(config))
    lines = ["step,mean_return,wall_seconds,returns"]
    lines += [f"{step},{value},{step / 20},{value}" for step, value in returns.items()]
    (folder / "evals.csv").write_text("\n".join(lines) + "\n")
    return folder


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_report_only_uses_report_seeds_at_exactly_each_budget(tmp_path):
    runs = tmp_path / "runs"
    _run(runs, "cup-catch", 100, {25_000: 500, 50_000: 900, 100_000: 950})
    _run(runs, "cup-catch", 101, {50_000: 800, 75_000: 990})  # not at 200k: at 150k
    _run(runs, "cup-catch", 0, {50_000: 999})  # a tuning seed: never in the headline
    (runs / "baselines").mkdir()
    (runs / "baselines" / "cup-catch_random.csv").write_text(
        "task,kind,seed,env_steps,decisions,return,wall_seconds,commit,machine,settings,role\n"
        "cup-catch,random,0,0,0,40,1.0,c,m,uniform,report\n"
        "cup-catch,random,1,0,0,60,1.0,c,m,uniform,report\n")
    out = tmp_path / "out"
    tasks.main(["--report-only", "--tasks", "cup-catch", "--runs", str(runs), "--out", str(out),
                "--anchors", str(_anchors(tmp_path))])
    with (out / "tasks.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert set(tasks.FIELDS) <= set(rows[0])
    wmpc = [(r["seed"], r["env_steps"], r["decisions"], r["role"]) for r in rows
            if r["kind"] == "wmpc"]
    assert ("100", "200000", "100000", "report") in wmpc
    assert ("0", "100000", "50000", "tuning") in wmpc
    assert all(int(env) == 2 * int(decisions) for _, env, decisions, _ in wmpc)
    report = (out / "tasks.md").read_text()
    at_100k, at_200k = report.split("## At 100k")[1].split("## At 200k")
    # Seeds 100 and 101 at 100k: 900 and 800; resampled means 800, 850, 900 -> [800, 900].
    assert "| cup-catch | 850 [800, 900] (2) | 980 | — | — | — | 50 | — | 20.0 | 2500 |" in at_100k
    assert "| cup-catch | 950 [950, 950] (1) | 978 |" in at_200k
    assert "cup-catch s101 at 150,000" in at_200k
    assert "**mean of 1 tasks** | **850** [800, 900] | 980 |" in at_100k
    assert "| cup-catch | 0 | 999 | — | 999 at 100,000 |" in report.split("## Tuning-seed")[1]
    assert "report 100, 101, 102" in report and "tuning 0, 1, 2" in report
    assert "wmpc bench tasks --report-only" in report
    assert "iterations x H" in report  # each run's settings
    assert (out / "tasks.png").stat().st_size > 0


@pytest.mark.parametrize(("flags", "message"), [
    (["--tasks", "cup-catch,cup-cath"], "unknown task"),
    (["--report-seeds", "1,2", "--tuning-seeds", "2,3"], "both report and tuning"),
    (["--seeds", "7"], "neither report nor tuning"),
    (["--eval-every", "30000"], "does not divide"),
    (["--launcher", "kubernetes"], "unknown launcher"),
])
def test_bad_input_is_one_error_and_writes_nothing(tmp_path, flags, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "tasks.csv").write_text("kept\n")
    (tmp_path / "runs").mkdir()
    with pytest.raises(UserError, match=message):
        tasks.main(["--report-only", "--runs", str(tmp_path / "runs"), "--out", str(out),
                    *flags])
    assert _files(out) == {"tasks.csv": b"kept\n"}


def test_a_run_of_another_configuration_stops_everything_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "launch", lambda *a, **k: pytest.fail("nothing may run"))
    runs, out = tmp_path / "runs", tmp_path / "out"
    _run(runs, "cup-catch", 100, {5_000: 100}, eval_every=1234)
    out.mkdir()
    (out / "tasks.csv").write_text("kept\n")
    before = _files(tmp_path)
    with pytest.raises(UserError, match=r"another configuration \(run.eval_every: 1234 there"):
        tasks.main(["--tasks", "cup-catch", "--runs", str(runs), "--out", str(out)])
    assert _files(tmp_path) == before


def test_plan_resumes_runs_of_the_same_configuration_and_skips_finished_ones(tmp_path):
    runs = tmp_path / "runs"
    _run(runs, "cup-catch", 100, {5_000: 100}, steps=50_000)  # shorter: steps are not compared
    _run(runs, "cup-catch", 101, {100_000: 900})  # at its end: nothing to do
    args = tasks.parse(["--tasks", "cup-catch", "--runs", str(runs), "--oracle-episodes", "0"])
    jobs = tasks.plan(args).jobs
    assert sorted(jobs) == ["cup-catch random", "cup-catch s100", "cup-catch s102"]
    assert (jobs["cup-catch s100"].steps, jobs["cup-catch s100"].eval_every) == (100_000, 5_000)


def test_the_cli_prints_one_line_and_exits_2_on_bad_input(tmp_path):
    env = {**os.environ, "WMPC_TORCH_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "bench",
                           "tasks", "--report-only", "--tasks", "nope", "--out",
                           str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wmpc: error: unknown task(s) nope of --suite dmc; known: "
        + ", ".join(tasks.SUITES["dmc"][1])]
    assert not (tmp_path / "out").exists()


def test_a_stopped_run_resumes_from_its_resume_point(tmp_path, monkeypatch):
    from agent.runs import load_config, read_evals

    monkeypatch.setenv("WMPC_TORCH_THREADS", "1")
    folder = tmp_path / "point_s100"
    job = tasks.Job("wmpc", "point", "point_env:PointMass-v0", folder, seed=100, steps=60,
                    eval_every=30, quick=True)  # 50-decision episodes
    tasks.run_job(job)
    assert (folder / "resume.pt").exists()  # taken at the episode end at decision 50
    config = load_config(folder)
    (folder / "config.json").write_text(json.dumps({**config, "commit": "first"}))
    tasks.run_job(dataclasses.replace(job, steps=120))
    assert [r["step"] for r in read_evals(folder)] == [30, 60, 90, 120]
    assert load_config(folder)["commit"] == "first"  # the commit it started from
    assert load_config(folder)["run"]["steps"] == 120


def test_quick_runs_one_tiny_real_job_in_its_own_process(tmp_path, monkeypatch):
    monkeypatch.setitem(tasks.SUITES["dmc"][1], "point",
                        tasks.Task("point_env:PointMass-v0"))  # 50-step episodes
    out = tmp_path / "out"
    tasks.main(["--quick", "--tasks", "point", "--seeds", "100", "--oracle-episodes", "0",
                "--runs", str(tmp_path / "runs"), "--out", str(out)])
    with (out / "tasks_quick.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["kind"] for r in rows} == {"wmpc", "random"}
    assert [(r["env_steps"], r["decisions"]) for r in rows if r["kind"] == "wmpc"] == [
        ("60", "60"), ("120", "120")]  # action repeat 1
    assert "## At 120 environment steps" in (out / "tasks_quick.md").read_text()
    assert (out / "tasks_quick.png").stat().st_size > 0


def test_metaworld_scores_the_success_rate_beside_tdmpc2(tmp_path):
    runs = tmp_path / "runs"
    for seed, rate in ((100, 0.5), (101, 1.0)):
        folder = _run(runs, "mw-reach", seed, {})
        (folder / "evals.csv").write_text("step,mean_return,wall_seconds,returns,success_rate\n"
                                          f"50000,1234.5,2500,1234.5,{rate}\n")
    anchors = _anchors(tmp_path)
    (anchors / "tdmpc2-results" / "tdmpc2" / "mw-reach.csv").write_text(
        "step,success,seed\n0,0,1\n100000,0.6,1\n0,0,2\n100000,0.8,2\n")
    out = tmp_path / "out"
    tasks.main(["--report-only", "--suite", "metaworld", "--tasks", "mw-reach", "--runs",
                str(runs), "--out", str(out), "--anchors", str(anchors)])
    at_100k = (out / "tasks.md").read_text().split("## At 100k")[1]
    assert "| mw-reach | 0.75 [0.50, 1.00] (2) | 0.70 | — | — |" in at_100k
    assert "**mean of 1 tasks** | **0.75** [0.50, 1.00] | 0.70 |" in at_100k
    assert "Score: success (out of 1)" in (out / "tasks.md").read_text()


def test_a_suite_that_is_not_installed_is_one_line_before_any_job(tmp_path, monkeypatch):
    pytest.importorskip("dm_control")
    if __import__("importlib").util.find_spec("metaworld") is not None:
        pytest.skip("metaworld is installed")
    monkeypatch.setattr(tasks, "launch", lambda *a, **k: pytest.fail("nothing may run"))
    with pytest.raises(UserError, match="metaworld"):
        tasks.main(["--suite", "metaworld", "--runs", str(tmp_path / "runs"), "--out",
                    str(tmp_path / "out")])
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_a_run_over_several_envs_says_so_in_its_settings():
    from benchmarks.tasks import settings_text

    run = {"steps": 50000, "eval_every": 5000, "eval_episodes": 10}
    assert "50000 decisions over 4 envs," in settings_text({"run": {**run, "num_envs": 4}})
    assert "50000 decisions," in settings_text({"run": {**run, "num_envs": 1}})


def test_an_ablation_runs_with_its_settings_and_the_report_names_them(tmp_path):
    runs = tmp_path / "runs"
    args = tasks.parse(["--tasks", "cup-catch", "--seeds", "0", "--runs", str(runs),
                        "--out", str(tmp_path / "out"), "--oracle-episodes", "1",
                        "--set", "model.critic=q", "--set", "agent.horizon=5"])
    jobs = tasks.plan(args).jobs
    job = jobs["cup-catch s0"]
    assert jobs["cup-catch oracle"].sets == job.sets  # the oracle plans as the ablation does
    config = tasks._requested(job)
    assert config["model"]["critic"] == "q" and config["agent"]["horizon"] == 5
    folder = _run(runs, "cup-catch", 0, {50_000: 900})
    saved = json.loads((folder / "config.json").read_text())
    saved["model"]["critic"], saved["agent"]["horizon"] = "q", 5
    (folder / "config.json").write_text(json.dumps(saved))
    tasks.check_config(folder, config)  # the ablation's own runs resume
    with pytest.raises(UserError, match=r"model.critic: 'q' there, 'v' asked"):
        tasks.check_config(folder, tasks._requested(dataclasses.replace(job, sets=())))
    (row, *_) = tasks.run_rows(folder, "cup-catch", 0)
    assert row["settings"].endswith("apart from today's defaults: agent.horizon=5, "
                                    "model.critic='q'")
    default = _run(runs, "cup-catch", 1, {50_000: 900})
    assert "apart from" not in tasks.run_rows(default, "cup-catch", 1)[0]["settings"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--set", "model.critc=q"], "unknown setting model.critc"),
    (["--set", "run.seed=3"], "run.seed is this command's --seeds"),
    (["--set", "run.eval_episodes=3"], "run.eval_episodes is this command's"),
    (["--set", "model.critic=q", "--seeds", "100"], "report seeds [100] never choose anything"),
    (["--set", "model.critic=q", "--seeds", "0", "--no-folders"], "its own --runs and --out"),
])
def test_a_bad_ablation_is_one_error_before_anything_runs(tmp_path, monkeypatch, flags, message):
    monkeypatch.setattr(tasks, "launch", lambda *a, **k: pytest.fail("nothing may run"))
    folders = ["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]
    if "--no-folders" in flags:
        flags, folders = [f for f in flags if f != "--no-folders"], []
    seeds = [] if "--seeds" in flags else ["--seeds", "0"]
    with pytest.raises(UserError, match=re.escape(message)):
        tasks.main(["--tasks", "cup-catch", *seeds, *flags, *folders])
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_an_ablation_may_run_several_envs_per_run(tmp_path):
    args = tasks.parse(["--tasks", "cup-catch", "--seeds", "0", "--runs", str(tmp_path / "r"),
                        "--out", str(tmp_path / "o"), "--set", "run.num_envs=4"])
    assert tasks._requested(tasks.plan(args).jobs["cup-catch s0"])["run"]["num_envs"] == 4
