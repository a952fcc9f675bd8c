"""The GPU run: one DMC task online on a lent GPU for as long as a budget allows, then its speed.

`wmpc run` with today's defaults goes until `--budget` seconds have passed (then it is stopped;
what counts is its last resume point, an episode end), and the plan latency of the agent it
learned is measured on the same device: the first plan (warm-up: compiling or capturing the CUDA
graph) and the median of the next plans, against TD-MPC2's 2.79 ms per plan (its compiled
planner on an RTX 3090, as its paper states) and our 0.5 ms target. Writes `gpu_run.csv` and
`gpu_run.json` to `--out` with the card, the commit and the command.

    python3 benchmarks/gpu_run.py --out DIR [--task dm_control/walker-walk-v0] [--budget 420]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.build import learned_agent  # noqa: E402
from agent.provenance import commit, machine  # noqa: E402
from agent.runs import load_resume_point, read_evals  # noqa: E402
from agent.settings import resolve  # noqa: E402
from benchmarks.provenance import today, write_csv  # noqa: E402
from envs import convention_for, make_env  # noqa: E402
from world_model import load_world_model  # noqa: E402

TDMPC2_PLAN_MS = 2.79
"""TD-MPC2's compiled planner, ms per plan (its paper, RTX 3090)."""
TARGET_PLAN_MS = 0.5


def plan_latency(run: Path, task: str, device: str, plans: int, graph: bool) -> dict:
    """Warm-up (first plan) in seconds and the median of the next `plans` plans in ms."""
    import dataclasses

    model = load_world_model(run, device=device)
    env = make_env(task, seed=0)
    cfg = dataclasses.replace(resolve(task).agent.for_evaluation(), cuda_graph=graph)
    agent = learned_agent(model, cfg, env.action_space.shape[0], device, seed=0)
    obs, _ = env.reset(seed=0)

    def timed() -> float:
        """One plan's seconds; the env then takes the planned action."""
        nonlocal obs
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        action = agent.act(obs)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
        return seconds

    warmup = timed()
    times = [timed() for _ in range(plans)]
    return {"warmup_s": round(warmup, 3), "plan_ms": round(1e3 * statistics.median(times), 3)}


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--task", default="dm_control/walker-walk-v0")
    p.add_argument("--budget", type=float, default=420.0, help="seconds of online learning")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--plans", type=int, default=200, help="plans timed after the warm-up")
    args = p.parse_args(argv)
    run = args.out / "run"
    args.out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", "from agent.cli import main; main()", "run", "--env",
               args.task, "--steps", "1000000", "--eval-every", "5000", "--device",
               args.device, "--out", str(run), "--no-progress"]
    try:
        subprocess.run(command, cwd=ROOT, timeout=args.budget, check=False)
    except subprocess.TimeoutExpired:
        pass  # the budget is spent: the last resume point counts
    if not (run / "resume.pt").exists():
        sys.exit(f"gpu_run: no episode ended within {args.budget:.0f} s; nothing to report "
                 f"(see {run})")
    loop = load_resume_point(run)["loop"]
    repeat = convention_for(args.task).action_repeat
    evals = read_evals(run)
    row = {"task": args.task, "device": args.device, "card": machine(args.device),
           "budget_s": args.budget, "decisions": loop["step"],
           "env_steps": loop["step"] * repeat, "wall_s": round(loop["wall_seconds"], 1),
           "decisions_per_s": round(loop["step"] / max(loop["wall_seconds"], 1e-9), 2),
           "last_eval_step": evals[-1]["step"] if evals else None,
           "last_eval_return": round(evals[-1]["mean_return"], 1) if evals else None,
           "tdmpc2_plan_ms": TDMPC2_PLAN_MS, "target_plan_ms": TARGET_PLAN_MS,
           "commit": commit(), "date": today()}
    for graph in ([False, True] if args.device.startswith("cuda") else [False]):
        latency = plan_latency(run, args.task, args.device, args.plans, graph)
        suffix = "_graph" if graph else ""
        row.update({f"warmup_s{suffix}": latency["warmup_s"],
                    f"plan_ms{suffix}": latency["plan_ms"]})
    row["command"] = "python3 benchmarks/gpu_run.py " + shlex.join(argv)
    write_csv(args.out / "gpu_run.csv", [row], list(row))
    (args.out / "gpu_run.json").write_text(json.dumps(row, indent=2) + "\n")
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
