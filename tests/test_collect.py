"""Recording to Minari: round trip through plain minari, atomic writes, policies, CLI errors."""

import json
import os
import subprocess
import sys

import minari
import numpy as np
import pytest

from agent.policies import ColoredNoisePolicy, UniformPolicy
from envs import UserError, make_env
from envs.record import ACTIONS_NOTE, collect

CARTPOLE = "dm_control/cartpole-swingup-v0"


def _snapshot(folder):
    return {
        path: (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_round_trip_read_by_plain_minari(tmp_path, monkeypatch):
    out = collect(CARTPOLE, 1100, tmp_path / "cartpole", policy=UniformPolicy(1, seed=0),
                  seed=3, progress=False)
    assert out == tmp_path / "cartpole" and (out / "data" / "metadata.json").is_file()
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    dataset = minari.load_dataset("cartpole")
    assert dataset.total_steps == 1100 and dataset.total_episodes == 3
    lengths = []
    for episode in dataset.iterate_episodes():
        steps = len(episode.rewards)
        lengths.append(steps)
        assert episode.observations.shape == (steps + 1, 5)
        assert episode.observations.dtype == np.float32
        assert episode.actions.shape == (steps, 1)
        assert np.abs(episode.actions).max() <= 1.0
        assert episode.terminations.shape == episode.truncations.shape == (steps,)
        assert episode.truncations[-1] and not episode.truncations[:-1].any()
        assert not episode.terminations.any()
    assert lengths == [500, 500, 100]
    meta = json.loads((out / "data" / "metadata.json").read_text())
    assert meta["env_id"] == CARTPOLE and meta["actions"] == ACTIONS_NOTE
    assert (meta["action_repeat"], meta["episode_steps"]) == (2, 500)
    assert json.loads(meta["env_kwargs"]) == {} and json.loads(meta["seeds"]) == [3]
    assert json.loads(meta["obs_layout"]) == {"position": [0, 3], "velocity": [3, 5]}


def test_recorded_episode_replays_in_the_env(tmp_path):
    out = collect("Hopper-v5", 60, tmp_path / "hop", policy=UniformPolicy(3, seed=1), seed=2,
                  progress=False)
    episode = next(iter(minari.MinariDataset(out / "data").iterate_episodes()))
    env = make_env("Hopper-v5", seed=2)
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, episode.observations[0])
    for t, action in enumerate(episode.actions):
        obs, reward, terminated, _, _ = env.step(action)
        np.testing.assert_array_equal(obs, episode.observations[t + 1])
        assert reward == episode.rewards[t] and terminated == episode.terminations[t]


def test_existing_out_is_refused_and_untouched(tmp_path):
    out = collect(CARTPOLE, 20, tmp_path / "d", policy=UniformPolicy(1), progress=False)
    before = _snapshot(out)
    with pytest.raises(UserError, match="--append"):
        collect(CARTPOLE, 20, out, policy=UniformPolicy(1), progress=False)
    assert _snapshot(out) == before
    with pytest.raises(UserError, match="env_id"):
        collect("HalfCheetah-v5", 20, out, policy=UniformPolicy(6), append=True, progress=False)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_append_adds_episodes(tmp_path):
    out = collect(CARTPOLE, 30, tmp_path / "d", policy=UniformPolicy(1), seed=1, progress=False)
    collect(CARTPOLE, 40, out, policy=UniformPolicy(1), seed=2, append=True, progress=False)
    dataset = minari.MinariDataset(out / "data")
    assert dataset.total_steps == 70 and dataset.total_episodes == 2
    assert [len(e.rewards) for e in dataset.iterate_episodes()] == [30, 40]
    meta = json.loads((out / "data" / "metadata.json").read_text())
    assert json.loads(meta["seeds"]) == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_crash_while_collecting_leaves_old_dataset(tmp_path):
    out = collect(CARTPOLE, 20, tmp_path / "d", policy=UniformPolicy(1), progress=False)
    before = _snapshot(out)
    calls = []

    def failing_policy(obs):
        calls.append(obs)
        if len(calls) > 5:
            raise RuntimeError("policy crashed")
        return np.zeros(1, np.float32)

    with pytest.raises(RuntimeError, match="crashed"):
        collect(CARTPOLE, 50, out, policy=failing_policy, append=True, progress=False)
    with pytest.raises(RuntimeError, match="crashed"):
        collect(CARTPOLE, 50, tmp_path / "new", policy=failing_policy, progress=False)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_crash_while_writing_leaves_no_partial_dataset(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(minari, "create_dataset_from_buffers", disk_full)
    with pytest.raises(OSError, match="No space"):
        collect(CARTPOLE, 20, tmp_path / "d", policy=UniformPolicy(1), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_collect_arguments(tmp_path):
    with pytest.raises(UserError, match="positive"):
        collect(CARTPOLE, 0, tmp_path / "d", policy=UniformPolicy(1), progress=False)
    with pytest.raises(UserError, match="does not exist"):
        collect(CARTPOLE, 5, tmp_path / "no" / "d", policy=UniformPolicy(1), progress=False)
    (tmp_path / "junk").mkdir()
    with pytest.raises(UserError, match="not a readable Minari dataset"):
        collect(CARTPOLE, 5, tmp_path / "junk", policy=UniformPolicy(1), append=True,
                progress=False)


def test_policies_are_seeded_and_bounded():
    for make in (lambda s: UniformPolicy(2, seed=s),
                 lambda s: ColoredNoisePolicy(2, episode_steps=50, beta=1.0, seed=s)):
        first, again, other = make(4), make(4), make(5)
        for policy in (first, again, other):
            policy.reset()
        a = np.stack([first(None) for _ in range(120)])
        b = np.stack([again(None) for _ in range(120)])
        c = np.stack([other(None) for _ in range(120)])
        assert a.dtype == np.float32 and a.shape == (120, 2)
        assert np.abs(a).max() <= 1.0
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_colored_noise_is_correlated_and_covers_more_than_uniform():
    def lag_one(policy):
        policy.reset()
        x = np.stack([policy(None) for _ in range(500)])[:, 0]
        return np.corrcoef(x[:-1], x[1:])[0, 1]

    assert abs(lag_one(UniformPolicy(1, seed=0))) < 0.15
    assert lag_one(ColoredNoisePolicy(1, episode_steps=500, beta=1.0, seed=0)) > 0.4

    def best_upright(policy, seed):
        env = make_env(CARTPOLE, seed=seed)
        obs, _ = env.reset()
        policy.reset()
        best = -1.0
        for _ in range(500):
            obs = env.step(policy(obs))[0]
            best = max(best, float(obs[1]))  # cosine of the pole angle: 1 is upright
        return best

    seeds = range(3)
    uniform = np.mean([best_upright(UniformPolicy(1, seed=s), s) for s in seeds])
    pink = np.mean(
        [best_upright(ColoredNoisePolicy(1, episode_steps=500, seed=s), s) for s in seeds]
    )
    assert pink > uniform + 0.3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--env", "HalfCheeta-v5"], "HalfCheetah-v5"),
        (["--env", CARTPOLE, "--policy", "no/such/run"], "no/such/run"),
    ],
)
def test_cli_bad_input_is_one_line_without_traceback(tmp_path, args, expected):
    env = dict(os.environ, MUJOCO_GL="egl")
    result = subprocess.run(
        [sys.executable, "-c", "from agent.cli import main; main()", "collect", *args,
         "--steps", "10", "--out", str(tmp_path / "d")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()
