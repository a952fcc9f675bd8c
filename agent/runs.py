"""The layout of a run folder and its atomic reads and writes.

RUN/config.json       resolved configs (run, agent, train, model)
RUN/model*            the world model (world_model.checkpoint format; `load_world_model(RUN)`)
RUN/resume.pt         everything needed to continue exactly, taken at the last episode end
RUN/error.log         the traceback of an exception the env raised (the run stopped there)
RUN/evals.csv         step, mean return, wall seconds, returns of each evaluation
RUN/dataset/          the run's own trajectories as a Minari dataset
RUN/tb/               TensorBoard events
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import torch

from envs.errors import UserError
from world_model.checkpoint import atomic_write


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same folder and a rename."""
    atomic_write(path, lambda handle: handle.write(data))


def save_config(out: Path, configs: dict) -> None:
    """Save the resolved configs as JSON."""
    write_atomic(out / "config.json", json.dumps(configs, indent=2, sort_keys=True).encode())


def load_config(run: Path) -> dict:
    """The resolved configs of a run; a missing or corrupt file is a UserError."""
    path = run / "config.json"
    if not run.is_dir():
        raise UserError(f"run folder not found: {run}")
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{run} is not a wmpc run (no config.json)") from None
    except json.JSONDecodeError as err:
        raise UserError(f"corrupt run config {path}: {err}") from None
    sections = ("run", "agent", "train", "model", "dataset")
    if not isinstance(saved, dict) or any(not isinstance(saved.get(k, {}), dict)
                                          for k in sections):
        raise UserError(f"corrupt run config {path}: not an object of sections "
                        f"({', '.join(sections)})")
    return saved


def _save_tensors(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(path, buffer.getvalue())


def _load_tensors(path: Path, what: str) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged file
        raise UserError(f"corrupt {what} {path}: {err}") from None


def run_env(run: Path) -> tuple[str, dict]:
    """(env id, env kwargs) a run was made on: a `wmpc run`'s own, or the data's env of a
    `wmpc train` run; a run that names none is a UserError."""
    saved = load_config(run)
    source = saved["run"] if "run" in saved else saved.get("dataset") or {}
    env_id, kwargs = source.get("env_id"), source.get("env_kwargs") or {}
    if not env_id:
        raise UserError(f"{run} does not name the env it was trained on; give --env")
    try:
        kwargs = json.loads(kwargs) if isinstance(kwargs, str) else kwargs
    except json.JSONDecodeError:
        kwargs = None
    if not isinstance(env_id, str) or not isinstance(kwargs, dict):
        raise UserError(f"corrupt run config {run / 'config.json'}: env_id {env_id!r} and "
                        f"env_kwargs {kwargs!r} must be a string and an object")
    return env_id, dict(kwargs)


def threads_text(config: dict) -> str:
    """The torch thread counts a run (its `config.json`) used, in order, e.g. "1 then 2"."""
    threads = config.get("torch_threads")
    return " then ".join(str(t) for t in threads) if threads else "not recorded"


def resumed_configs(out: Path, steps: int | None = None) -> tuple:
    """(run, agent, train configs, model overrides, device) of the resumable `wmpc run` in `out`,
    with its steps replaced by `steps` when given; a folder without one is a UserError. The model
    overrides are the run's saved model sizes, so later changes of defaults leave it as it was."""
    import dataclasses

    from agent.config import AgentConfig, RunConfig, config_from_dict
    from world_model import ModelConfig
    from world_model.train import TrainConfig

    saved = load_config(out)
    if "run" not in saved or not (out / "resume.pt").exists():
        raise UserError(f"{out} holds no resumable `wmpc run` (config.json + resume.pt)")
    derived = {"obs_dim", "act_dim", "image_shape", "discount", "episodic"}  # env and agent
    sizes = {f.name for f in dataclasses.fields(ModelConfig)} - derived
    overrides = {k: v for k, v in saved.get("model", {}).items() if k in sizes}
    try:
        run_cfg = config_from_dict(RunConfig, saved["run"])
        run_cfg = dataclasses.replace(run_cfg, steps=run_cfg.steps if steps is None else steps)
        return (run_cfg, config_from_dict(AgentConfig, saved["agent"]),
                config_from_dict(TrainConfig, saved["train"]), overrides,
                saved.get("device", "cpu"))
    except KeyError as err:
        raise UserError(f"corrupt run config {out / 'config.json'}: no {err} section") from None
    except (TypeError, ValueError) as err:
        raise UserError(f"cannot resume {out}: {err}") from None


def save_resume_point(out: Path, state: dict) -> None:
    """Save the loop's full state (tensors, numbers, strings only)."""
    _save_tensors(out / "resume.pt", state)


def load_resume_point(out: Path) -> dict:
    """Load the state saved by `save_resume_point` with `weights_only=True`."""
    path = out / "resume.pt"
    if not path.exists():
        raise UserError(f"nothing to resume in {out}: no resume.pt (was an episode finished?)")
    return _load_tensors(path, "resume point")


def append_eval(out: Path, step: int, returns: list[float], wall_seconds: float,
                successes: list[bool] | None = None) -> None:
    """Append one evaluation to evals.csv (rewritten atomically); `successes`, where the env
    reports them, give its success rate."""
    rows = read_evals(out)
    rows.append({"step": step, "mean_return": float(np.mean(returns)),
                 "wall_seconds": round(wall_seconds, 2),
                 "returns": " ".join(f"{r:.2f}" for r in returns),
                 "success_rate": "" if successes is None else float(np.mean(successes))})
    _write_evals(out, rows)


def read_evals(out: Path) -> list[dict]:
    """Rows of evals.csv (empty when there is none); `success_rate` is None where the env
    reports no success."""
    path = out / "evals.csv"
    if not path.exists():
        return []
    try:
        with path.open() as handle:
            return [{**row, "step": int(row["step"]), "mean_return": float(row["mean_return"]),
                     "success_rate": (float(row["success_rate"]) if row.get("success_rate")
                                      else None)}
                    for row in csv.DictReader(handle)]
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"corrupt {path}: {type(err).__name__} {err}") from None


def _write_evals(out: Path, rows: list[dict]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["step", "mean_return", "wall_seconds", "returns",
                                              "success_rate"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out / "evals.csv", text.getvalue().encode())


def drop_evals_after(out: Path, step: int) -> None:
    """Forget evaluations after `step`, the resume point (they are redone on resume)."""
    rows = read_evals(out)
    _write_evals(out, [row for row in rows if row["step"] <= step])


def last_eval(out: Path, step: int) -> float | None:
    """Mean return of the last evaluation at or before `step`, if any."""
    rows = [row for row in read_evals(out) if row["step"] <= step]
    return rows[-1]["mean_return"] if rows else None


class EpisodeRecorder:
    """Accumulates one episode: obs (T+1, O), act (T, A), rew (T,), term (T,), trunc (T,)."""

    def __init__(self, first_obs: np.ndarray):
        self.obs, self.act, self.rew, self.term, self.trunc = [first_obs], [], [], [], []

    def add(self, action, reward, terminated, truncated, next_obs) -> None:
        self.act.append(np.asarray(action, dtype=np.float32))
        self.rew.append(float(reward))
        self.term.append(bool(terminated))
        self.trunc.append(bool(truncated))
        self.obs.append(next_obs)

    @property
    def total(self) -> float:
        return float(sum(self.rew))

    def __len__(self) -> int:
        return len(self.act)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(obs, act, rew, term, trunc); an unfinished episode is marked truncated at its end."""
        trunc = np.array(self.trunc, dtype=bool)
        if len(trunc) and not (trunc[-1] or self.term[-1]):
            trunc[-1] = True
        obs = np.asarray(self.obs)
        if obs.dtype != np.uint8:  # images stay uint8, states are float32
            obs = obs.astype(np.float32)
        return (obs, np.asarray(self.act, dtype=np.float32),
                np.asarray(self.rew, dtype=np.float32), np.array(self.term, dtype=bool), trunc)


def model_config(run_cfg, obs_dim: int, act_dim: int, overrides: dict | None,
                 image_shape: tuple[int, int, int] | None = None):
    """The world model's config for a run: the env's sizes (and image shape, for pixel
    observations), episodic or not (the env's task spec), then `overrides`."""
    from envs import convention_for
    from world_model import ModelConfig

    episodic = convention_for(run_cfg.env_id).episodic
    return ModelConfig(obs_dim=obs_dim, act_dim=act_dim, episodic=episodic,
                       image_shape=image_shape, **(overrides or {}))


def save_model(out: Path, model, run_cfg) -> None:
    """Save the world model where `load_world_model(out)` finds it."""
    from world_model.checkpoint import checkpoint_path, save_checkpoint

    model.env_id = run_cfg.env_id
    save_checkpoint(checkpoint_path(out), model, extra={"env_kwargs": run_cfg.env_kwargs})


def save_snapshot(out: Path, step: int, model, run_cfg) -> Path:
    """Save the policy as it is at decision `step` to `out/checkpoints/step_<step>/`, a folder
    `wmpc eval --run` takes like a run folder (its config.json, checkpoint.pt)."""
    folder = out / "checkpoints" / f"step_{step}"
    folder.mkdir(parents=True, exist_ok=True)
    save_model(folder, model, run_cfg)
    write_atomic(folder / "config.json", (out / "config.json").read_bytes())
    return folder


def save_dataset(out: Path, buffer, unfinished: list[EpisodeRecorder], run_cfg) -> None:
    """Write the run's trajectories (and each env's unfinished last episode) as a Minari
    dataset."""
    from envs.record import write_episodes
    from world_model.data import ReplayBuffer

    episodes = ReplayBuffer.from_state_dict(buffer.state_dict())
    for last in unfinished:
        if len(last):
            episodes.add_episode(*last.arrays())
    write_episodes(out / "dataset", [episodes.episode(i) for i in range(episodes.num_episodes)],
                   env_id=run_cfg.env_id, env_kwargs=run_cfg.env_kwargs, policy="wmpc run")
