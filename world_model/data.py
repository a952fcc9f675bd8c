"""Trajectories for training: `ReplayBuffer` (contiguous arrays, windows within episodes) and
`load_trajectories` (Minari datasets: what `wmpc collect` wrote, any local folder, or an id).

Minari is imported inside `load_trajectories` only, so the buffer works with numpy and torch alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from world_model.errors import user_error


class ReplayBuffer:
    """Episodes stored back to back in growable arrays (observations uint8 when they are images,
    float32 otherwise; image rows longer than the image carry a state as its float32 bytes,
    `envs.pixels`).

    Episode e holds T_e steps: observations (T_e + 1, O), actions (T_e, A), rewards, terminations
    and truncations (T_e,). With a `capacity` (in steps) the oldest episodes are dropped; their
    space is reclaimed in amortised O(1) per step. `metadata` (env_id, action_repeat, ...) comes
    from the dataset the buffer was loaded from.
    """

    def __init__(self, obs_dim: int, act_dim: int, capacity: int | None = None,
                 metadata: dict[str, Any] | None = None,
                 image_shape: tuple[int, int, int] | None = None):
        if obs_dim < 1 or act_dim < 1:
            raise user_error(f"buffer sizes must be positive, got obs {obs_dim}, act {act_dim}")
        if capacity is not None and capacity < 1:
            raise user_error(f"buffer capacity must be positive, got {capacity}")
        if image_shape is not None:
            image_shape = tuple(int(v) for v in image_shape)
            extra = obs_dim - int(np.prod(image_shape))
            if len(image_shape) != 3 or extra < 0 or extra % 4:
                raise user_error(f"image shape {image_shape} does not hold observations of "
                                 f"{obs_dim} values")
        self.obs_dim, self.act_dim, self.capacity = obs_dim, act_dim, capacity
        self.image_shape = image_shape
        """(C, H, W) of image observations, stored as uint8; None for float32 state vectors."""
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._obs = np.zeros((64, obs_dim), np.uint8 if image_shape else np.float32)
        self._act = np.zeros((64, act_dim), np.float32)
        self._rew = np.zeros(64, np.float32)
        self._term = np.zeros(64, bool)
        self._trunc = np.zeros(64, bool)
        self._ep_obs = np.zeros(16, np.int64)
        self._ep_step = np.zeros(16, np.int64)
        self._ep_len = np.zeros(16, np.int64)
        self._episodes = 0
        self._first = 0
        self._steps_used = 0
        self._obs_used = 0
        self._live_steps = 0
        self._windows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def num_steps(self) -> int:
        """Transitions held (agent decisions)."""
        return self._live_steps

    @property
    def num_episodes(self) -> int:
        """Episodes held."""
        return self._episodes - self._first

    def add_episode(self, obs: np.ndarray, act: np.ndarray, rew: np.ndarray, term: np.ndarray,
                    trunc: np.ndarray) -> None:
        """Append one episode: obs (T+1, O), act (T, A), rew, term, trunc (T,); T >= 1.

        Only the last step may be terminated. Non-finite values raise UserError.
        """
        obs = self._stored_obs(obs)
        act = np.asarray(act, np.float32)
        rew = np.asarray(rew, np.float32).reshape(-1)
        term = np.asarray(term, bool).reshape(-1)
        trunc = np.asarray(trunc, bool).reshape(-1)
        steps = act.shape[0] if act.ndim == 2 else 0
        if steps < 1 or obs.shape != (steps + 1, self.obs_dim) or act.shape[1] != self.act_dim:
            raise user_error(f"episode shapes obs {obs.shape}, act {act.shape} do not fit a buffer"
                             f" of obs {self.obs_dim}, act {self.act_dim} (need T >= 1 steps)")
        if rew.shape != (steps,) or term.shape != (steps,) or trunc.shape != (steps,):
            raise user_error(f"episode of {steps} steps has {rew.shape[0]} rewards, "
                             f"{term.shape[0]} terminations, {trunc.shape[0]} truncations")
        if not (np.isfinite(obs).all() and np.isfinite(act).all() and np.isfinite(rew).all()):
            raise user_error("episode holds NaN or infinite values")
        if term[:-1].any():
            raise user_error("episode terminates before its last step")
        self._reserve(steps)
        s, o = self._steps_used, self._obs_used
        self._obs[o:o + steps + 1] = obs
        self._act[s:s + steps] = act
        self._rew[s:s + steps] = rew
        self._term[s:s + steps] = term
        self._trunc[s:s + steps] = trunc
        e = self._episodes
        self._ep_obs[e], self._ep_step[e], self._ep_len[e] = o, s, steps
        self._episodes += 1
        self._steps_used += steps
        self._obs_used += steps + 1
        self._live_steps += steps
        self._evict()
        self._windows.clear()

    def _stored_obs(self, obs: Any) -> np.ndarray:
        if self.image_shape is None:
            return np.asarray(obs, np.float32)
        obs = np.asarray(obs)
        pixels = int(np.prod(self.image_shape))
        if obs.dtype != np.uint8:
            if obs.shape[-1] > pixels:
                raise user_error("image observations with a state after the image are uint8 "
                                 f"rows, got {obs.dtype}")
            if not (np.isfinite(obs).all() and obs.min(initial=0) >= 0
                    and obs.max(initial=0) <= 255):
                raise user_error("image observations must be pixel values in [0, 255]")
            obs = obs.astype(np.uint8)
        elif obs.ndim == 2 and obs.shape[1] == self.obs_dim > pixels:
            if not np.isfinite(np.ascontiguousarray(obs[:, pixels:]).view(np.float32)).all():
                raise user_error("episode holds NaN or infinite values")
        return obs

    def episode(self, index: int) -> dict[str, np.ndarray]:
        """Copies of episode `index` (0 = oldest held): obs, act, rew, term, trunc."""
        if not 0 <= index < self.num_episodes:
            raise IndexError(f"episode {index} of {self.num_episodes}")
        e = self._first + index
        o, s, n = self._ep_obs[e], self._ep_step[e], self._ep_len[e]
        return {"obs": self._obs[o:o + n + 1].copy(), "act": self._act[s:s + n].copy(),
                "rew": self._rew[s:s + n].copy(), "term": self._term[s:s + n].copy(),
                "trunc": self._trunc[s:s + n].copy()}

    def observations(self) -> np.ndarray:
        """Every observation held (N, O), a read-only view."""
        view = self._obs[self._ep_obs[self._first] if self.num_episodes else 0:self._obs_used]
        view = view.view()
        view.flags.writeable = False
        return view

    def has_terminations(self) -> bool:
        """Whether any episode held ends in a termination (an episodic task)."""
        first = self._ep_step[self._first] if self.num_episodes else 0
        return bool(self._term[first:self._steps_used].any())

    def episode_lengths(self) -> np.ndarray:
        """Steps of each episode held (E,)."""
        return self._ep_len[self._first:self._episodes].copy()

    def sample(self, batch: int, horizon: int, generator: np.random.Generator,
               device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        """`batch` windows of `horizon` steps drawn uniformly among all windows inside episodes.

        Returns obs (B, T+1, O) (uint8 images or float32), act (B, T, A), rew (B, T) float32 and
        term (B, T) bool tensors.
        """
        if horizon < 1 or batch < 1:
            raise user_error(f"batch and horizon must be positive, got {batch}, {horizon}")
        starts, cum = self._window_table(horizon)
        total = int(cum[-1]) if cum.size else 0
        if total == 0:
            raise user_error(f"no episode in the data has {horizon} steps; use a shorter horizon")
        u = generator.integers(0, total, size=batch)
        ep = np.searchsorted(cum, u, side="right")
        offset = u - (cum[ep] - starts[ep])
        ep += self._first
        steps = (self._ep_step[ep] + offset)[:, None] + np.arange(horizon)
        obs = (self._ep_obs[ep] + offset)[:, None] + np.arange(horizon + 1)
        out = {"obs": self._obs[obs], "act": self._act[steps], "rew": self._rew[steps],
               "term": self._term[steps]}
        return {k: torch.from_numpy(v).to(device) if device is not None else torch.from_numpy(v)
                for k, v in out.items()}

    def split_episodes(self, val_fraction: float, seed: int) -> tuple[ReplayBuffer, ReplayBuffer]:
        """Random split by episode into (train, validation); validation gets at least one."""
        n = self.num_episodes
        if n < 2:
            raise user_error(f"the data holds {n} episode(s); at least 2 are needed to hold some"
                             " out for validation")
        if not 0.0 < val_fraction < 1.0:
            raise user_error(f"validation fraction must be in (0, 1), got {val_fraction}")
        n_val = min(n - 1, max(1, round(n * val_fraction)))
        perm = np.random.default_rng(seed).permutation(n)
        return self._subset(np.sort(perm[n_val:])), self._subset(np.sort(perm[:n_val]))

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the buffer exactly (tensors + plain values)."""
        lens = self.episode_lengths()
        first_obs = self._ep_obs[self._first] if self.num_episodes else 0
        first_step = self._ep_step[self._first] if self.num_episodes else 0
        return {"obs": torch.from_numpy(self._obs[first_obs:self._obs_used].copy()),
                "act": torch.from_numpy(self._act[first_step:self._steps_used].copy()),
                "rew": torch.from_numpy(self._rew[first_step:self._steps_used].copy()),
                "term": torch.from_numpy(self._term[first_step:self._steps_used].copy()),
                "trunc": torch.from_numpy(self._trunc[first_step:self._steps_used].copy()),
                "episode_lengths": torch.from_numpy(lens), "obs_dim": self.obs_dim,
                "act_dim": self.act_dim, "capacity": self.capacity,
                "image_shape": list(self.image_shape or ()),
                "metadata": json.dumps(self.metadata)}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ReplayBuffer:
        """Inverse of `state_dict`."""
        buf = cls(int(state["obs_dim"]), int(state["act_dim"]), state["capacity"],
                  json.loads(state["metadata"]), state.get("image_shape") or None)
        lens = state["episode_lengths"].numpy().astype(np.int64)
        steps = int(lens.sum())
        buf._reserve_exact(steps, steps + lens.size, lens.size)
        buf._obs[:steps + lens.size] = state["obs"].numpy()
        for name in ("act", "rew", "term", "trunc"):
            getattr(buf, f"_{name}")[:steps] = state[name].numpy()
        step_starts = np.cumsum(lens) - lens
        buf._ep_step[:lens.size] = step_starts
        buf._ep_obs[:lens.size] = step_starts + np.arange(lens.size)
        buf._ep_len[:lens.size] = lens
        buf._episodes = lens.size
        buf._steps_used = buf._live_steps = steps
        buf._obs_used = steps + lens.size
        return buf

    # --- internals ----------------------------------------------------------------------------

    def _window_table(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        if horizon not in self._windows:
            starts = np.maximum(self.episode_lengths() - horizon + 1, 0)
            self._windows[horizon] = (starts, np.cumsum(starts))
        return self._windows[horizon]

    def _subset(self, episodes: np.ndarray) -> ReplayBuffer:
        ep = episodes + self._first
        lens = self._ep_len[ep]
        steps = _ranges(self._ep_step[ep], lens)
        obs = _ranges(self._ep_obs[ep], lens + 1)
        state = {"obs": torch.from_numpy(self._obs[obs]),
                 "act": torch.from_numpy(self._act[steps]),
                 "rew": torch.from_numpy(self._rew[steps]),
                 "term": torch.from_numpy(self._term[steps]),
                 "trunc": torch.from_numpy(self._trunc[steps]),
                 "episode_lengths": torch.from_numpy(lens.copy()), "obs_dim": self.obs_dim,
                 "act_dim": self.act_dim, "capacity": self.capacity,
                 "image_shape": list(self.image_shape or ()),
                 "metadata": json.dumps(self.metadata)}
        return ReplayBuffer.from_state_dict(state)

    def _reserve(self, steps: int) -> None:
        self._reserve_exact(self._steps_used + steps, self._obs_used + steps + 1,
                            self._episodes + 1)

    def _reserve_exact(self, steps: int, obs: int, episodes: int) -> None:
        self._obs = _grown(self._obs, obs)
        self._act = _grown(self._act, steps)
        self._rew = _grown(self._rew, steps)
        self._term = _grown(self._term, steps)
        self._trunc = _grown(self._trunc, steps)
        self._ep_obs = _grown(self._ep_obs, episodes)
        self._ep_step = _grown(self._ep_step, episodes)
        self._ep_len = _grown(self._ep_len, episodes)

    def _evict(self) -> None:
        if self.capacity is None:
            return
        while self._live_steps > self.capacity and self.num_episodes > 1:
            self._live_steps -= int(self._ep_len[self._first])
            self._first += 1
        dead_steps = int(self._ep_step[self._first])
        if dead_steps <= self._live_steps:
            return
        s0, o0, e0 = dead_steps, int(self._ep_obs[self._first]), self._first
        for arr, start, used in ((self._act, s0, self._steps_used),
                                 (self._rew, s0, self._steps_used),
                                 (self._term, s0, self._steps_used),
                                 (self._trunc, s0, self._steps_used),
                                 (self._obs, o0, self._obs_used)):
            arr[:used - start] = arr[start:used].copy()
        n = self._episodes - e0
        self._ep_obs[:n] = self._ep_obs[e0:self._episodes] - o0
        self._ep_step[:n] = self._ep_step[e0:self._episodes] - s0
        self._ep_len[:n] = self._ep_len[e0:self._episodes].copy()
        self._episodes, self._first = n, 0
        self._steps_used -= s0
        self._obs_used -= o0


def _grown(arr: np.ndarray, needed: int) -> np.ndarray:
    if needed <= arr.shape[0]:
        return arr
    size = max(needed, 2 * arr.shape[0])
    out = np.zeros((size, *arr.shape[1:]), arr.dtype)
    out[:arr.shape[0]] = arr
    return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + l) for each (s, l), without a Python loop."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


# --- Minari datasets ------------------------------------------------------------------------

def dataset_path(source: str) -> Path:
    """The Minari data folder (the one holding metadata.json) that `source` names.

    `source` is a dataset folder (holding metadata.json, or data/metadata.json) or a dataset id
    under MINARI_DATASETS_PATH (default ~/.minari/datasets).
    """
    path = Path(source).expanduser()
    if path.is_dir():
        for candidate in (path, path / "data"):
            if (candidate / "metadata.json").is_file():
                return candidate
        raise user_error(f"{source} is not a Minari dataset folder (no metadata.json in it or in "
                         "its data/ folder)")
    if path.exists():
        raise user_error(f"{source} is a file; --data takes a Minari dataset folder or id")
    root = Path(os.environ.get("MINARI_DATASETS_PATH")
                or Path.home() / ".minari" / "datasets").expanduser()
    candidate = root / source / "data"
    if (candidate / "metadata.json").is_file():
        return candidate
    raise user_error(f"no dataset '{source}': not a folder, and not a Minari dataset id under "
                     f"{root} (set MINARI_DATASETS_PATH)")


def load_trajectories(source: str, capacity: int | None = None) -> ReplayBuffer:
    """Read a Minari dataset into a `ReplayBuffer` (see `dataset_path` for `source`).

    Dict (also nested) and tuple observations are flattened in sorted key order; bounded Box
    actions are rescaled to [-1, 1]. Missing, unreadable or empty data and NaNs raise UserError.
    """
    path = dataset_path(source)
    try:
        import minari
        from gymnasium import spaces

        dataset = minari.MinariDataset(path)
        episodes = list(dataset.iterate_episodes())
        action_space = dataset.action_space
        raw = json.loads((path / "metadata.json").read_text())
    except Exception as err:  # noqa: BLE001 - any failure to read is the user's data
        raise user_error(f"cannot read the Minari dataset at {path}: {err}") from err
    if not episodes:
        raise user_error(f"the dataset at {path} holds no episodes")
    if not isinstance(action_space, spaces.Box):
        raise user_error(f"the dataset at {path} has {type(action_space).__name__} actions; "
                         "only continuous (Box) actions are supported")
    low, high = (np.asarray(b, np.float64).reshape(-1) for b in (action_space.low,
                                                                 action_space.high))
    rescale = bool(np.isfinite(low).all() and np.isfinite(high).all()
                   and not (np.allclose(low, -1) and np.allclose(high, 1)))
    meta = _metadata(raw, path)
    meta["actions_rescaled"] = rescale
    image_shape, channels_last = _image_layout(dataset.observation_space, meta)
    buffer: ReplayBuffer | None = None
    for i, ep in enumerate(episodes):
        if image_shape is None:
            obs = _flatten(ep.observations)
        else:
            obs = np.asarray(ep.observations)
            if channels_last:
                obs = np.moveaxis(obs, -1, 1)
            obs = obs.reshape(obs.shape[0], -1)
        act = np.asarray(ep.actions, np.float64).reshape(len(ep.rewards), -1)
        if rescale:
            act = 2.0 * (act - low) / (high - low) - 1.0
        if buffer is None:
            buffer = ReplayBuffer(obs.shape[1], act.shape[1], capacity, meta, image_shape)
        try:
            buffer.add_episode(obs, act, ep.rewards, ep.terminations, ep.truncations)
        except Exception as err:
            raise user_error(f"episode {i} of the dataset at {path}: {err}") from err
    assert buffer is not None
    return buffer


def _image_layout(space: Any, meta: dict[str, Any]) -> tuple[tuple[int, ...] | None, bool]:
    """(image shape (C, H, W) or None, whether the stored images are channels-last).

    A dataset `wmpc collect` wrote names its shape (`image_shape`, flat channel-first frame
    stacks); another dataset holds images when its observations are a uint8 Box of 3 dims:
    (H, W, C) when the last dim has 1, 3 or 4 channels, else (C, H, W).
    """
    if meta.get("image_shape"):
        try:
            shape = tuple(int(v) for v in json.loads(meta["image_shape"]))
        except (TypeError, ValueError) as err:
            raise user_error(f"the dataset's image_shape {meta['image_shape']!r} is not a list "
                             "of 3 sizes") from err
        return shape, False
    shape = getattr(space, "shape", None)
    if getattr(space, "dtype", None) != np.uint8 or shape is None or len(shape) != 3:
        return None, False
    if shape[-1] in (1, 3, 4):
        return (shape[2], shape[0], shape[1]), True
    return tuple(shape), False


def _flatten(obs: Any) -> np.ndarray:
    """Observations of one episode (T+1, ...), a dict or tuple of such -> (T+1, O) float32."""
    if isinstance(obs, dict):
        return np.concatenate([_flatten(obs[k]) for k in sorted(obs)], axis=1)
    if isinstance(obs, (tuple, list)):
        return np.concatenate([_flatten(v) for v in obs], axis=1)
    arr = np.asarray(obs, np.float32)
    return arr.reshape(arr.shape[0], -1)


def _metadata(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """Plain values of a dataset's metadata.json, plus env_id and the source path."""
    skip = {"env_spec", "eval_env_spec", "observation_space", "action_space"}
    meta = {k: v for k, v in raw.items()
            if k not in skip and (v is None or isinstance(v, (str, int, float, bool)))}
    env_id = raw.get("env_id")
    if env_id is None and isinstance(raw.get("env_spec"), str):
        try:
            env_id = json.loads(raw["env_spec"]).get("id")
        except json.JSONDecodeError:
            env_id = None
    meta["env_id"] = env_id
    meta["source"] = str(path)
    return meta


def random_episodes(env: Any, episodes: int, seed: int,
                    metadata: dict[str, Any] | None = None) -> ReplayBuffer:
    """`episodes` whole episodes of uniform random actions in [-1, 1] on `env` (flat observations,
    e.g. from `envs.make_env`), episode e reset with seed `seed * 100_003 + e`."""
    rng = np.random.default_rng(seed)
    shape = env.action_space.shape
    buf = ReplayBuffer(env.observation_space.shape[0], shape[0], metadata=metadata)
    for e in range(episodes):
        obs, _ = env.reset(seed=seed * 100_003 + e)
        rows, act, rew, term, trunc = [obs], [], [], [], []
        while not (term and term[-1]) and not (trunc and trunc[-1]):
            a = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
            obs, r, te, tr, _ = env.step(a)
            rows.append(obs)
            act.append(a)
            rew.append(r)
            term.append(bool(te))
            trunc.append(bool(tr))
        buf.add_episode(np.array(rows), np.array(act), np.array(rew), np.array(term),
                        np.array(trunc))
    return buf
