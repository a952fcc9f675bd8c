"""ReplayBuffer windows and Minari loading (`world_model.data`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs.errors import UserError
from world_model.data import ReplayBuffer, load_trajectories


def tagged_episode(ep: int, steps: int, obs_dim: int = 3, terminal: bool = False):
    """Observations carry (episode, step) so a window that crosses episodes is visible."""
    t = np.arange(steps + 1, dtype=np.float32)
    obs = np.stack([np.full_like(t, ep), t] + [t * 0.5] * (obs_dim - 2), axis=1)
    act = np.stack([np.full(steps, ep, np.float32), np.arange(steps, dtype=np.float32)], axis=1)
    rew = 100 * ep + np.arange(steps, dtype=np.float32)
    term = np.zeros(steps, bool)
    term[-1] = terminal
    return obs, act / 100.0, rew, term, ~term & (np.arange(steps) == steps - 1)


def filled(lengths, capacity=None) -> ReplayBuffer:
    buf = ReplayBuffer(3, 2, capacity)
    for ep, n in enumerate(lengths):
        buf.add_episode(*tagged_episode(ep, n))
    return buf


def test_windows_never_cross_episodes_and_cover_all_starts():
    lengths = [7, 3, 12, 5, 1, 9]
    buf = filled(lengths)
    horizon = 4
    batch = buf.sample(4000, horizon, np.random.default_rng(0))
    obs, act, rew = batch["obs"].numpy(), batch["act"].numpy(), batch["rew"].numpy()
    assert obs.shape == (4000, horizon + 1, 3) and act.shape == (4000, horizon, 2)
    assert rew.shape == (4000, horizon) and batch["term"].dtype == torch.bool
    ep, step = obs[:, :, 0], obs[:, :, 1]
    assert (ep == ep[:, :1]).all(), "a window crosses an episode boundary"
    assert (np.diff(step, axis=1) == 1).all()
    assert (rew == 100 * ep[:, :1] + step[:, :-1]).all()
    assert np.allclose(act[:, :, 0] * 100, ep[:, :1]) and np.allclose(act[:, :, 1] * 100,
                                                                        step[:, :-1])
    starts = {(int(e), int(s)) for e, s in zip(ep[:, 0], step[:, 0], strict=True)}
    valid = {(e, s) for e, n in enumerate(lengths) for s in range(n - horizon + 1)}
    assert starts == valid
    counts = np.bincount(ep[:, 0].astype(int), minlength=len(lengths))
    expected = np.array([max(n - horizon + 1, 0) for n in lengths]) / sum(
        max(n - horizon + 1, 0) for n in lengths) * 4000
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected + 1))


def test_sampling_is_reproducible_and_too_long_horizon_is_a_user_error():
    buf = filled([6, 6])
    a = buf.sample(8, 3, np.random.default_rng(5))
    b = buf.sample(8, 3, np.random.default_rng(5))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(UserError, match="7 steps"):
        buf.sample(8, 7, np.random.default_rng(0))


def test_capacity_drops_oldest_episodes_and_state_dict_round_trips():
    buf = filled([5] * 30, capacity=22)
    assert buf.num_steps <= 22 and buf.num_episodes == 4
    held = {int(buf.episode(i)["obs"][0, 0]) for i in range(buf.num_episodes)}
    assert held == {26, 27, 28, 29}
    batch = buf.sample(200, 5, np.random.default_rng(1))["obs"].numpy()
    assert set(np.unique(batch[:, 0, 0]).astype(int)) <= held
    state = buf.state_dict()
    copy = ReplayBuffer.from_state_dict(state)
    x = buf.sample(64, 2, np.random.default_rng(3))
    y = copy.sample(64, 2, np.random.default_rng(3))
    assert all(torch.equal(x[k], y[k]) for k in x)
    assert copy.num_steps == buf.num_steps and copy.num_episodes == buf.num_episodes


def test_split_by_episode_is_disjoint_and_complete():
    buf = filled(list(range(2, 22)))
    train, val = buf.split_episodes(0.25, seed=3)
    assert val.num_episodes == 5 and train.num_episodes == 15
    ids = lambda b: {int(b.episode(i)["obs"][0, 0]) for i in range(b.num_episodes)}  # noqa: E731
    assert ids(train).isdisjoint(ids(val)) and ids(train) | ids(val) == set(range(20))
    assert train.num_steps + val.num_steps == buf.num_steps
    assert ids(buf.split_episodes(0.25, seed=3)[1]) == ids(val)


def test_bad_episodes_are_user_errors_and_leave_the_buffer_unchanged():
    buf = filled([4])
    obs, act, rew, term, trunc = tagged_episode(1, 4)
    bad = obs.copy()
    bad[2, 1] = np.nan
    with pytest.raises(UserError, match="NaN"):
        buf.add_episode(bad, act, rew, term, trunc)
    with pytest.raises(UserError):
        buf.add_episode(obs[:-1], act, rew, term, trunc)
    assert buf.num_episodes == 1 and buf.num_steps == 4


# --- Minari datasets -------------------------------------------------------------------------

def write_minari(root, dataset_id, episodes, observation_space, action_space):
    import warnings

    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    buffers = [EpisodeBuffer(id=i, observations=ep["obs"], actions=ep["act"],
                             rewards=ep["rew"], terminations=ep["term"],
                             truncations=ep["trunc"], infos={}) for i, ep in enumerate(episodes)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        minari.create_dataset_from_buffers(dataset_id, buffers,
                                           observation_space=observation_space,
                                           action_space=action_space, algorithm_name="random")
    return root / dataset_id


def test_foreign_dict_observation_dataset_by_folder_and_by_id(tmp_path, monkeypatch):
    from gymnasium import spaces

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    obs_space = spaces.Dict({
        "zeta": spaces.Box(-np.inf, np.inf, (2,), np.float64),
        "alpha": spaces.Dict({"b": spaces.Box(-np.inf, np.inf, (1,), np.float64),
                              "a": spaces.Box(-np.inf, np.inf, (2, 2), np.float64)}),
    })
    act_space = spaces.Box(np.array([0.0, -2.0]), np.array([4.0, 2.0]), dtype=np.float64)
    rng = np.random.default_rng(0)
    episodes = []
    for n in (6, 4):
        episodes.append({
            "obs": {"zeta": rng.normal(size=(n + 1, 2)),
                    "alpha": {"b": rng.normal(size=(n + 1, 1)),
                              "a": rng.normal(size=(n + 1, 2, 2))}},
            "act": rng.uniform([0, -2], [4, 2], size=(n, 2)), "rew": rng.normal(size=n),
            "term": np.r_[np.zeros(n - 1, bool), True], "trunc": np.zeros(n, bool)})
    folder = write_minari(tmp_path, "foreign/dict-v0", episodes, obs_space, act_space)

    by_folder = load_trajectories(str(folder))
    by_id = load_trajectories("foreign/dict-v0")
    for buf in (by_folder, by_id):
        assert (buf.obs_dim, buf.act_dim, buf.num_episodes, buf.num_steps) == (7, 2, 2, 10)
    first = by_folder.episode(0)
    ep = episodes[0]
    expected = np.concatenate([ep["obs"]["alpha"]["a"].reshape(7, 4), ep["obs"]["alpha"]["b"],
                               ep["obs"]["zeta"]], axis=1)
    np.testing.assert_allclose(first["obs"], expected, rtol=1e-6)
    np.testing.assert_allclose(first["act"], ep["act"] / [2.0, 2.0] - [1.0, 0.0], atol=1e-6)
    assert first["term"][-1] and by_folder.metadata["actions_rescaled"]
    assert by_folder.has_terminations() and not filled([3, 4]).has_terminations()


def test_dataset_written_by_wmpc_collect_keeps_env_metadata(tmp_path):
    from envs.record import collect

    out = collect("dm_control/cartpole-swingup-v0", 1000, tmp_path / "cartpole",
                  policy=lambda obs: np.zeros(1, np.float32), seed=0, progress=False)
    buf = load_trajectories(str(out))
    assert buf.metadata["env_id"] == "dm_control/cartpole-swingup-v0"
    assert buf.metadata["action_repeat"] == 2
    assert (buf.obs_dim, buf.act_dim, buf.num_episodes, buf.num_steps) == (5, 1, 2, 1000)
    assert buf.metadata["actions_rescaled"] is False


def test_missing_corrupt_empty_and_nan_datasets_are_user_errors(tmp_path, monkeypatch):
    from gymnasium import spaces

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    with pytest.raises(UserError, match="no dataset"):
        load_trajectories("nowhere/none-v0")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="metadata.json"):
        load_trajectories(str(tmp_path / "plain"))
    box = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    act = spaces.Box(-1.0, 1.0, (1,), np.float32)
    ep = {"obs": np.zeros((4, 2), np.float32), "act": np.zeros((3, 1), np.float32),
          "rew": np.zeros(3), "term": np.zeros(3, bool), "trunc": np.r_[False, False, True]}
    ep["obs"][1, 0] = np.nan
    folder = write_minari(tmp_path, "bad/nan-v0", [ep], box, act)
    with pytest.raises(UserError, match="NaN"):
        load_trajectories(str(folder))
    (folder / "data" / "main_data.hdf5").write_bytes(b"not an hdf5 file")
    with pytest.raises(UserError, match="cannot read"):
        load_trajectories(str(folder))
    (folder / "data" / "metadata.json").write_text("{")
    with pytest.raises(UserError, match="cannot read"):
        load_trajectories(str(folder))
    empty = write_minari(tmp_path, "bad/empty-v0", [], box, act)
    with pytest.raises(UserError, match="no episodes"):
        load_trajectories(str(empty))
