"""Published curves beside ours, at the same environment steps (`../shared/anchors/`).

`tdmpc2-results/<method>/<task>.csv` (columns step, reward or success, seed) holds each seed's
curve of TD-MPC2, TD-MPC, DreamerV3 and SAC (Meta-World tasks `mw-<name>`: success per
evaluation); `dmc-others/<method>.csv` (columns task, env_steps,
mean_return, n_seeds, source) holds the mean over seeds of newer methods at 100k / 200k / 500k /
1M. Both count environment steps (the action repeat included). A method with a folder in
`tdmpc2-results/` is read from there, any other from `dmc-others/`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

ANCHORS = {"TD-MPC2": "tdmpc2", "BRO": "bro", "SimbaV2": "simbav2", "MR.Q": "mrq",
           "BMPC": "bmpc", "DreamerV3": "dreamerv3", "SAC": "sac"}
"""Display name -> method (a folder of `tdmpc2-results/` or a file of `dmc-others/`)."""
SIX_TASKS = ("cartpole-swingup", "reacher-easy", "cup-catch", "finger-spin", "walker-walk",
             "cheetah-run")
"""The tasks whose means the anchors' README quotes ("mean of the 6")."""
MW_SIX_TASKS = ("mw-reach", "mw-push", "mw-door-open", "mw-drawer-open", "mw-window-open",
                "mw-button-press-topdown")
"""The Meta-World tasks of our benchmark (TD-MPC2's mean success on them at 100k: 0.77)."""
TABLE_ANCHORS = ("TD-MPC2", "BRO", "SimbaV2", "MR.Q")
"""The anchors with a column per task in the report and a curve in the plot."""


def anchor_series(anchors: Path, method: str, task: str) -> list[list[tuple[int, float]]]:
    """Each seed's evaluations (env steps, return), sorted by step; a `dmc-others` file gives one
    series, its mean over seeds. Empty when the method's file or the task is missing."""
    folder = anchors / "tdmpc2-results" / method
    if folder.is_dir():
        path, step, value = folder / f"{task}.csv", "step", "reward"
    else:
        path, step, value = anchors / "dmc-others" / f"{method}.csv", "env_steps", "mean_return"
    if not path.exists():
        return []
    with path.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("task", task) == task]
    if rows and value not in rows[0]:
        value = "success"
    seeds: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        seeds.setdefault(r.get("seed", ""), []).append((int(float(r[step])), float(r[value])))
    return [sorted(points) for points in seeds.values()]


def _mean_at(series: list[list[tuple[int, float]]], env_steps: int) -> float | None:
    """Mean over the series that reach `env_steps` of each one's last point at or below it."""
    values = [[v for s, v in points if s <= env_steps][-1] for points in series
              if points and points[-1][0] >= env_steps and points[0][0] <= env_steps]
    return float(np.mean(values)) if values else None


def anchor_at(anchors: Path, method: str, task: str, env_steps: int) -> float | None:
    """`method`'s return on `task` at `env_steps`: the mean over seeds of each seed's last
    evaluation at or below it. None for a missing task or file, or a budget past the curves' end
    (a seed whose curve ends before the budget does not count)."""
    return _mean_at(anchor_series(anchors, method, task), env_steps)


def anchor_curve(anchors: Path, method: str, task: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(env steps, mean return over seeds) at every step any seed evaluated, or None."""
    series = anchor_series(anchors, method, task)
    steps = sorted({s for points in series for s, _ in points})
    if not steps:
        return None
    means = [_mean_at(series, s) for s in steps]
    keep = [i for i, m in enumerate(means) if m is not None]
    return np.array(steps)[keep], np.array([means[i] for i in keep])
