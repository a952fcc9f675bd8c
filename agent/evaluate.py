"""Evaluation: K episodes stepped in lockstep, one batched plan per decision, optional videos."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np


class BatchPolicy(Protocol):
    """act(obs (B, O)) -> actions (B, A); reset(index) at the start of problem `index`'s episode."""

    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self, index: int | None = None) -> None: ...


@dataclass
class EvalResult:
    """Per-episode returns, success flags (None when the env reports none) and lengths."""

    returns: list[float]
    successes: list[bool] | None
    lengths: list[int]
    frames: list[np.ndarray] = field(default_factory=list)

    def summary(self, env_id: str, planner: str) -> dict:
        """The `wmpc eval --json` contract."""
        return {
            "env": env_id,
            "returns": self.returns,
            "mean_return": float(np.mean(self.returns)),
            "success_rate": None if self.successes is None else float(np.mean(self.successes)),
            "planner": planner,
            "steps_per_episode": int(max(self.lengths)),
        }


def _success(info: dict) -> bool | None:
    for key in ("success", "is_success"):
        if key in info:
            return bool(info[key])
    return None


def run_episodes(
    envs: list,
    policy: BatchPolicy,
    *,
    seeds: list[int],
    record_first: bool = False,
) -> EvalResult:
    """Play one episode in each env in lockstep; `policy` sees the observations of all B envs.

    Finished envs stop stepping (their rows keep the last observation and their actions are
    ignored).
    """
    obs = np.stack([env.reset(seed=seed)[0] for env, seed in zip(envs, seeds, strict=True)])
    active = np.ones(len(envs), dtype=bool)
    policy.reset()
    returns, lengths = np.zeros(len(envs)), np.zeros(len(envs), dtype=int)
    success: list[bool | None] = [None] * len(envs)
    frames = [envs[0].render()] if record_first else []
    while active.any():
        actions = policy.act(obs)
        for i in np.flatnonzero(active):
            next_obs, reward, terminated, truncated, info = envs[i].step(actions[i])
            obs[i] = next_obs
            returns[i] += reward
            lengths[i] += 1
            flag = _success(info)
            if flag is not None:
                success[i] = bool(success[i]) or flag
            if record_first and i == 0:
                frames.append(envs[0].render())
            if terminated or truncated:
                active[i] = False
    reported = None if any(s is None for s in success) else [bool(s) for s in success]
    return EvalResult(returns.tolist(), reported, lengths.tolist(), frames)


def write_video(frames: list[np.ndarray], path: Path, fps: int = 30) -> Path:
    """Write RGB frames `(H, W, 3)` as an mp4, atomically."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.mp4")
    imageio.mimwrite(tmp, frames, fps=fps, macro_block_size=1)
    tmp.replace(path)
    return path
