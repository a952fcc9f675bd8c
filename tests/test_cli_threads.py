"""How many torch threads the CLI uses: `WMPC_TORCH_THREADS`, else every core it may use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agent.cli import torch_threads
from envs.errors import UserError


def test_default_is_every_usable_core(monkeypatch):
    monkeypatch.delenv("WMPC_TORCH_THREADS", raising=False)
    assert torch_threads() == len(os.sched_getaffinity(0))


def test_environment_variable_wins(monkeypatch):
    monkeypatch.setenv("WMPC_TORCH_THREADS", "3")
    assert torch_threads() == 3


@pytest.mark.parametrize("text", ["0", "two", "-1", ""])
def test_bad_value_is_a_user_error(monkeypatch, text):
    monkeypatch.setenv("WMPC_TORCH_THREADS", text)
    with pytest.raises(UserError, match="WMPC_TORCH_THREADS"):
        torch_threads()


def test_bad_value_is_one_line_on_the_command_line():
    env = {**os.environ, "WMPC_TORCH_THREADS": "many"}
    done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "envs"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wmpc: error: WMPC_TORCH_THREADS must be a positive whole number, got 'many'"]
