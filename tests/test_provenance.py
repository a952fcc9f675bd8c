"""`agent.provenance.commit`: local changes to code flag the commit, changed results do not; only
wmpc's own checkout counts. `benchmarks.provenance`: README sections replaced in place."""

from __future__ import annotations

import subprocess

from agent import provenance
from benchmarks.provenance import replace_section


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)


def test_only_code_changes_flag_the_commit(tmp_path, monkeypatch):
    results = tmp_path / "benchmarks" / "results" / "tasks"  # a suite's folder
    results.mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (results / "r.csv").write_text("a\n1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    clean = provenance.commit()
    assert clean and "uncommitted" not in clean and clean != "unknown"
    (results / "r.csv").write_text("a\n2\n")
    assert provenance.commit() == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.commit() == f"{clean} (with uncommitted changes)"


def test_a_git_archive_names_its_commit(tmp_path, monkeypatch):
    repo, copy = tmp_path / "repo", tmp_path / "copy"
    (repo / "agent").mkdir(parents=True)
    (repo / provenance.ARCHIVED).write_text((provenance.ROOT / provenance.ARCHIVED).read_text())
    (repo / ".gitattributes").write_text((provenance.ROOT / ".gitattributes").read_text())
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    monkeypatch.setattr(provenance, "ROOT", repo)
    head = provenance.commit()
    copy.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=repo, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
    monkeypatch.setattr(provenance, "ROOT", copy)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert provenance.commit() == f"{head} (git archive)"
    (copy / provenance.ARCHIVED).unlink()
    assert provenance.commit() == "unknown"


def test_a_section_is_replaced_where_it_stands(tmp_path):
    md = tmp_path / "README.md"
    md.write_text("# R\n\n## A\n\nold a\n\n## B\n\nb\n")
    replace_section(md, "A", "new a")
    assert md.read_text() == "# R\n\n## A\n\nnew a\n\n## B\n\nb\n"
    replace_section(md, "C", "c")
    assert md.read_text() == "# R\n\n## A\n\nnew a\n\n## B\n\nb\n\n## C\n\nc\n"


def test_another_repository_around_wmpc_is_not_its_commit(tmp_path, monkeypatch):
    outer = tmp_path / "their_project"
    inside = outer / "venv" / "site-packages"
    (inside / "agent").mkdir(parents=True)
    (outer / "theirs.py").write_text("y = 1\n")
    _git(outer, "init", "-q")
    _git(outer, "add", ".")
    _git(outer, "commit", "-q", "-m", "theirs")
    monkeypatch.setattr(provenance, "ROOT", inside)
    assert provenance.commit() == "unknown"  # no agent/COMMIT there, and their HEAD is not ours
