"""`benchmarks/compare_runs.py`: an ablation table from run folders that differ in one setting."""

from __future__ import annotations

import csv
import json

from agent.runs import append_eval
from benchmarks import compare_runs


def _run(folder, prior_samples, returns, threads=None):
    folder.mkdir()
    config = {"run": {"env_id": "x", "steps": 20, "eval_episodes": 2},
              "agent": {"prior_samples": prior_samples}}
    if threads:
        config["torch_threads"] = threads
    (folder / "config.json").write_text(json.dumps(config))
    for step, ret in returns:
        append_eval(folder, step, [ret, ret + 2.0], wall_seconds=step / 10)


def test_table_csv_and_differences(tmp_path):
    _run(tmp_path / "a", 0, [(10, 1.0), (20, 5.0)])
    _run(tmp_path / "b", 24, [(10, 3.0)], threads=[1, 2])
    out = tmp_path / "out"
    compare_runs.main(["--run", f"base={tmp_path / 'a'}", "--run", f"prior={tmp_path / 'b'}",
                       "--name", "ab", "--title", "Prior", "--out", str(out)])
    with (out / "ab.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["label"], r["step"], r["return"]) for r in rows] == [
        ("base", "10", "2.0"), ("base", "20", "6.0"), ("prior", "10", "4.0")]
    text = (out / "RESULTS.md").read_text()
    assert "## Ablation: Prior" in text and "(2 episodes" in text
    assert "agent.prior_samples: base=0, prior=24" in text and "run.steps" not in text
    assert "torch threads of each run: base: not recorded, prior: 1 then 2." in text
    assert "| 10 | 2 | 4 |" in text and "| 20 | 6 | — |" in text
    assert (out / "ab.png").stat().st_size > 0


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    import pytest

    _run(tmp_path / "a", 0, [])
    for args in (["--run", "nolabel"], ["--run", f"x={tmp_path / 'missing'}"],
                 ["--run", f"x={tmp_path / 'a'}"]):
        with pytest.raises(SystemExit) as exit_info:
            compare_runs.main(args + ["--name", "n", "--title", "t", "--out", str(tmp_path)])
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "n.csv").exists()


def test_a_run_known_only_from_a_tasks_csv(tmp_path):
    _run(tmp_path / "a", 0, [(10, 1.0), (20, 5.0)])
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("task,kind,seed,step,return,wall_seconds,commit,machine\n"
                     "finger-spin,random,0,0,0.5,,abc,m\n"
                     "finger-spin,wmpc,0,10,7.25,100,abc1234,m\n"
                     "finger-spin,wmpc,1,10,99,100,abc1234,m\n"
                     "finger-spin,wmpc,0,20,8,200,abc1234,m\n")
    out = tmp_path / "out"
    compare_runs.main(["--run", f"new={tmp_path / 'a'}", "--csv-run",
                       f"old={tasks}:finger-spin:0", "--name", "ab", "--title", "Old",
                       "--out", str(out), "--note", "The code differs."])
    text = (out / "RESULTS.md").read_text()
    assert "| 20 | 6 | 8 |\n\nThe code differs.\n" in text
    assert "| step | new | old |" in text
    assert "| 10 | 2 | 7 |" in text and "| 20 | 6 | 8 |" in text
    assert "old: the evaluations `wmpc bench tasks` recorded in" in text and "abc1234" in text
    with (out / "ab.csv").open() as handle:
        assert [r["label"] for r in csv.DictReader(handle)] == ["new", "new", "old", "old"]


def test_a_bad_csv_run_is_a_one_line_error(tmp_path, capsys):
    import pytest

    _run(tmp_path / "a", 0, [(10, 1.0)])
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("task,kind,seed,step,return,wall_seconds,commit,machine\n")
    for item in ("old=nothing", f"old={tasks}:finger-spin:0", f"old={tmp_path}/no.csv:x:0",
                 f"a={tasks}:finger-spin:x"):
        with pytest.raises(SystemExit) as exit_info:
            compare_runs.main(["--run", f"a={tmp_path / 'a'}", "--csv-run", item, "--name", "n",
                               "--title", "t", "--out", str(tmp_path)])
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


def test_a_run_saved_before_the_activation_field_compares_as_mish(tmp_path):
    _run(tmp_path / "old", 0, [(10, 1.0)])
    _run(tmp_path / "new", 0, [(10, 3.0)])
    models = {"old": {"latent_dim": 64}, "new": {"latent_dim": 64, "activation": "silu"}}
    for name, model in models.items():
        config = json.loads((tmp_path / name / "config.json").read_text())
        (tmp_path / name / "config.json").write_text(json.dumps({**config, "model": model}))
    out = tmp_path / "out"
    compare_runs.main(["--run", f"old={tmp_path / 'old'}", "--run", f"new={tmp_path / 'new'}",
                       "--name", "act", "--title", "Act", "--out", str(out)])
    text = (out / "RESULTS.md").read_text()
    assert "model.activation: old=mish, new=silu" in text and "latent_dim" not in text
