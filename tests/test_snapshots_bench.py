"""`wmpc bench snapshots`: kept policies replanned per variant on the same episodes."""

from __future__ import annotations

import dataclasses

import pytest

from agent.online import OnlineRun
from benchmarks import snapshots
from tests.test_agent_loop import AGENT, CFG, SMALL, TRAIN


def test_variants_are_typed_agent_config_changes():
    assert snapshots.parse_variant("mean=members=mean,num_samples=8,use_critic=false") == (
        "mean", {"members": "mean", "num_samples": 8, "use_critic": False})
    assert snapshots.parse_variant("wide=init_std=2") == ("wide", {"init_std": 2.0})
    assert snapshots.parse_variant("own=") == ("own", {})
    with pytest.raises(ValueError, match="AgentConfig"):
        snapshots.parse_variant("x=samples=8")


def test_paired_difference_matches_episodes_of_the_same_run_and_step():
    rows = [{"run": "r", "step": "10", "variant": "a", "returns": "1 2"},
            {"run": "r", "step": "10", "variant": "b", "returns": "4 6"},
            {"run": "r", "step": "20", "variant": "b", "returns": "100"}]
    assert snapshots.paired_difference(rows, "b", "a") == (3.5, 2)


def test_every_snapshot_per_variant_once(tmp_path, capsys):
    run = tmp_path / "run"
    OnlineRun(run, dataclasses.replace(CFG, steps=100, eval_every=50), AGENT, TRAIN,
              SMALL).run(resume=False, progress=False)
    argv = ["--run", str(run), "--variant", "split=members=split", "--variant",
            "mean=members=mean", "--episodes", "2", "--name", "snap", "--title", "t",
            "--out", str(tmp_path / "results")]
    snapshots.main(argv)
    rows = snapshots._read(tmp_path / "results" / "snap.csv")
    assert [(r["step"], r["variant"]) for r in rows] == [
        ("50", "split"), ("50", "mean"), ("100", "split"), ("100", "mean")]
    assert all(len(r["returns"].split()) == 2 for r in rows)
    report = (tmp_path / "results" / "RESULTS.md").read_text()
    assert "## Snapshots: t" in report and "mean minus split" in report
    capsys.readouterr()
    snapshots.main(argv)  # nothing missing: nothing evaluated again
    assert "step" not in capsys.readouterr().out
    assert snapshots._read(tmp_path / "results" / "snap.csv") == rows
