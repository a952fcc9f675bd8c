"""Record whole episodes of a policy as a Minari dataset, written atomically.

The dataset folder (`out`) holds `data/metadata.json` and `data/main_data.hdf5`; plain
`minari.MinariDataset(out / "data")`, or `minari.load_dataset(out.name)` with
`MINARI_DATASETS_PATH=out.parent`, reads it without wmpc. Besides Minari's own keys, metadata.json
holds plain top-level keys: `env_id`, `env_kwargs` (JSON text), `action_repeat`, `episode_steps`,
`actions` (a note: the agent's [-1, 1] actions, before `make_env` rescales them), `obs_layout` and,
for goal envs, `goal_layout` (JSON text: key -> [start, stop) of the flat observation), `policy`,
`seeds` (JSON list: the seed of every `collect` call that wrote episodes).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from envs.conventions import convention_for
from envs.errors import UserError, env_call
from envs.make import make_env, make_vector_env

ACTIONS_NOTE = "agent actions in [-1, 1]; make_env rescales them to the env's bounds"
"""Value of the `actions` metadata key."""


class Policy(Protocol):
    """What `collect` runs: `policy(obs (O,) float32) -> action (A,)` in [-1, 1]; `reset()` optional
    (called before every episode when present)."""

    def __call__(self, obs: np.ndarray) -> np.ndarray: ...


@contextlib.contextmanager
def _minari_root(path: Path) -> Iterator[None]:
    """Point Minari's dataset root at `path` for the duration."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def _dataset_id(name: str) -> str:
    """A Minari id (`name-vN`) for a folder name."""
    if re.fullmatch(r"[-_\w]+?-v\d+", name):
        return name
    return re.sub(r"[^-_\w]", "_", name).strip("-") + "-v0"


def _exchange(a: Path, b: Path) -> None:
    """Swap two existing paths atomically (Linux renameat2); elsewhere two renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_fdcwd, rename_exchange = -100, 2
    if (
        renameat2 is not None
        and renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    ):
        return
    parked = a.with_name(a.name + ".parked")
    os.rename(a, parked)
    os.rename(b, a)
    os.rename(parked, b)


def _read_existing(out: Path) -> tuple[list[Any], dict[str, Any]]:
    """Episodes and metadata of the dataset at `out`, or UserError if it is not one."""
    meta_file = out / "data" / "metadata.json"
    try:
        import minari

        meta = json.loads(meta_file.read_text())
        episodes = list(minari.MinariDataset(out / "data").iterate_episodes())
    except Exception as err:  # any failure to read means it cannot be appended to
        raise UserError(f"cannot append to {out}: not a readable Minari dataset ({err})") from err
    return episodes, meta


def _check_compatible(out: Path, meta: dict[str, Any], new: dict[str, Any]) -> None:
    for key in ("env_id", "env_kwargs", "action_repeat", "episode_steps"):
        if meta.get(key) != new[key]:
            raise UserError(
                f"cannot append to {out}: its {key} is {meta.get(key)!r}, "
                f"this run's is {new[key]!r}"
            )


class PerEnvPolicies:
    """N `Policy`s, one per env, as one batch policy: `act(obs (N, O)) -> (N, A)`,
    `reset(index)` (every env's when `index` is None)."""

    def __init__(self, policies: list[Policy]):
        self.policies = policies
        self.name = getattr(policies[0], "name", type(policies[0]).__name__)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.stack([policy(o) for policy, o in zip(self.policies, obs, strict=True)])

    def reset(self, index: int | None = None) -> None:
        for policy in self.policies if index is None else [self.policies[index]]:
            if hasattr(policy, "reset"):
                policy.reset()


def check_steps(steps: int, num_envs: int) -> None:
    """UserError unless `steps` is a positive integer that `num_envs` (positive) divides."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UserError(f"--steps must be a positive integer, got {steps!r}")
    if num_envs < 1 or steps % num_envs:
        raise UserError(f"--num-envs must be positive and divide --steps ({steps}), got "
                        f"{num_envs}")


class _Recording:
    """One env's episode as it is recorded."""

    def __init__(self, obs: np.ndarray, seed: int | None):
        self.seed, self.observations = seed, [obs]
        self.actions, self.rewards, self.terms, self.truncs = [], [], [], []

    def add(self, action, obs, reward, terminated: bool, truncated: bool) -> None:
        self.observations.append(obs)
        self.actions.append(action)
        self.rewards.append(float(reward))
        self.terms.append(bool(terminated))
        self.truncs.append(bool(truncated))

    def buffer(self, dtype):
        from minari.data_collector.episode_buffer import EpisodeBuffer

        return EpisodeBuffer(seed=self.seed, observations=np.stack(self.observations).astype(dtype),
                             actions=np.stack(self.actions), rewards=np.asarray(self.rewards),
                             terminations=np.asarray(self.terms),
                             truncations=np.asarray(self.truncs), infos={})


def _run_policy(
    env_id: str, steps: int, policy, seed: int, env_kwargs: dict, progress: bool, num_envs: int
) -> tuple[list[Any], Any]:
    """Episodes (EpisodeBuffer, in the order they end) of `steps` decisions over `num_envs`
    envs (env i seeded `seed + i`; Gymnasium's AsyncVectorEnv for more than one), and an env of
    the same id (closed) for the dataset's spaces and layouts. Every env's last episode is cut at
    `steps` and stored truncated."""
    from tqdm import tqdm

    n = num_envs
    batch = policy if hasattr(policy, "act") else PerEnvPolicies([policy])
    envs = make_vector_env(env_id, n, seed, env_kwargs)
    env = envs.envs[0] if n == 1 else make_env(env_id, seed=seed, **env_kwargs)
    dtype, shape = envs.single_observation_space.dtype, envs.single_action_space.shape
    episodes: list[Any] = []
    done_steps = 0
    nothing = "of the collection; no dataset written"
    try:
        obs, _ = env_call(env_id, envs.reset, at=f"at reset {nothing}")
        batch.reset()
        recordings = [_Recording(o, seed + i) for i, o in enumerate(obs)]
        with tqdm(total=steps, disable=not progress, unit="step", desc=f"collect {env_id}") as bar:
            while done_steps < steps:
                actions = np.asarray(batch.act(obs), dtype=np.float32).reshape(n, *shape)
                if not np.isfinite(actions).all():
                    raise UserError(f"the policy gave NaN or infinite actions at decision "
                                    f"{done_steps} {nothing}")
                actions = np.clip(actions, -1.0, 1.0)
                obs, reward, terminated, truncated, _ = env_call(
                    env_id, envs.step, actions, at=f"at decision {done_steps} {nothing}")
                if not (np.isfinite(reward).all() and np.isfinite(obs).all()):
                    raise UserError(f"{env_id} returned NaN or infinite rewards or observations "
                                    f"at decision {done_steps} {nothing}")
                done_steps += n
                bar.update(n)
                if done_steps >= steps:
                    truncated = truncated | ~terminated
                ended = terminated | truncated
                for i, recording in enumerate(recordings):
                    recording.add(actions[i], obs[i], reward[i], terminated[i], truncated[i])
                    if ended[i]:
                        episodes.append(recording.buffer(dtype))
                if done_steps >= steps or not ended.any():
                    continue
                mask = None if ended.all() else {"reset_mask": ended}
                first, _ = env_call(env_id, envs.reset, options=mask,
                                    at=f"at reset {nothing}")
                for i in np.flatnonzero(ended):
                    obs[i] = first[i]
                    recordings[i] = _Recording(first[i], None)
                    batch.reset(int(i))
    finally:
        envs.close()
        env.close()
    return episodes, env


def _layouts(env: Any) -> dict[str, str]:
    def spans(layout: dict[str, slice]) -> str:
        return json.dumps({key: [part.start, part.stop] for key, part in layout.items()})

    found = {"obs_layout": spans(env.get_wrapper_attr("obs_layout"))}
    if env.has_wrapper_attr("image_shape"):
        found["image_shape"] = json.dumps(list(env.get_wrapper_attr("image_shape")))
    elif env.has_wrapper_attr("goal_layout"):
        found["goal_layout"] = spans(env.get_wrapper_attr("goal_layout"))
    return found


def collect(
    env_id: str,
    steps: int,
    out: str | os.PathLike,
    *,
    policy: Callable[[np.ndarray], np.ndarray] | PerEnvPolicies,
    seed: int = 0,
    append: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
    num_envs: int = 1,
) -> Path:
    """Record `steps` agent decisions of `policy` on `make_env(env_id, seed=seed, **env_kwargs)`.

    With `num_envs` N > 1, N envs (seeded `seed` ... `seed + N - 1`) step at once in Gymnasium's
    AsyncVectorEnv, `policy` is a batch policy (`act(obs (N, O)) -> (N, A)`, `reset(index)`, as
    `PerEnvPolicies` makes of N policies), every env's decisions count towards `steps` (a
    multiple of N) and episodes are stored in the order they end.

    Whole episodes are stored (T+1 observations, T actions, rewards, terminations, truncations);
    the last one, cut at `steps`, is stored truncated. The dataset is built in a temporary folder
    beside `out` and moved into place, so a crash leaves either the old dataset or a complete new
    one. An existing `out` is an error unless `append`, which rewrites the old episodes followed by
    the new ones (same env id, kwargs and conventions required). Returns `out`.
    """
    check_steps(steps, num_envs)
    env_kwargs = dict(env_kwargs or {})
    try:
        kwargs_text = json.dumps(env_kwargs, sort_keys=True)
    except TypeError as err:
        raise UserError(f"env kwargs must be JSON values: {err}") from err
    out = Path(out).expanduser().absolute()
    convention = convention_for(env_id)
    metadata: dict[str, Any] = {
        "env_id": env_id,
        "env_kwargs": kwargs_text,
        "action_repeat": convention.action_repeat,
        "episode_steps": convention.episode_steps,
        "actions": ACTIONS_NOTE,
        "policy": getattr(policy, "name", type(policy).__name__),
    }
    old_episodes: list[Any] = []
    old_meta: dict[str, Any] = {}
    if out.exists():
        if not append:
            raise UserError(f"{out} already exists; pass --append to add episodes to it")
        old_episodes, old_meta = _read_existing(out)
        _check_compatible(out, old_meta, metadata)
    if not out.parent.is_dir():
        raise UserError(f"the folder {out.parent} for --out does not exist")

    episodes, env = _run_policy(env_id, steps, policy, seed, env_kwargs, progress, num_envs)
    metadata.update(_layouts(env))
    metadata["seeds"] = json.dumps(json.loads(old_meta.get("seeds", "[]")) + [seed])
    _write(out, old_episodes + episodes, env, metadata)
    return out


def _write(out: Path, episodes: list[Any], env: Any, metadata: dict[str, Any]) -> None:
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    buffers = [
        EpisodeBuffer(
            id=i,
            seed=getattr(ep, "seed", None),
            observations=np.asarray(ep.observations),
            actions=np.asarray(ep.actions),
            rewards=np.asarray(ep.rewards),
            terminations=np.asarray(ep.terminations),
            truncations=np.asarray(ep.truncations),
            infos={},
        )
        for i, ep in enumerate(episodes)
    ]
    dataset_id = _dataset_id(out.name)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with _minari_root(staging), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dataset = minari.create_dataset_from_buffers(
                dataset_id,
                buffers,
                observation_space=env.observation_space,
                action_space=env.action_space,
                algorithm_name=metadata["policy"],
                author="wmpc",
                description=f"{metadata['env_id']} recorded by wmpc collect; {ACTIONS_NOTE}",
            )
            dataset.storage.update_metadata(metadata)
        built = staging / dataset_id
        if out.exists():
            _exchange(out, built)
        else:
            os.rename(built, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_episodes(
    out: str | os.PathLike,
    episodes: list[dict[str, np.ndarray]],
    *,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    policy: str = "unknown",
) -> Path:
    """Write episodes recorded elsewhere (e.g. by `wmpc run`) as a Minari dataset at `out`.

    Each episode is a dict obs (T+1, O), act (T, A), rew (T,), term (T,), trunc (T,). An existing
    dataset at `out` is replaced atomically.
    """
    from minari.data_collector.episode_buffer import EpisodeBuffer

    env_kwargs = dict(env_kwargs or {})
    out = Path(out).expanduser().absolute()
    convention = convention_for(env_id)
    env = make_env(env_id, **env_kwargs)
    env.close()
    metadata: dict[str, Any] = {
        "env_id": env_id,
        "env_kwargs": json.dumps(env_kwargs, sort_keys=True),
        "action_repeat": convention.action_repeat,
        "episode_steps": convention.episode_steps,
        "actions": ACTIONS_NOTE,
        "policy": policy,
        "seeds": "[]",
        **_layouts(env),
    }
    buffers = [
        EpisodeBuffer(observations=ep["obs"], actions=ep["act"], rewards=ep["rew"],
                      terminations=ep["term"], truncations=ep["trunc"], infos={})
        for ep in episodes
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    _write(out, buffers, env, metadata)
    return out
