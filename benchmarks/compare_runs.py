"""Compare `wmpc run` folders that differ in one setting (an ablation): eval return against steps.

    python benchmarks/compare_runs.py --name prior_walker --title "Policy prior, walker-walk" \
        --run "no prior=runs/bench_tasks/walker-walk_s0" \
        --run "prior 24=runs/ab/walker-walk_prior24_s0" --max-step 15000

Writes NAME.csv (label, run, step, return, wall seconds, per-episode returns), NAME.png and the
`## Ablation: TITLE` section of RESULTS.md (a step x label table, what differs between the runs'
configs, commit, date, machine, command).

`--csv-run LABEL=TASKS_CSV:TASK:SEED` adds a run whose folder is no longer on disk from the
evaluations `wmpc bench tasks` committed for it (its settings are listed in that report, not
compared here).
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.runs import load_config, read_evals, threads_text
from benchmarks.provenance import ROOT, commit, machine, replace_section, today, write_csv
from envs.errors import UserError


def _differences(configs: dict[str, dict]) -> list[str]:
    """'section.key: label=value, ...' for every config value that is not the same in all runs."""
    labels = list(configs)
    keys = sorted({(s, k) for c in configs.values() for s in ("run", "agent", "train", "model")
                   for k in c.get(s, {})})
    lines = []
    for section, key in keys:
        values = [configs[label].get(section, {}).get(key) for label in labels]
        if any(v != values[0] for v in values):
            lines.append(f"{section}.{key}: " + ", ".join(
                f"{label}={value}" for label, value in zip(labels, values, strict=True)))
    return lines


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="compare_runs", description=__doc__.split("\n")[0])
    p.add_argument("--run", action="append", required=True, help="LABEL=RUN_FOLDER (repeat)")
    p.add_argument("--csv-run", action="append", default=[],
                   help="LABEL=TASKS_CSV:TASK:SEED, a run known only from a tasks.csv (repeat)")
    p.add_argument("--name", required=True, help="file stem of the CSV and PNG")
    p.add_argument("--title", required=True, help="section title in RESULTS.md")
    p.add_argument("--max-step", type=int, default=None, help="ignore evaluations after this")
    p.add_argument("--note", default="", help="a paragraph under the table (e.g. what differs in "
                   "code between runs with equal configs)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    pairs = [item.split("=", 1) for item in args.run]
    if any(len(pair) != 2 or not all(pair) for pair in pairs):
        p.error("each --run is LABEL=RUN_FOLDER")
    runs = dict(pairs)
    recorded = {}
    for item in args.csv_run:
        label, _, source = item.partition("=")
        parts = source.rsplit(":", 2)
        if not label or len(parts) != 3 or not parts[2].isdigit():
            p.error("each --csv-run is LABEL=TASKS_CSV:TASK:SEED")
        recorded[label] = (parts[1], int(parts[2]),
                           *_recorded_evals(Path(parts[0]), parts[1], int(parts[2]), p))
    if len(runs) + len(recorded) != len(pairs) + len(args.csv_run) or set(runs) & set(recorded):
        p.error("--run labels must differ")
    rows, configs = [], {}
    for label, folder in runs.items():
        try:
            configs[label] = load_config(Path(folder))
        except UserError as err:
            p.error(str(err))
        rows += [{"label": label, "run": folder, "step": r["step"],
                  "return": round(r["mean_return"], 1), "wall_seconds": r["wall_seconds"],
                  "returns": r["returns"]}
                 for r in read_evals(Path(folder))
                 if args.max_step is None or r["step"] <= args.max_step]
    for label, (_, _, evals, _) in recorded.items():
        rows += [{"label": label, **r} for r in evals
                 if args.max_step is None or r["step"] <= args.max_step]
    if not rows:
        p.error("the runs hold no evaluations (up to --max-step)")
    labels = [*runs, *recorded]
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows, list(rows[0]))
    _plot(rows, labels, args.out / f"{args.name}.png", args.title)
    steps = sorted({r["step"] for r in rows})
    table = ["| step | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for step in steps:
        cells = [next((f"{r['return']:.0f}" for r in rows if r["label"] == label
                       and r["step"] == step), "—") for label in labels]
        table.append(f"| {step} | " + " | ".join(cells) + " |")
    started = ", ".join(f"{label}: {configs[label].get('commit', 'not recorded')}"
                        for label in runs)
    threads = ", ".join(f"{label}: {threads_text(configs[label])}" for label in runs)
    body = [f"Written {today()} at commit {commit()}; commit each run started from: {started}. "
            f"Machine of this script: {machine()}; torch threads of each run: {threads}.", "",
            f"Command: `python benchmarks/compare_runs.py {shlex.join(argv)}`", "",
            f"Mean evaluation return ({configs[next(iter(runs))]['run'].get('eval_episodes', '?')}"
            " episodes, no exploration noise) of `wmpc run` folders that differ only in:", ""]
    body += [f"- {line}" for line in _differences(configs)]
    body += [f"- {label}: the evaluations `wmpc bench tasks` recorded in {evals[0]['run']} (task "
             f"{task}, seed {seed}, started at commit {started_at}); its folder is not on disk, "
             "so its settings are those its Tasks report lists, not compared here"
             for label, (task, seed, evals, started_at) in recorded.items()]
    body += [""] + table + ([""] + [args.note] if args.note else [])
    body += ["", f"![{args.name}]({args.name}.png)"]
    replace_section(args.out / "RESULTS.md", f"Ablation: {args.title}", "\n".join(body))
    print(f"wrote {args.out / (args.name + '.csv')} and the RESULTS.md section")


def _recorded_evals(path: Path, task: str, seed: int, parser) -> tuple[list[dict], str]:
    """The wmpc rows of `task` and `seed` in a `wmpc bench tasks` CSV, as compare_runs rows, and
    the commit the run started from."""
    try:
        with path.open() as handle:
            found = [r for r in csv.DictReader(handle) if r.get("kind") == "wmpc"
                     and r.get("task") == task and r.get("seed") == str(seed)]
    except OSError as err:
        parser.error(f"cannot read {path}: {err.strerror}")
    if not found:
        parser.error(f"{path} holds no wmpc evaluations of {task} seed {seed}")
    return [{"run": str(path), "step": int(r["step"]), "return": round(float(r["return"]), 1),
             "wall_seconds": r["wall_seconds"], "returns": ""} for r in found], found[0]["commit"]


def _plot(rows: list[dict], labels: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label in labels:
        mine = sorted((r["step"], r["return"]) for r in rows if r["label"] == label)
        ax.plot([s for s, _ in mine], [v for _, v in mine], "o-", label=label)
    ax.set(xlabel="decisions", ylabel="eval return", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
