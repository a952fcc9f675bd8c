"""`wmpc bench goals`: goal reaching from reward-free random data: model vs oracle vs random.

Per task: record random (coloured-noise) episodes with their rewards zeroed, train the world model
on them, fit the latent -> goal-space map (`world_model.goal_map`), then reach goals with the same
CEM planner and goal energy (`agent.goals.GoalCost`) on (a) the learned model, (b) the true
simulator (`agent.goals.GoalPoints` over `envs.oracle.SimulatorOracle`: the same distance on true
goal-space points) and compare with uniform random actions, at several planning budgets.

Goals and success (issue 6): PointMaze — the env's own goal of each episode, success = the env's
`info["success"]` (within 0.45) at any step, the episode stops there; reachers — the target, as the
finger-to-target slice of the observation with target 0, success = inside at the LAST step
(dm_control reacher-easy: within the target radius + finger radius; Reacher-v5: below 0.02).

Writes goals.csv, goals.png and the `## Goals` section of README.md into --out (default: the
suite's folder, benchmarks/results/goals).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

TASK_NAMES = ("umaze", "medium", "reacher-easy", "reacher-v5")


@dataclass(frozen=True)
class GoalTask:
    """One goal-reaching task of the benchmark; its goal and success test are the env's own
    (PointMaze's `desired_goal`) or its task spec's (the reachers', `envs.targets`)."""

    env_id: str
    """Environment id for `make_env`."""
    action_repeat: int
    """Simulator steps per agent decision."""
    decisions: int
    """Agent decisions per episode."""
    horizon: int
    """Planning horizon in decisions."""
    mode: str
    """Goal energy along the horizon: min, end or sum (`agent.goals.GOAL_MODES`)."""


TASKS = {
    "umaze": GoalTask("PointMaze_UMaze-v3", 5, 60, 30, "min"),
    "medium": GoalTask("PointMaze_Medium-v3", 5, 120, 40, "min"),
    "reacher-easy": GoalTask("dm_control/reacher-easy-v0", 2, 50, 5, "sum"),
    "reacher-v5": GoalTask("Reacher-v5", 1, 50, 5, "sum"),
}


def _make(task: GoalTask, seed: int):
    from envs import make_env

    return make_env(task.env_id, seed=seed, action_repeat=task.action_repeat,
                    episode_steps=task.decisions)


def collect(task: GoalTask, steps: int, seed: int):
    """Coloured-noise (beta 1) episodes as a ReplayBuffer with every reward set to 0."""
    from agent.policies import ColoredNoisePolicy
    from world_model.data import ReplayBuffer

    env = _make(task, seed)
    act_dim = env.action_space.shape[0]
    policy = ColoredNoisePolicy(act_dim, episode_steps=task.decisions, beta=1.0, seed=seed)
    buffer = ReplayBuffer(env.observation_space.shape[0], act_dim,
                          metadata={"env_id": task.env_id, "policy": "colored(beta=1)"})
    episode = 0
    while buffer.num_steps < steps:
        obs, _ = env.reset(seed=seed * 100_000 + episode)
        policy.reset()
        observations, actions = [obs], []
        for _ in range(task.decisions):
            action = policy(obs)
            obs, _, terminated, truncated, _ = env.step(action)
            observations.append(obs)
            actions.append(action)
            if terminated or truncated:
                break
        n = len(actions)
        buffer.add_episode(np.stack(observations), np.stack(actions), np.zeros(n),
                           np.zeros(n, bool), np.r_[np.zeros(n - 1, bool), True])
        episode += 1
    env.close()
    return buffer


def train_model(buffer, out: Path, train_steps: int, seed: int):
    """A small world model trained (reward-free data) in `out`; returns the model."""
    from world_model import load_world_model
    from world_model.train import TrainConfig, train_offline

    cfg = TrainConfig(steps=train_steps, batch_size=128, horizon=8,
                      eval_every=max(train_steps // 2, 1), checkpoint_every=train_steps,
                      log_every=max(train_steps // 10, 1))
    train_offline(buffer, out, cfg, {"latent_dim": 32, "hidden_dim": 128, "ensemble_size": 2},
                  device="cpu", seed=seed, progress=False)
    return load_world_model(out)


def play(task: GoalTask, kind: str, goals: int, seed: int, *, model=None, goal_map=None,
         samples: int = 0, iterations: int = 0) -> list[bool]:
    """Success of `goals` episodes (seeds seed*1000 + i) with kind random, oracle or model."""
    from agent.build import RandomAgent
    from agent.goals import learned_goal_agent, oracle_goal_agent, resolve_goal
    from envs.conventions import convention_for
    from planners import CEM

    at_end = convention_for(task.env_id).success_at_end
    successes = []
    for i in range(goals):
        env = _make(task, seed + i)
        obs, _ = env.reset(seed=seed * 1000 + i)
        spec = resolve_goal(None, [env], task.env_id)
        act_dim = env.action_space.shape[0]
        planner = CEM(num_samples=samples, iterations=iterations, num_elites=max(samples // 8, 2),
                      device="cpu", seed=seed + i) if kind != "random" else None
        if kind == "random":
            agent = RandomAgent(act_dim, seed + i)
        elif kind == "oracle":
            agent = oracle_goal_agent([env], spec, planner, horizon=task.horizon,
                                      action_dim=act_dim, mode=task.mode, seed=seed + i)
        else:
            agent = learned_goal_agent(model, goal_map, spec, planner, horizon=task.horizon,
                                       action_dim=act_dim, mode=task.mode, seed=seed + i)
        success = False
        for _ in range(task.decisions):
            obs, _, terminated, truncated, info = env.step(agent.act(obs))
            success = bool(info.get("success", False))
            if (success and not at_end) or terminated or truncated:
                break
        successes.append(success)
        env.close()
    return successes


def main(argv: list[str]) -> list[dict]:
    parser = argparse.ArgumentParser(prog="wmpc bench goals", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default=",".join(TASK_NAMES), help="Comma-separated tasks.")
    parser.add_argument("--goals", default="50",
                        help="Goals (episodes) per method: N, optionally with per-task "
                        "overrides, e.g. 50,medium=20.")
    parser.add_argument("--budgets", default="16x2,64x3",
                        help="CEM samples x iterations, comma-separated; per-task overrides "
                        "with task=SxI[+SxI...], e.g. 16x2,64x3,medium=64x3.")
    parser.add_argument("--data-steps", default="30000",
                        help="Random decisions per task: N, optionally with per-task overrides, "
                        "e.g. 30000,medium=60000.")
    parser.add_argument("--train-steps", default="4000,medium=20000,umaze=12000",
                        help="World-model updates: N, optionally with per-task overrides, "
                        "e.g. 4000,medium=12000.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/goals"))
    parser.add_argument("--work", type=Path, default=None,
                        help="Folder for the trained model runs (default: OUT/goals_runs).")
    parser.add_argument("--quick", action="store_true",
                        help="Smoke test: 2 goals, one small budget, little data and training.")
    args = parser.parse_args(argv)
    from agent.goals import resolve_goal
    from world_model.goal_map import fit_goal_map

    torch.set_num_threads(1)
    os.environ.setdefault("MUJOCO_GL", "egl")
    if args.quick:
        args.goals, args.budgets, args.data_steps, args.train_steps = "2", "8x1", "400", "20"
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; choose from {', '.join(TASK_NAMES)}")
    goals_of = _per_task(args.goals, int)
    data_of, updates_of = _per_task(args.data_steps, int), _per_task(args.train_steps, int)
    budgets_of = _per_task(args.budgets, lambda text: [
        tuple(int(x) for x in b.split("x")) for b in text.split("+")])
    work = args.work or args.out / "goals_runs"
    from agent.provenance import commit

    args.code_commit = commit(("agent", "benchmarks/goals.py", "envs", "planners", "world_model"))
    rows, notes = [], {}
    for name in tasks:
        task = TASKS[name]
        if args.quick:
            task = dataclasses.replace(task, decisions=min(task.decisions, 10),
                                       horizon=min(task.horizon, 5))
        start = time.time()
        buffer = collect(task, data_of(name), args.seed)
        run_dir = work / f"{name}_seed{args.seed}"
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        model = train_model(buffer, run_dir, updates_of(name), args.seed)
        env = _make(task, 0)
        goal_slice = resolve_goal(None, [env], task.env_id).goal_slice
        env.close()
        goal_map = fit_goal_map(model, buffer.observations(), goal_slice)
        notes[name] = (f"{buffer.num_steps} decisions ({buffer.num_episodes} episodes), "
                       f"{updates_of(name)} updates, goal-map R2 {float(goal_map.r2):.3f}")
        energy = task.mode
        base = {"task": name, "env": task.env_id, "horizon": task.horizon,
                "action_repeat": task.action_repeat, "energy": energy,
                "data_steps": buffer.num_steps, "goals": goals_of(name), "data": notes[name],
                "commit": args.code_commit}
        rand = play(task, "random", goals_of(name), args.seed)
        rows.append({**base, "energy": task.mode, "method": "random", "samples": 0, "iterations": 0,
                     "success_rate": float(np.mean(rand))})
        for samples, iterations in budgets_of(name):
            for kind in ("oracle", "model"):
                res = play(task, kind, goals_of(name), args.seed, model=model, goal_map=goal_map,
                           samples=samples, iterations=iterations)
                rows.append({**base, "energy": energy if kind == "model" else task.mode,
                             "method": kind, "samples": samples,
                             "iterations": iterations, "success_rate": float(np.mean(res))})
                print(f"{name} {kind} {samples}x{iterations}: {np.mean(res):.2f}", flush=True)
        print(f"{name}: random {np.mean(rand):.2f}; {notes[name]}; "
              f"{time.time() - start:.0f} s", flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        _write(rows, notes, args, argv)
    return rows


def _per_task(text: str, parse):
    """"DEFAULT,task=VALUE,..." -> task name -> parsed value (a budget list joins with commas)."""
    default, overrides = [], {}
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            if "=" in part:
                task, value = part.split("=", 1)
                overrides[task.strip()] = parse(value.strip())
            else:
                default.append(part)
        base = parse("+".join(default)) if default else None
    except ValueError as err:
        raise SystemExit(f"cannot read {text!r}: {err}") from err
    return lambda task: overrides.get(task, base)


def _write(rows: list[dict], notes: dict, args, argv: list[str]) -> None:
    from agent.provenance import machine
    from benchmarks.provenance import replace_section, today
    from world_model.checkpoint import atomic_write

    notes = dict(notes)  # the kept tasks' notes are for this file only, not the next write
    suffix = "_quick" if args.quick else ""
    csv_path = args.out / f"goals{suffix}.csv"
    if not args.quick and csv_path.is_file():  # keep the other tasks of earlier runs
        with csv_path.open() as f:
            kept = [r for r in csv.DictReader(f) if r["task"] not in notes and r.get("data")]
        for r in kept:
            notes.setdefault(r["task"], r["data"])
            for key in ("horizon", "action_repeat", "data_steps", "goals", "samples",
                        "iterations"):
                r[key] = int(r[key])
            r["success_rate"] = float(r["success_rate"])
        rows = kept + rows

    def write_csv(f):
        import io

        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        f.write(text.getvalue().encode())

    atomic_write(csv_path, write_csv)
    png = args.out / f"goals{suffix}.png"
    _plot(rows, png)
    if args.quick:
        return
    lines = [f"Written {today()}, {machine('cpu')}. Seed {args.seed} (goal i of a task: episode "
             f"seed {args.seed * 1000} + i). Code commit per task in {csv_path.name}.",
             f"Last command: `wmpc bench goals {' '.join(argv)}`", "",
             "Success: PointMaze within 0.45 of the env's goal at any step (the episode stops "
             "there); dm_control reacher-easy finger inside the target at the last step; "
             "Reacher-v5 fingertip-target distance < 0.02 at the last step. Same CEM and the same "
             "goal energy for oracle (true goal-space points) and model (MLP goal map on imagined "
             "latents). Episode lengths in decisions: "
             + ", ".join(f"{n} {TASKS[n].decisions}" for n in notes) + ".", "",
             "Reward-free data (coloured-noise actions, rewards zeroed), per task: "]
    lines += [f"- {name}: {note}" for name, note in notes.items()]
    lines += ["", "| task | horizon x repeat, energy | goals | random | budget | oracle | model |"
              " model / oracle |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in notes:
        mine = [r for r in rows if r["task"] == name]
        rand = next(r for r in mine if r["method"] == "random")["success_rate"]
        for r in (r for r in mine if r["method"] == "oracle"):
            m = next(x for x in mine if x["method"] == "model" and x["samples"] == r["samples"]
                     and x["iterations"] == r["iterations"])
            ratio = m["success_rate"] / r["success_rate"] if r["success_rate"] else float("nan")
            lines.append(f"| {name} | H{r['horizon']}x{r['action_repeat']}, {m['energy']} | "
                         f"{r['goals']} | {rand:.2f} | CEM {r['samples']}x{r['iterations']} | "
                         f"{r['success_rate']:.2f} | {m['success_rate']:.2f} | {ratio:.2f} |")
    lines += ["", f"![goals]({png.name})"]
    replace_section(args.out / "README.md", "Goals", "\n".join(lines))


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    for ax, name in zip(axes[0], tasks, strict=True):
        mine = [r for r in rows if r["task"] == name]
        for kind, style in (("oracle", "o-"), ("model", "s-")):
            pts = [(r["samples"] * r["iterations"], r["success_rate"]) for r in mine
                   if r["method"] == kind]
            ax.plot(*zip(*pts, strict=True), style, label=kind)
        rand = next(r for r in mine if r["method"] == "random")["success_rate"]
        ax.axhline(rand, color="grey", ls="--", label="random")
        ax.set_xscale("log")
        budgets = sorted({r["samples"] * r["iterations"] for r in mine if r["samples"]})
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(name)
        ax.set_xlabel("CEM samples x iterations per decision")
    axes[0][0].set_ylabel("success rate")
    axes[0][0].legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
