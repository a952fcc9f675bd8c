"""`benchmarks.provenance.commit`: local changes to code flag the commit, changed results do not."""

from __future__ import annotations

import subprocess

from benchmarks import provenance


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)


def test_only_code_changes_flag_the_commit(tmp_path, monkeypatch):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "r.csv").write_text("a\n1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    clean = provenance.commit()
    assert clean and "uncommitted" not in clean and clean != "unknown"
    (tmp_path / "benchmarks" / "results" / "r.csv").write_text("a\n2\n")
    assert provenance.commit() == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.commit() == f"{clean} (with uncommitted changes)"
