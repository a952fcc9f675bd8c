"""`wmpc train` under torchrun: two gloo ranks on the CPU take the same steps as one process with
the doubled batch and resume exactly (with as many ranks only); ranks that disagree on the data
get one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from world_model.checkpoint import read_checkpoint

TESTS = Path(__file__).parent
WMPC = str(Path(sys.executable).parent / "wmpc")
SMALL = ["--set", "model.latent_dim=8", "--set", "model.hidden_dim=16", "--ensemble", "2",
         "--horizon", "3", "--eval-every", "1000", "--no-progress"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MUJOCO_GL="egl", WMPC_COMPILE="0", WMPC_TORCH_THREADS="1",
               OMP_NUM_THREADS="1", PYTHONPATH=f"{TESTS}{os.pathsep}"
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return _run(sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", WMPC, *args, cwd=cwd)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ddp")
    done = _run(WMPC, "collect", "--env", "point_env:PointMass-v0", "--steps", "400", "--out",
                "data", "--no-progress", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_two_ranks_match_one_process_with_the_doubled_batch(data):
    if shutil.which("wmpc", path=str(Path(WMPC).parent)) is None:
        pytest.skip("the wmpc console script is not installed next to this Python")
    one = _run(WMPC, "train", "--data", "data", "--out", "one", "--steps", "6",
               "--batch-size", "16", *SMALL, cwd=data)
    assert one.returncode == 0, one.stderr
    two = _torchrun("train", "--data", "data", "--out", "two", "--steps", "6",
                    "--batch-size", "8", *SMALL, cwd=data)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("validation:") == 1  # rank 0 alone reports
    a, b = read_checkpoint(data / "one"), read_checkpoint(data / "two")
    assert b["extra"]["ranks"] == 2 and a["trainer"]["step"] == b["trainer"]["step"] == 6
    for name, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    first = _torchrun("train", "--data", "data", "--out", "resumed", "--steps", "3",
                      "--batch-size", "8", *SMALL, cwd=data)
    rest = _torchrun("train", "--data", "data", "--out", "resumed", "--steps", "6", "--resume",
                     "--no-progress", cwd=data)
    assert first.returncode == 0 and rest.returncode == 0, rest.stderr[-3000:]
    resumed = read_checkpoint(data / "resumed")["model"]
    for name, tensor in b["model"].items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    alone = _run(WMPC, "train", "--data", "data", "--out", "two", "--steps", "8", "--resume",
                 "--no-progress", cwd=data)
    assert alone.returncode == 2 and "trained by 2 process(es)" in alone.stderr, alone.stderr
    half = _run(WMPC, "train", "--data", "data", "--out", "half", "--steps", "6",
                "--batch-size", "8", *SMALL, cwd=data)
    assert half.returncode == 0, half.stderr
    c = read_checkpoint(data / "half")
    assert any(not torch.allclose(c["model"][k], v, rtol=1e-4, atol=1e-5)
               for k, v in b["model"].items()), "a single rank's batch gives the same weights"


def test_ranks_that_disagree_on_the_data_are_one_line(data):
    other = data / "other"
    if not other.exists():
        shutil.copytree(data / "data", other)
    script = ("import os, sys\n"
              "from agent.cli import main\n"
              "sys.argv[sys.argv.index('DATA')] = 'data' if os.environ['RANK'] == '0' "
              "else 'other'\n"
              "main()\n")
    (data / "launch.py").write_text(script)
    done = _run(sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", "launch.py", "train", "--data", "DATA", "--out",
                "split", "--steps", "2", *SMALL, cwd=data)
    assert done.returncode != 0
    assert (f"the torchrun ranks disagree on data: {data / 'data'}, {data / 'other'}"
            in done.stderr)
    assert not (data / "split" / "checkpoint.pt").exists()


def test_the_data_fingerprint_tells_contents_apart(data):
    from world_model.data import load_trajectories
    from world_model.train import _fingerprint

    buffer = load_trajectories(data / "data")
    episode = buffer.episode(0)
    other = load_trajectories(data / "data")
    assert _fingerprint(other) == _fingerprint(buffer)
    other.add_episode(episode["obs"], episode["act"], episode["rew"], episode["term"],
                      episode["trunc"])
    assert _fingerprint(other) != _fingerprint(buffer)
