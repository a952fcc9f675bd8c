"""The figure and the markdown report of `wmpc bench tasks`, from its CSV rows.

Headline numbers use report seeds only, each seed's evaluation at exactly the budget; tuning-seed
runs are listed apart. Anchors sit beside at the same environment steps. A suite's `Scoring`
says what is scored (DMC: return out of 1000; Meta-World: success rate) and against whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.anchors import (
    ANCHORS,
    MW_SIX_TASKS,
    SIX_TASKS,
    TABLE_ANCHORS,
    anchor_at,
    anchor_curve,
)
from benchmarks.stats import BOOTSTRAP_SEED, REPS, aggregate, at_budget, seed_interval

PLOT_REPS = 2_000
"""Bootstrap resamples per point of the figure's shaded intervals."""


@dataclass(frozen=True)
class Scoring:
    """What a suite's report scores and which published numbers it sets beside."""

    metric: str
    """The CSV column scored: `return` or `success` (the rate over an evaluation's episodes)."""
    scale: float
    """The best possible score (normalises the across-task aggregates)."""
    digits: int
    """Decimals shown."""
    anchors: tuple[str, ...]
    """Anchors (keys of `ANCHORS`) with a column per task and a curve in the figure."""
    quoted: tuple[str, ...]
    """Anchors whose means over `quoted_tasks` the report quotes."""
    quoted_tasks: tuple[str, ...]
    """The tasks those quoted means go over."""

    def fmt(self, value: float | None) -> str:
        return "—" if value is None else f"{value:.{self.digits}f}"


DMC = Scoring("return", 1000.0, 0, TABLE_ANCHORS, tuple(ANCHORS), SIX_TASKS)
METAWORLD = Scoring("success", 1.0, 2, ("TD-MPC2",), ("TD-MPC2",), MW_SIX_TASKS)


def _k(steps: int) -> str:
    return f"{steps // 1000}k" if steps % 1000 == 0 else f"{steps:,}"


def _runs(rows: list[dict], task: str, seeds) -> dict[int, list[dict]]:
    """Seed -> its evaluations (sorted by env steps) for the wmpc runs of `task` among `seeds`."""
    found: dict[int, list[dict]] = {}
    for r in rows:
        if r["kind"] == "wmpc" and r["task"] == task and r["seed"] in seeds:
            found.setdefault(r["seed"], []).append(r)
    return {s: sorted(found[s], key=lambda r: r["env_steps"]) for s in sorted(found)}


def _baseline(rows: list[dict], task: str, kind: str, metric: str) -> float | None:
    values = [r[metric] for r in rows
              if r["task"] == task and r["kind"] == kind and r[metric] is not None]
    return float(np.mean(values)) if values else None


def _tasks(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["task"] for r in rows))


def plot(rows: list[dict], anchors: Path, budgets: list[int], report_seeds: list[int],
         path: Path, scoring: Scoring = DMC) -> None:
    """One panel per task (three a row), x = environment steps: the mean over report seeds with
    a shaded 95% interval (at the steps every report seed has reached; each seed's curve thin),
    the table's anchors' mean curves, random and oracle as lines. Written atomically; nothing
    without rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = _tasks(rows)
    if not tasks:
        return
    xmax = max(budgets)
    cols = min(3, len(tasks))
    n_rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 3.4 * n_rows), squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        for name in scoring.anchors:
            curve = anchor_curve(anchors, ANCHORS[name], task)
            if curve is not None:
                keep = curve[0] <= xmax
                ax.plot(curve[0][keep], curve[1][keep], "s:", ms=3, alpha=0.7, label=name)
        runs = _runs(rows, task, report_seeds)
        for evals in runs.values():
            ax.plot([r["env_steps"] for r in evals], [r[scoring.metric] for r in evals], "k-",
                    lw=0.6, alpha=0.3)
        if runs:
            common = sorted(set.intersection(*({r["env_steps"] for r in e} for e in runs.values())))
            values = [[r[scoring.metric] for r in e if r["env_steps"] in common]
                      for e in runs.values()]
            if common:
                mean, low, high = seed_interval(np.array(values), reps=PLOT_REPS)
                ax.plot(common, mean, "k-o", ms=3, label=f"wmpc ({len(runs)} report seeds)")
                ax.fill_between(common, low, high, color="k", alpha=0.15)
        for kind, style in (("random", "r:"), ("oracle", "g--")):
            value = _baseline(rows, task, kind, scoring.metric)
            if value is not None:
                ax.axhline(value, color=style[0], ls=style[1:], label=kind)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, scoring.scale)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"eval {scoring.metric}")
    axes.flat[len(tasks) - 1].legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _budget_section(rows: list[dict], anchors: Path, budget: int, report: list[int],
                    scoring: Scoring) -> list[str]:
    """The table at one budget: per task, then the mean and IQM across the tasks with report
    seeds there (the anchors' means over the same tasks beside), then who is not there yet."""
    fmt, quoted = scoring.fmt, list(scoring.quoted_tasks)
    head = ["task", "wmpc mean [95% CI] (seeds)", *scoring.anchors, "random", "oracle",
            "decisions/s", "wall s per run"]
    table, scores, waiting, decisions = [], {}, [], set()
    for task in _tasks(rows):
        hits, cell, speed, wall = [], "—", "—", "—"
        for seed, evals in _runs(rows, task, report).items():
            hit = at_budget(evals, budget)
            if hit is None:
                waiting.append(f"{task} s{seed} at {evals[-1]['env_steps']:,}")
            else:
                hits.append(hit)
                decisions.add(hit["decisions"])
        if hits:
            scores[task] = [h[scoring.metric] for h in hits]
            mean, low, high = (float(v[0]) for v in seed_interval(scores[task]))
            cell = f"{fmt(mean)} [{fmt(low)}, {fmt(high)}] ({len(hits)})"
            timed = [h for h in hits if h["wall_seconds"]]
            if timed:
                speed = f"{np.mean([h['decisions'] / h['wall_seconds'] for h in timed]):.1f}"
                wall = f"{np.mean([h['wall_seconds'] for h in timed]):.0f}"
        table.append(_row([task, cell, *(fmt(anchor_at(anchors, ANCHORS[n], task, budget))
                                         for n in scoring.anchors),
                           fmt(_baseline(rows, task, "random", scoring.metric)),
                           fmt(_baseline(rows, task, "oracle", scoring.metric)), speed, wall]))
    if scores:
        agg = aggregate(list(scores.values()), scale=scoring.scale)
        for stat, label in (("mean", "mean"), ("iqm", "IQM")):
            value, low, high = agg[stat]
            beside = [fmt(_anchor_mean(anchors, ANCHORS[n], list(scores), budget))
                      if stat == "mean" else "—" for n in scoring.anchors]
            table.append(_row([f"**{label} of {len(scores)} tasks**",
                               f"**{fmt(value)}** [{fmt(low)}, {fmt(high)}]", *beside,
                               "", "", "", ""]))
    title = f"## At {_k(budget)} environment steps"
    if len(decisions) == 1:
        title += f" ({_k(decisions.pop())} decisions)"
    lines = [title, "", _row(head), "|" + "---|" * len(head), *table, "",
             f"Anchors' means over the {len(scoring.quoted_tasks)} tasks at this budget: "
             + ", ".join(f"{n} {fmt(_anchor_mean(anchors, ANCHORS[n], quoted, budget))}"
                         for n in scoring.quoted) + "."]
    if waiting:
        lines += ["", f"Not at {_k(budget)} yet, so not averaged (running, or stopped before; "
                  "at N env steps): " + "; ".join(waiting) + "."]
    return lines + [""]


def _anchor_mean(anchors: Path, method: str, tasks: list[str], budget: int) -> float | None:
    values = [anchor_at(anchors, method, task, budget) for task in tasks]
    return None if None in values else float(np.mean(values))


def markdown(rows: list[dict], anchors: Path, plan, header: dict, failures: dict[str, str],
             png: str, scoring: Scoring = DMC) -> str:
    """The report: provenance, seeds and roles, a table per budget, the tuning-seed runs apart,
    each run's settings, failed jobs, the figure."""
    report, tuning = plan.report_seeds, plan.tuning_seeds
    scale = f"{scoring.scale:g}"
    lines = [
        "# wmpc bench tasks", "",
        f"Written {header['date']} from commit {header['commit']}; machine: {header['machine']}.",
        "", f"Command: `{header['command']}`", "",
        f"Seeds: **report {', '.join(map(str, report))}** (the numbers below, never used to "
        f"choose anything); tuning {', '.join(map(str, tuning))} (used to choose defaults, "
        "listed apart at the end).", "",
        "Environment steps = agent decisions x action repeat (2 on DMC and Meta-World), as the "
        "anchors count them. Each seed's figure is its evaluation (10 episodes by default) at "
        f"exactly the budget, never its best; a run not there yet is listed, not averaged. Score: "
        f"{scoring.metric} (out of {scale}). Per task: mean over report seeds with a 95% "
        "percentile-bootstrap interval; across tasks: mean and IQM of the scores with rliable's "
        "stratified-bootstrap interval "
        f"({REPS:,} resamples, numpy seed {BOOTSTRAP_SEED}). Anchors (../shared/anchors): "
        "each method's mean over its seeds of the last evaluation at or below the budget. "
        "random: uniform actions; oracle: the same planner on the true simulator (episodes in "
        "the CSV). Wall seconds and decisions/s are each run's at the budget (its torch threads "
        "in its settings below).", "",
    ]
    for budget in plan.budgets:
        lines += _budget_section(rows, anchors, budget, report, scoring)
    lines += _tuning_section(rows, plan.budgets, report, scoring)
    lines += ["## Runs' settings", ""]
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        if r["kind"] == "wmpc":
            key = (r["settings"], r["commit"], r["machine"])
            name = f"{r['task']} s{r['seed']}"
            if name not in groups.setdefault(key, []):
                groups[key].append(name)
    lines += [f"- {s}; commit {c}; machine {m}: {', '.join(names)}" for (s, c, m), names in
              groups.items()] or ["(no runs)"]
    if failures:
        lines += ["", "## Failed jobs (tried twice)", ""]
        lines += [f"- {name}: {error}" for name, error in failures.items()]
    return "\n".join(lines + ["", f"![tasks]({png})", ""])


def _tuning_section(rows: list[dict], budgets: list[int], report: list[int],
                    scoring: Scoring) -> list[str]:
    """Tuning-seed runs, one line each: the evaluation at each budget and the last one."""
    head = ["task", "seed", *(f"at {_k(b)}" for b in budgets), "last evaluation"]
    table = []
    for task in _tasks(rows):
        tuning = sorted({r["seed"] for r in rows if r["kind"] == "wmpc" and r["task"] == task
                         and r["seed"] not in report})
        for seed, evals in _runs(rows, task, tuning).items():
            cells = [scoring.fmt(None if (h := at_budget(evals, b)) is None
                                 else h[scoring.metric]) for b in budgets]
            last = evals[-1]
            table.append(_row([task, str(seed), *cells,
                               f"{scoring.fmt(last[scoring.metric])} at {last['env_steps']:,}"]))
    if table:
        table = [_row(head), "|" + "---|" * len(head), *table]
    return ["## Tuning-seed runs (not in the numbers above)", "", *(table or ["(none)"]), ""]
