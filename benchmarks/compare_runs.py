"""Compare `wmpc run` folders that differ in one setting (an ablation): eval return against steps.

    python benchmarks/compare_runs.py --name prior_walker --title "Policy prior, walker-walk" \
        --run "no prior=runs/bench_tasks/walker-walk_s0" \
        --run "prior 24=runs/ab/walker-walk_prior24_s0" --max-step 15000

Writes NAME.csv (label, run, step, return, wall seconds, per-episode returns), NAME.png and the
`## Ablation: TITLE` section of RESULTS.md (a step x label table, what differs between the runs'
configs, commit, date, machine, command).
"""

from __future__ import annotations

import argparse
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
    p.add_argument("--name", required=True, help="file stem of the CSV and PNG")
    p.add_argument("--title", required=True, help="section title in RESULTS.md")
    p.add_argument("--max-step", type=int, default=None, help="ignore evaluations after this")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    pairs = [item.split("=", 1) for item in args.run]
    if any(len(pair) != 2 or not all(pair) for pair in pairs):
        p.error("each --run is LABEL=RUN_FOLDER")
    runs = dict(pairs)
    if len(runs) != len(pairs):
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
    if not rows:
        p.error("the runs hold no evaluations (up to --max-step)")
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows, list(rows[0]))
    _plot(rows, list(runs), args.out / f"{args.name}.png", args.title)
    steps = sorted({r["step"] for r in rows})
    table = ["| step | " + " | ".join(runs) + " |", "|---" * (len(runs) + 1) + "|"]
    for step in steps:
        cells = [next((f"{r['return']:.0f}" for r in rows if r["label"] == label
                       and r["step"] == step), "—") for label in runs]
        table.append(f"| {step} | " + " | ".join(cells) + " |")
    started = ", ".join(f"{label}: {configs[label].get('commit', 'not recorded')}"
                        for label in runs)
    threads = ", ".join(f"{label}: {threads_text(configs[label])}" for label in runs)
    body = [f"Written {today()} at commit {commit()}; commit each run started from: {started}. "
            f"Machine of this script: {machine()}; torch threads of each run: {threads}.", "",
            f"Command: `python benchmarks/compare_runs.py {shlex.join(argv)}`", "",
            f"Mean evaluation return ({configs[next(iter(runs))]['run'].get('eval_episodes', '?')}"
            " episodes, no exploration noise) of `wmpc run` folders that differ only in:", ""]
    body += [f"- {line}" for line in _differences(configs)] + [""] + table
    body += ["", f"![{args.name}]({args.name}.png)"]
    replace_section(args.out / "RESULTS.md", f"Ablation: {args.title}", "\n".join(body))
    print(f"wrote {args.out / (args.name + '.csv')} and the RESULTS.md section")


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
