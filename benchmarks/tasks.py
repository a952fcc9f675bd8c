"""`wmpc bench tasks`: DeepMind Control tasks (anchor conventions) against the published curves.

For every task and seed: an online `wmpc run` to `--steps` decisions with an evaluation every
`--eval-every`; in the same script, random actions and the oracle (the same planner on the true
simulator: the ceiling at that planning budget), and the TD-MPC2, DreamerV3 and SAC curves from
`../shared/anchors/`. Writes `tasks.csv`, `tasks.png` and the `## Tasks` section of RESULTS.md.
Runs are resumable: rerunning the command continues the runs in `--runs`.
"""

from __future__ import annotations

import argparse
import csv
import shlex
from pathlib import Path

import numpy as np

from benchmarks.provenance import ROOT, commit, machine, replace_section, today, write_csv

TASKS = {
    "cartpole-swingup": "dm_control/cartpole-swingup-v0",
    "reacher-easy": "dm_control/reacher-easy-v0",
    "cup-catch": "dm_control/ball_in_cup-catch-v0",
    "finger-spin": "dm_control/finger-spin-v0",
    "walker-walk": "dm_control/walker-walk-v0",
    "cheetah-run": "dm_control/cheetah-run-v0",
}
ANCHORS = ("tdmpc2", "dreamerv3", "sac")
FIELDS = ["task", "kind", "seed", "step", "return", "wall_seconds", "commit", "machine",
          "settings"]


def parse(argv: list[str]) -> argparse.Namespace:
    from agent.config import AgentConfig, RunConfig

    p = argparse.ArgumentParser(prog="wmpc bench tasks", description=__doc__)
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    p.add_argument("--seeds", default="0", help="comma-separated seeds")
    p.add_argument("--steps", type=int, default=100_000, help="decisions per run")
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--baseline-episodes", type=int, default=5, help="random-action episodes")
    p.add_argument("--oracle-episodes", type=int, default=1, help="0 skips the oracle")
    p.add_argument("--planner", default="mppi")
    p.add_argument("--prior-samples", type=int, default=0,
                   help="policy-prior rollouts per plan in new runs (a resumed run keeps its own)")
    p.add_argument("--execute", choices=("best", "mean"), default="best",
                   help="executed sequence of each plan in new runs (AgentConfig.execute)")
    p.add_argument("--members", choices=("split", "mean"), default="split",
                   help="predictor ensemble in the training plans of new runs "
                   "(AgentConfig.members)")
    p.add_argument("--eval-members", choices=("split", "mean"), default="split",
                   help="predictor ensemble in the evaluations of new runs "
                   "(AgentConfig.eval_members)")
    p.add_argument("--init-std", type=float, default=AgentConfig.init_std,
                   help="planner std at the start of each plan in new runs "
                   "(AgentConfig.init_std; default: the planner's own)")
    p.add_argument("--eval-init-std", type=float, default=AgentConfig.eval_init_std,
                   help="planner start std in the evaluations of new runs "
                   "(AgentConfig.eval_init_std)")
    p.add_argument("--explore-final", type=float, default=AgentConfig.explore_std_final,
                   help="training noise std reached after the decay, in new runs "
                   "(AgentConfig.explore_std_final; a resumed run keeps its own)")
    p.add_argument("--value-expectile", type=float, default=0.5,
                   help="critic expectile of new runs (a resumed run keeps its own)")
    p.add_argument("--critic", choices=("v", "q"), default="v",
                   help="critic of new runs (ModelConfig.critic; a resumed run keeps its own)")
    p.add_argument("--activation", choices=("mish", "silu"), default="mish",
                   help="hidden-layer nonlinearity of new runs (ModelConfig.activation)")
    p.add_argument("--updates-per-step", type=float,
                   default=RunConfig.updates_per_step,
                   help="world-model updates per decision of new runs (RunConfig.updates_per_step)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--runs", type=Path, default=None,
                   help="run folders [default: runs/bench_tasks, runs/bench_tasks_quick]")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--anchors", type=Path, default=ROOT.parent / "shared" / "anchors")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    p.add_argument("--report-only", action="store_true",
                   help="no runs: refresh from the run folders' evaluations, plot, table")
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse(argv)
    if args.runs is None:
        args.runs = ROOT / "runs" / ("bench_tasks_quick" if args.quick else "bench_tasks")
    if args.quick:
        args.steps, args.eval_every, args.eval_episodes = 60, 30, 1
        args.baseline_episodes, args.oracle_episodes = 1, min(args.oracle_episodes, 1)
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; known: {', '.join(TASKS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / ("tasks_quick.csv" if args.quick else "tasks.csv")
    rows = _read(csv_path)
    for task in tasks:
        if not args.report_only and not any(r["task"] == task and r["kind"] != "wmpc"
                                            for r in rows):
            rows += _baselines(task, args)
            _write(csv_path, rows)
        for seed in seeds:
            if not args.report_only:
                _learn(task, seed, args)
            mine = _run_rows(task, seed, args)
            if mine:
                rows = [r for r in rows if (r["task"], r["kind"], str(r["seed"]))
                        != (task, "wmpc", str(seed))] + mine
                _write(csv_path, rows)
    _plot(rows, args.anchors, csv_path.with_suffix(".png"))
    if not args.quick:
        _report(rows, args, argv, csv_path)


def _learn(task: str, seed: int, args) -> None:
    from agent.config import AgentConfig, RunConfig, online_train_config
    from agent.online import OnlineRun
    from agent.runs import load_config, resumed_configs

    out = args.runs / f"{task}_s{seed}"
    resume = (out / "resume.pt").exists()
    if resume:  # a run keeps the configs it started with; only its length changes
        cfg, agent_cfg, train_cfg, overrides, _ = resumed_configs(out, args.steps)
    else:
        quick = {"seed_steps": 20, "pretrain_updates": 5} if args.quick else {}
        cfg = RunConfig(env_id=TASKS[task], steps=args.steps, seed=seed,
                        eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                        updates_per_step=args.updates_per_step, **quick)
        agent_cfg = AgentConfig(planner=args.planner, prior_samples=args.prior_samples,
                                execute=args.execute, members=args.members,
                                eval_members=args.eval_members,
                                explore_std_final=args.explore_final, init_std=args.init_std,
                                eval_init_std=args.eval_init_std)
        train_cfg = online_train_config()
        overrides = {"value_expectile": args.value_expectile, "critic": args.critic,
                     "activation": args.activation}
    run = OnlineRun(out, cfg, agent_cfg, train_cfg, overrides, device=args.device)
    started = load_config(out).get("commit", commit()) if resume else commit()
    run.run(resume=resume, progress=not args.quick, meta={"commit": started})


def _run_rows(task: str, seed: int, args) -> list[dict]:
    """The evaluations a run folder holds so far (also of a run still going or stopped), stamped
    with the commit the run started from and its settings (kept in the CSV, so the report still
    has them once the folder is gone)."""
    from agent.runs import load_config, read_evals

    out = args.runs / f"{task}_s{seed}"
    if not (out / "config.json").exists():
        return []
    stamp = {"commit": load_config(out).get("commit", "unknown"), "machine": machine(args.device),
             "settings": _settings(out)}
    return [{"task": task, "kind": "wmpc", "seed": seed, "step": r["step"],
             "return": r["mean_return"], "wall_seconds": r["wall_seconds"], **stamp}
            for r in read_evals(out)]


def _baselines(task: str, args) -> list[dict]:
    from agent.build import RandomAgent, oracle_agent
    from agent.config import AgentConfig
    from agent.evaluate import run_episodes
    from envs import make_env
    from envs.oracle import SimulatorOracle

    stamp = {"commit": commit(), "machine": machine("cpu"), "step": 0, "wall_seconds": ""}
    rows = []
    envs = [make_env(TASKS[task], seed=i) for i in range(args.baseline_episodes)]
    seeds = list(range(10_000, 10_000 + len(envs)))
    random = run_episodes(envs, RandomAgent(envs[0].action_space.shape[0], 0), seeds=seeds)
    rows += [{"task": task, "kind": "random", "seed": i, "return": r, **stamp}
             for i, r in enumerate(random.returns)]
    if args.oracle_episodes:
        envs = envs[: args.oracle_episodes]
        agent = oracle_agent([SimulatorOracle(e) for e in envs], AgentConfig(planner=args.planner),
                             envs[0].action_space.shape[0], seed=0)
        oracle = run_episodes(envs, agent, seeds=seeds[: len(envs)])
        rows += [{"task": task, "kind": "oracle", "seed": i, "return": r, **stamp}
                 for i, r in enumerate(oracle.returns)]
    for env in envs:
        env.close()
    return rows


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict]) -> None:
    write_csv(path, rows, FIELDS)


def anchor_curve(anchors: Path, algo: str, task: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean over seeds of an anchor's eval return by step: (steps, returns), or None."""
    path = anchors / "tdmpc2-results" / algo / f"{task}.csv"
    if not path.exists():
        return None
    with path.open() as handle:
        data = [(int(float(r["step"])), float(r["reward"])) for r in csv.DictReader(handle)]
    steps = np.array(sorted({s for s, _ in data}))
    means = np.array([np.mean([v for s, v in data if s == step]) for step in steps])
    return steps, means


def _anchor_at(anchors: Path, algo: str, task: str, step: int) -> float | None:
    curve = anchor_curve(anchors, algo, task)
    if curve is None or not (curve[0] <= step).any():
        return None
    return float(curve[1][curve[0] <= step][-1])


def _plot(rows: list[dict], anchors: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    if not tasks:
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        limit = max((int(r["step"]) for r in rows if r["task"] == task and r["kind"] == "wmpc"),
                    default=0)
        for algo in ANCHORS:
            curve = anchor_curve(anchors, algo, task)
            if curve is not None:  # the published curves are sampled every 100k decisions
                keep = curve[0] <= max(limit, 100_000)
                ax.plot(curve[0][keep], curve[1][keep], "s:", label=algo, alpha=0.7)
        mine = [r for r in rows if r["task"] == task and r["kind"] == "wmpc"]
        for seed in sorted({str(r["seed"]) for r in mine}):
            pts = sorted((int(r["step"]), float(r["return"])) for r in mine
                         if str(r["seed"]) == seed)
            ax.plot(*zip(*pts, strict=True), "k-o", ms=3, label=f"wmpc seed {seed}")
        for kind, style in (("random", "r:"), ("oracle", "g--")):
            vals = [float(r["return"]) for r in rows if r["task"] == task and r["kind"] == kind]
            if vals:
                ax.axhline(np.mean(vals), color=style[0], ls=style[1:], label=kind)
        ax.set_title(task)
        ax.set_xlabel("agent decisions")
        ax.set_ylim(0, 1000)
    axes[0][0].set_ylabel("eval return")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _report(rows: list[dict], args, argv: list[str], csv_path: Path) -> None:
    lines = [
        f"Written {today()}; machine: {rows[-1]['machine']} (the thread count is this report's; "
        "each run's own is in its settings below). Per task: the seeds at its last "
        "evaluated step, the mean return over them (each seed's in brackets when more than one), "
        "each seed's wall seconds and the commit each run started from.", "",
        f"Command: `wmpc bench tasks {shlex.join(argv)}`", "",
        "Conventions: action repeat 2, 500 decisions per episode, steps = agent decisions. "
        "random: uniform actions; oracle: the same planner and budget on the true simulator "
        "(no critic). Anchors: mean of 3 seeds at 100k decisions (the published curves have "
        "no points between 0 and 100k).", "",
        "| task | seeds | commit | wmpc steps | wmpc return | wall s | TD-MPC2 100k "
        "| DreamerV3 100k | SAC 100k | random | oracle |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task and r["kind"] == "wmpc"]
        if not mine:
            continue
        last = max(int(r["step"]) for r in mine)
        at_last = [r for r in mine if int(r["step"]) == last]
        at_last.sort(key=lambda r: int(r["seed"]))
        returns = [float(r["return"]) for r in at_last]
        ret = f"{np.mean(returns):.0f}"
        if len(returns) > 1:
            ret += " (" + " / ".join(f"{v:.0f}" for v in returns) + ")"
        wall = " / ".join(f"{float(r['wall_seconds']):.0f}" for r in at_last)
        seeds = ",".join(str(r["seed"]) for r in at_last)
        commits = " / ".join(dict.fromkeys(r["commit"] for r in at_last))

        def fmt(value):
            return "—" if value is None else f"{value:.0f}"

        base = {k: [float(r["return"]) for r in rows if r["task"] == task and r["kind"] == k]
                for k in ("random", "oracle")}
        lines.append(
            f"| {task} | {seeds} | {commits} | {last} | {ret} | {wall} | "
            + " | ".join(fmt(_anchor_at(args.anchors, a, task, 100_000)) for a in ANCHORS)
            + f" | {fmt(np.mean(base['random']) if base['random'] else None)} | "
            f"{fmt(np.mean(base['oracle']) if base['oracle'] else None)} |")
    lines += ["", "Each run's own settings (from its config.json, kept in the CSV; a resumed run "
              "keeps them):", ""]
    lines += [f"- {task} seed {seed}: {text}" for (task, seed), text in _run_settings(rows).items()]
    lines += ["", f"![tasks]({csv_path.with_suffix('.png').name})"]
    replace_section(args.out / "RESULTS.md", "Tasks", "\n".join(lines))


def _run_settings(rows: list[dict]) -> dict[tuple[str, str], str]:
    """(task, seed) -> the settings text its rows carry, for the runs that have one; tasks in
    the table's order, seeds ascending."""
    order = list(dict.fromkeys(r["task"] for r in rows))
    found = {(r["task"], str(r["seed"])): r.get("settings") for r in rows if r["kind"] == "wmpc"}
    keys = sorted(found, key=lambda key: (order.index(key[0]), int(key[1])))
    return {key: found[key] for key in keys if found[key]}


def _settings(run: Path) -> str:
    """`--steps`, `--eval-every` and the planning budget a run was made with."""
    from agent.runs import load_config, threads_text

    c = load_config(run)
    agent, run_cfg = c["agent"], c["run"]
    train_std, eval_std = _from_std(agent.get("init_std")), _from_std(agent.get("eval_init_std"))
    return (f"--steps {run_cfg['steps']} --eval-every {run_cfg['eval_every']}; "
            f"{agent['planner']} {agent['num_samples']} samples x {agent['iterations']} "
            f"iterations x H{agent['horizon']}{train_std}, executing the "
            f"{agent.get('execute', 'best')} sequence, {c['model']['ensemble_size']} predictor "
            f"members ({agent['members']} in training plans, "
            f"{agent['eval_members']} in evaluations{eval_std}), "
            f"{run_cfg['updates_per_step']} updates per decision, exploration noise "
            f"{_explore(agent)}, critic {c['model'].get('critic', 'v')}, "
            f"critic expectile {c['model'].get('value_expectile', 0.5):g}, "
            f"activation {c['model'].get('activation', 'mish')}, "
            f"torch.compile {'on' if agent.get('compile') else 'off'}, "
            f"torch threads {threads_text(c)}")


def _from_std(std: float | None) -> str:
    return "" if std is None else f" from std {std:g}"


def _explore(agent: dict) -> str:
    start = agent["explore_std"]
    final = agent.get("explore_std_final", start)
    if final == start:
        return f"{start:g}"
    return f"{start:g} to {final:g} over {agent['explore_decay_steps']} decisions"

