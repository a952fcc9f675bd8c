"""Evaluation: K episodes stepped in lockstep, one batched plan per decision; the first episode's
frames can go to a sink (`agent.video.VideoRecorder`) as they are rendered. Or the K episodes in
rounds of N on a Gymnasium vector env of N envs in their own processes (`run_vector_episodes`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from envs.errors import UserError, env_call


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


def finite_reward(reward, env_id: str, decision: int):
    """`reward` (a number or an array), or a UserError naming the env when any is NaN or
    infinite (a return of NaN would be reported, and written into JSON, as if it were one)."""
    if not np.isfinite(reward).all():
        raise UserError(f"{env_id} returned a NaN or infinite reward at decision {decision}")
    return reward


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
    frame_sink: Callable[[np.ndarray], None] | None = None,
    success_at_end: bool = False,
    env_id: str | None = None,
    guard: Callable | None = None,
) -> EvalResult:
    """Play one episode in each env in lockstep; `policy` sees the observations of all B envs.

    Finished envs stop stepping (their rows keep the last observation and their actions are
    ignored). With `frame_sink`, every frame `envs[0].render()` gives is passed to it as soon as
    it is rendered (nothing is kept here). An episode succeeds when `info["success"]` holds at
    any step, or with `success_at_end` at its last step. Every env call goes through `guard`
    (`guard(call, *args, at=WHERE, **kwargs)`), by default `envs.errors.env_call`: an env's
    exception is one UserError line naming `env_id` (else the env's registered id), its
    traceback in a temporary file.
    """
    guard = guard or functools.partial(env_call, env_id or _env_name(envs[0]))
    obs = np.stack([guard(env.reset, seed=seed, at="at reset")[0]
                    for env, seed in zip(envs, seeds, strict=True)])
    active = np.ones(len(envs), dtype=bool)
    policy.reset()
    returns, lengths = np.zeros(len(envs)), np.zeros(len(envs), dtype=int)
    success: list[bool | None] = [None] * len(envs)
    if frame_sink is not None:
        frame_sink(envs[0].render())
    while active.any():
        actions = policy.act(obs)
        for i in np.flatnonzero(active):
            next_obs, reward, terminated, truncated, info = guard(
                envs[i].step, actions[i], at=f"at decision {lengths[i]} of episode {i}")
            obs[i] = next_obs
            returns[i] += finite_reward(reward, env_id or _env_name(envs[i]), lengths[i])
            lengths[i] += 1
            flag = _success(info)
            if flag is not None:
                success[i] = flag if success_at_end else bool(success[i]) or flag
            if frame_sink is not None and i == 0:
                frame_sink(envs[0].render())
            if terminated or truncated:
                active[i] = False
    reported = None if any(s is None for s in success) else [bool(s) for s in success]
    return EvalResult(returns.tolist(), reported, lengths.tolist())


def _env_name(env) -> str:
    return getattr(getattr(env, "spec", None), "id", None) or "the env"


def _vector_success(info: dict, i: int) -> bool | None:
    for key in ("success", "is_success"):
        if key in info and info.get(f"_{key}", np.ones(i + 1, dtype=bool))[i]:
            return bool(info[key][i])
    return None


def run_vector_episodes(
    envs,
    policy: BatchPolicy,
    *,
    seeds: list[int],
    success_at_end: bool = False,
    env_id: str = "the env",
) -> EvalResult:
    """`len(seeds)` episodes (a multiple of N) in rounds of N on the vector env `envs` of N envs
    (autoreset on the next step), one batched plan for the N at every decision.

    An env whose episode has ended is reset by the vector env on its next step and ignored until
    the round ends; each round starts with the next N seeds. Success as in `run_episodes`."""
    n, name = envs.num_envs, env_id
    returns: list[float] = []
    lengths: list[int] = []
    success: list[bool | None] = []
    for start in range(0, len(seeds), n):
        obs, _ = env_call(name, envs.reset, seed=list(seeds[start:start + n]), at="at reset")
        policy.reset()
        active = np.ones(n, dtype=bool)
        total, length = np.zeros(n), np.zeros(n, dtype=int)
        flags: list[bool | None] = [None] * n
        while active.any():
            obs, reward, terminated, truncated, info = env_call(
                name, envs.step, policy.act(obs), at=f"at decision {length.max()} of episodes "
                f"{start}-{start + n - 1}")
            total[active] += finite_reward(reward[active], name, length.max())
            length[active] += 1
            for i in np.flatnonzero(active):
                flag = _vector_success(info, i)
                if flag is not None:
                    flags[i] = flag if success_at_end else bool(flags[i]) or flag
            active &= ~(terminated | truncated)
        returns += total.tolist()
        lengths += length.tolist()
        success += flags
    reported = None if any(s is None for s in success) else [bool(s) for s in success]
    return EvalResult(returns, reported, lengths)
