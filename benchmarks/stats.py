"""Environment steps, each seed's figure at a budget, and intervals over seeds (rliable).

Every number of `wmpc bench tasks` is at a budget of environment steps (agent decisions x the
action repeat), as the published curves count them. A seed's figure at a budget is its evaluation
at exactly that budget, never its best; intervals are percentile bootstraps from rliable with a
fixed seed, so a report rebuilt from the same rows gives the same numbers.
"""

from __future__ import annotations

import numpy as np
from rliable import library as rly
from rliable import metrics

BOOTSTRAP_SEED = 0
"""Seed of numpy's global generator during a bootstrap (rliable draws from it)."""
REPS = 10_000
"""Bootstrap resamples per interval."""


def env_steps(decisions: int, action_repeat: int) -> int:
    """Environment (simulator) steps of `decisions` agent decisions."""
    return int(decisions) * int(action_repeat)


def action_repeat(run: dict) -> int:
    """Simulator steps per decision of a run, from its `config.json` "run" section: an
    `action_repeat` in its env kwargs, else the env id's convention (`envs.convention_for`)."""
    from envs import convention_for

    repeat = run.get("env_kwargs", {}).get("action_repeat")
    return int(repeat) if repeat else convention_for(run["env_id"]).action_repeat


def at_budget(evals: list[dict], budget: int) -> dict | None:
    """The evaluation (a row with `env_steps`) at exactly `budget`: the last one at or below it,
    only if it is at it; None for a run that has not got there."""
    below = [row for row in evals if int(row["env_steps"]) <= budget]
    last = max(below, key=lambda row: int(row["env_steps"]), default=None)
    return last if last is not None and int(last["env_steps"]) == budget else None


def _bootstrap(scores, func, reps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) of `func` on `scores` from rliable's stratified bootstrap (an array of
    runs x columns, or a list of per-task arrays of runs x 1), with the fixed seed."""
    state = np.random.get_state()
    np.random.seed(BOOTSTRAP_SEED)
    try:
        point, interval = rly.get_interval_estimates({"x": scores}, func, reps=reps)
    finally:
        np.random.set_state(state)
    return point["x"], interval["x"][0], interval["x"][1]


def seed_interval(values, reps: int = REPS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds and its 95% bootstrap interval, per column of `values` (seeds x columns,
    or a flat list of one value per seed): (mean, low, high) arrays, one entry per column."""
    scores = np.asarray(values, dtype=float)
    scores = scores.reshape(len(scores), -1)
    return _bootstrap(scores, lambda x: x.mean(axis=0), reps)


def aggregate(per_task: list[list[float]], reps: int = REPS,
              scale: float = 1000.0) -> dict[str, tuple[float, ...]]:
    """Across tasks (one list of seed scores per task, any number of seeds each): the mean of the
    task means and the IQM of all runs, of normalised scores (score / `scale`: DMC returns out of
    1000, success rates out of 1) with rliable's stratified-bootstrap 95% interval, reported
    x `scale`: {"mean": (value, low, high), "iqm": ...}."""
    scores = [np.asarray(task, dtype=float).reshape(-1, 1) / scale for task in per_task]

    def func(*tasks: np.ndarray) -> np.ndarray:
        return np.array([np.mean([t.mean() for t in tasks]),
                         metrics.aggregate_iqm(np.concatenate(tasks))])

    point, low, high = _bootstrap(scores, func, reps)
    return {name: tuple(scale * float(v[i]) for v in (point, low, high))
            for i, name in enumerate(("mean", "iqm"))}
