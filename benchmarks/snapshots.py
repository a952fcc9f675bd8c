"""`wmpc bench snapshots`: a run's policies at each evaluation, replanned under other settings.

Every `RUN/checkpoints/step_N/` (kept at each evaluation of `wmpc run`) of each run is evaluated
once per variant, a variant being changes to the run's `AgentConfig` (say `members=mean`), on the
same env and episode seeds for every variant, snapshot and run of a task: a paired comparison.

    wmpc bench snapshots --run runs/bench_tasks/reacher-easy_s0 \
        --variant split=members=split --variant mean=members=mean --episodes 10 \
        --name members_reacher --title "Planning through the members' mean, reacher-easy"

Writes NAME.csv (run, env, step, variant, mean return, per-episode returns), NAME.png and the
`## Snapshots: TITLE` section of RESULTS.md (a step x variant table per run, the paired
difference of each variant from the first, commit, date, machine, command). Rerunning keeps the
rows already in NAME.csv and evaluates only what is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from pathlib import Path

import numpy as np

from benchmarks.provenance import ROOT, commit, machine, replace_section, today, write_csv

FIELDS = ["run", "env", "step", "variant", "episodes", "mean_return", "returns"]


def parse_variant(text: str) -> tuple[str, dict]:
    """'LABEL=field=value[,field=value...]' -> (label, {field: value}) with values typed by
    `AgentConfig`'s annotations; 'LABEL=' is the run's own settings."""
    from agent.config import AgentConfig

    label, _, body = text.partition("=")
    if not label:
        raise ValueError(f"a variant is LABEL=field=value[,...], got {text!r}")
    types = {f.name: f.type for f in dataclasses.fields(AgentConfig)}
    changes = {}
    for item in filter(None, body.split(",")):
        name, _, value = item.partition("=")
        if name not in types or not value:
            raise ValueError(f"variant {label!r}: {item!r} is not field=value of AgentConfig")
        kind = {"bool": bool, "int": int, "float": float}.get(types[name].split(" |")[0], str)
        changes[name] = value.lower() in ("1", "true") if kind is bool else kind(value)
    return label, changes


def snapshots(run: Path) -> list[tuple[int, Path]]:
    """(step, folder) of the run's kept policies, by step."""
    found = [(int(p.name.removeprefix("step_")), p)
             for p in (run / "checkpoints").glob("step_*") if (p / "checkpoint.pt").exists()]
    return sorted(found)


def evaluate(folder: Path, env_id: str, changes: dict, episodes: int, seed: int) -> list[float]:
    """Returns of `episodes` episodes (env seeds `seed * 1000 + i`) of the policy in `folder`,
    planned with its evaluation settings (`eval_members`) and `changes`: what `wmpc eval` does."""
    from agent.config import AgentConfig, config_from_dict
    from agent.evaluate import run_episodes
    from agent.loading import make_eval_policy
    from agent.runs import load_config
    from envs import make_env

    config = load_config(folder)
    cfg = dataclasses.replace(config_from_dict(AgentConfig, config["agent"]).for_evaluation(),
                              **changes)
    kwargs = config["run"].get("env_kwargs", {})
    envs = [make_env(env_id, seed=seed + i, **kwargs) for i in range(episodes)]
    policy = make_eval_policy("model", envs, cfg, folder, env_id, "cpu", seed)
    result = run_episodes(envs, policy, seeds=[seed * 1000 + i for i in range(episodes)])
    for env in envs:
        env.close()
    return [float(r) for r in result.returns]


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="wmpc bench snapshots", description=__doc__.split("\n")[0])
    p.add_argument("--run", action="append", type=Path, required=True, help="run folder (repeat)")
    p.add_argument("--variant", action="append", required=True,
                   help="LABEL=field=value[,field=value] of AgentConfig (repeat; the first is "
                   "the reference of the paired differences)")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=1, help="episode seeds seed*1000 + i")
    p.add_argument("--min-step", type=int, default=0, help="skip snapshots before this step")
    p.add_argument("--name", required=True, help="file stem of the CSV and PNG")
    p.add_argument("--title", required=True, help="section title in RESULTS.md")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    from agent.runs import load_config

    variants = dict(parse_variant(v) for v in args.variant)
    if len(variants) != len(args.variant):
        p.error("variant labels must differ")
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / f"{args.name}.csv"
    rows = _read(csv_path)
    done = {(r["run"], int(r["step"]), r["variant"]) for r in rows}
    for run in args.run:
        env_id = load_config(run)["run"]["env_id"]
        for step, folder in snapshots(run):
            for label, changes in variants.items():
                if step < args.min_step or (str(run), step, label) in done:
                    continue
                returns = evaluate(folder, env_id, changes, args.episodes, args.seed)
                rows.append({"run": str(run), "env": env_id, "step": step, "variant": label,
                             "episodes": len(returns), "mean_return": round(np.mean(returns), 1),
                             "returns": " ".join(f"{r:.0f}" for r in returns)})
                print(f"{run} step {step} {label}: {np.mean(returns):.1f}", flush=True)
                write_csv(csv_path, rows, FIELDS)
    _plot(rows, list(variants), csv_path.with_suffix(".png"), args.title)
    _report(rows, list(variants), args, argv)


def _read(path: Path) -> list[dict]:
    import csv

    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def paired_difference(rows: list[dict], label: str, reference: str) -> tuple[float, int]:
    """Mean per-episode return of `label` minus `reference` over every (run, step, episode)
    both evaluated, and how many episodes that is."""
    by_key = {(r["run"], int(r["step"]), r["variant"]): [float(x) for x in r["returns"].split()]
              for r in rows}
    diffs = [a - b for (run, step, v), ours in by_key.items() if v == label
             and (run, step, reference) in by_key
             for a, b in zip(ours, by_key[(run, step, reference)], strict=False)]
    return (float(np.mean(diffs)) if diffs else float("nan")), len(diffs)


def _report(rows: list[dict], labels: list[str], args, argv: list[str]) -> None:
    body = [f"Written {today()} at commit {commit()}. Machine: {machine()}.", "",
            f"Command: `wmpc bench snapshots {shlex.join(argv)}`", "",
            f"Mean return of {args.episodes} episodes (env seeds {args.seed * 1000} to "
            f"{args.seed * 1000 + args.episodes - 1}, the same for every variant and snapshot) "
            "of each run's policy at each evaluation, replanned per variant:", ""]
    for run in dict.fromkeys(r["run"] for r in rows):
        mine = [r for r in rows if r["run"] == run]
        body += [f"{run} ({mine[0]['env']}):", "", "| step | " + " | ".join(labels) + " |",
                 "|---" * (len(labels) + 1) + "|"]
        for step in sorted({int(r["step"]) for r in mine}):
            cells = [next((f"{float(r['mean_return']):.0f}" for r in mine
                           if int(r["step"]) == step and r["variant"] == label), "—")
                     for label in labels]
            body.append(f"| {step} | " + " | ".join(cells) + " |")
        body.append("")
    for label in labels[1:]:
        diff, count = paired_difference(rows, label, labels[0])
        body.append(f"- {label} minus {labels[0]}: {diff:+.1f} per episode on average over "
                    f"{count} paired episodes")
    body += ["", f"![{args.name}]({args.name}.png)"]
    replace_section(args.out / "RESULTS.md", f"Snapshots: {args.title}", "\n".join(body))


def _plot(rows: list[dict], labels: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = list(dict.fromkeys(r["run"] for r in rows))
    fig, axes = plt.subplots(1, max(1, len(runs)), figsize=(5 * max(1, len(runs)), 3.5),
                             squeeze=False)
    for ax, run in zip(axes[0], runs, strict=False):
        for label in labels:
            mine = sorted((int(r["step"]), float(r["mean_return"])) for r in rows
                          if r["run"] == run and r["variant"] == label)
            ax.plot([s for s, _ in mine], [v for _, v in mine], "o-", label=label)
        ax.set(xlabel="decisions", ylabel="eval return", title=f"{title}\n{Path(run).name}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
