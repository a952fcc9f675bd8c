"""The figure and the markdown report of `wmpc bench tasks`, from its CSV rows.

Headline numbers use report seeds only, each seed's evaluation at exactly the budget; tuning-seed
runs are listed apart. Anchors sit beside at the same environment steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.anchors import ANCHORS, SIX_TASKS, TABLE_ANCHORS, anchor_at, anchor_curve
from benchmarks.stats import BOOTSTRAP_SEED, REPS, aggregate, at_budget, seed_interval

PLOT_REPS = 2_000
"""Bootstrap resamples per point of the figure's shaded intervals."""


def _k(steps: int) -> str:
    return f"{steps // 1000}k" if steps % 1000 == 0 else f"{steps:,}"


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _runs(rows: list[dict], task: str, seeds) -> dict[int, list[dict]]:
    """Seed -> its evaluations (sorted by env steps) for the wmpc runs of `task` among `seeds`."""
    found: dict[int, list[dict]] = {}
    for r in rows:
        if r["kind"] == "wmpc" and r["task"] == task and r["seed"] in seeds:
            found.setdefault(r["seed"], []).append(r)
    return {s: sorted(found[s], key=lambda r: r["env_steps"]) for s in sorted(found)}


def _baseline(rows: list[dict], task: str, kind: str) -> float | None:
    values = [r["return"] for r in rows if r["task"] == task and r["kind"] == kind]
    return float(np.mean(values)) if values else None


def _tasks(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["task"] for r in rows))


def plot(rows: list[dict], anchors: Path, budgets: list[int], report_seeds: list[int],
         path: Path) -> None:
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
        for name in TABLE_ANCHORS:
            curve = anchor_curve(anchors, ANCHORS[name], task)
            if curve is not None:
                keep = curve[0] <= xmax
                ax.plot(curve[0][keep], curve[1][keep], "s:", ms=3, alpha=0.7, label=name)
        runs = _runs(rows, task, report_seeds)
        for evals in runs.values():
            ax.plot([r["env_steps"] for r in evals], [r["return"] for r in evals], "k-",
                    lw=0.6, alpha=0.3)
        if runs:
            common = sorted(set.intersection(*({r["env_steps"] for r in e} for e in runs.values())))
            values = [[r["return"] for r in e if r["env_steps"] in common] for e in runs.values()]
            if common:
                mean, low, high = seed_interval(np.array(values), reps=PLOT_REPS)
                ax.plot(common, mean, "k-o", ms=3, label=f"wmpc ({len(runs)} report seeds)")
                ax.fill_between(common, low, high, color="k", alpha=0.15)
        for kind, style in (("random", "r:"), ("oracle", "g--")):
            value = _baseline(rows, task, kind)
            if value is not None:
                ax.axhline(value, color=style[0], ls=style[1:], label=kind)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, 1000)
    for ax in axes[:, 0]:
        ax.set_ylabel("eval return")
    axes.flat[len(tasks) - 1].legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _budget_section(rows: list[dict], anchors: Path, budget: int, report: list[int]) -> list[str]:
    """The table at one budget: per task, then the mean and IQM across the tasks with report
    seeds there (the anchors' means over the same tasks beside), then who is not there yet."""
    head = ["task", "wmpc mean [95% CI] (seeds)", *TABLE_ANCHORS, "random", "oracle",
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
            scores[task] = [h["return"] for h in hits]
            mean, low, high = (float(v[0]) for v in seed_interval(scores[task]))
            cell = f"{mean:.0f} [{low:.0f}, {high:.0f}] ({len(hits)})"
            timed = [h for h in hits if h["wall_seconds"]]
            if timed:
                speed = f"{np.mean([h['decisions'] / h['wall_seconds'] for h in timed]):.1f}"
                wall = f"{np.mean([h['wall_seconds'] for h in timed]):.0f}"
        table.append(_row([task, cell, *(_fmt(anchor_at(anchors, ANCHORS[n], task, budget))
                                         for n in TABLE_ANCHORS),
                           _fmt(_baseline(rows, task, "random")),
                           _fmt(_baseline(rows, task, "oracle")), speed, wall]))
    if scores:
        agg = aggregate(list(scores.values()))
        for stat, label in (("mean", "mean"), ("iqm", "IQM")):
            value, low, high = agg[stat]
            beside = [_fmt(_anchor_mean(anchors, ANCHORS[n], list(scores), budget))
                      if stat == "mean" else "—" for n in TABLE_ANCHORS]
            table.append(_row([f"**{label} of {len(scores)} tasks**",
                               f"**{value:.0f}** [{low:.0f}, {high:.0f}]", *beside,
                               "", "", "", ""]))
    title = f"## At {_k(budget)} environment steps"
    if len(decisions) == 1:
        title += f" ({_k(decisions.pop())} decisions)"
    lines = [title, "", _row(head), "|" + "---|" * len(head), *table, "",
             "Anchors' means over the 6 tasks at this budget: " + ", ".join(
                 f"{n} {_fmt(_anchor_mean(anchors, m, list(SIX_TASKS), budget))}"
                 for n, m in ANCHORS.items()) + "."]
    if waiting:
        lines += ["", f"Not at {_k(budget)} yet, so not averaged (running, or stopped before; "
                  "at N env steps): " + "; ".join(waiting) + "."]
    return lines + [""]


def _anchor_mean(anchors: Path, method: str, tasks: list[str], budget: int) -> float | None:
    values = [anchor_at(anchors, method, task, budget) for task in tasks]
    return None if None in values else float(np.mean(values))


def markdown(rows: list[dict], anchors: Path, plan, header: dict, failures: dict[str, str],
             png: str) -> str:
    """The report: provenance, seeds and roles, a table per budget, the tuning-seed runs apart,
    each run's settings, failed jobs, the figure."""
    report, tuning = plan.report_seeds, plan.tuning_seeds
    lines = [
        "# wmpc bench tasks", "",
        f"Written {header['date']} from commit {header['commit']}; machine: {header['machine']}.",
        "", f"Command: `{header['command']}`", "",
        f"Seeds: **report {', '.join(map(str, report))}** (the numbers below, never used to "
        f"choose anything); tuning {', '.join(map(str, tuning))} (used to choose defaults, "
        "listed apart at the end).", "",
        "Environment steps = agent decisions x action repeat (2 on DMC), as the anchors count "
        "them. Each seed's figure is its evaluation (10 episodes by default) at exactly the "
        "budget, never its best; a run not there yet is listed, not averaged. Per task: mean "
        "over report seeds with a 95% percentile-bootstrap interval; across tasks: mean and IQM "
        "of return/1000 with rliable's stratified-bootstrap interval, x1000 "
        f"({REPS:,} resamples, numpy seed {BOOTSTRAP_SEED}). Anchors (../shared/anchors): "
        "each method's mean over its seeds of the last evaluation at or below the budget. "
        "random: uniform actions; oracle: the same planner on the true simulator (episodes in "
        "the CSV). Wall seconds and decisions/s are each run's at the budget (its torch threads "
        "in its settings below).", "",
    ]
    for budget in plan.budgets:
        lines += _budget_section(rows, anchors, budget, report)
    lines += _tuning_section(rows, plan.budgets, report)
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


def _tuning_section(rows: list[dict], budgets: list[int], report: list[int]) -> list[str]:
    """Tuning-seed runs, one line each: the evaluation at each budget and the last one."""
    head = ["task", "seed", *(f"at {_k(b)}" for b in budgets), "last evaluation"]
    table = []
    for task in _tasks(rows):
        tuning = sorted({r["seed"] for r in rows if r["kind"] == "wmpc" and r["task"] == task
                         and r["seed"] not in report})
        for seed, evals in _runs(rows, task, tuning).items():
            cells = [_fmt(None if (h := at_budget(evals, b)) is None else h["return"])
                     for b in budgets]
            last = evals[-1]
            table.append(_row([task, str(seed), *cells,
                               f"{last['return']:.0f} at {last['env_steps']:,}"]))
    if table:
        table = [_row(head), "|" + "---|" * len(head), *table]
    return ["## Tuning-seed runs (not in the numbers above)", "", *(table or ["(none)"]), ""]
