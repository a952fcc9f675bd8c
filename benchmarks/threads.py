"""`wmpc bench threads`: how fast the online loop runs at each torch thread count, alone and with
a second run beside it on the same cores.

Each run is a separate process holding the online loop's own objects (`OnlineRun` with today's
defaults) on a DeepMind Control task. After two random episodes fill its replay buffer it repeats
the loop's work for `--seconds`: plan a decision, step the env, and make the updates the loop's
`updates_per_step` asks for. Processes of one setting start together. `--threads auto` measures
`wmpc run`'s default instead (the count chosen at start, looked at again as it runs:
`agent.cpu_load.ThreadShare`): one run alone for `--seconds`, then a second started beside it
and both measured for `--seconds`, one row per phase. Reported per setting: decisions per second
of each run and of all runs together, and the mean milliseconds of a plan and of an update.
`--critics v,q` measures each setting with each kind of critic (`ModelConfig.critic`),
`--compile off,on` without and with torch.compile of the energy and the loss
(`world_model.compiled`; compiling happens before the timed part). Writes `NAME.csv`, `NAME.png`
and README.md `## Threads` (`## Threads: NAME` for another `--name` than threads_cpu) into --out
(default: the suite's folder, benchmarks/results/threads).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import shlex
import tempfile
import time
from pathlib import Path

from agent.provenance import commit, machine
from benchmarks.provenance import ROOT, replace_section, today, write_csv

FIELDS = ["runs", "threads", "num_envs", "critic", "compile", "decisions_per_s_each",
          "decisions_per_s_total", "plan_ms", "update_ms", "env_id", "commit", "machine"]


def parse(argv: list[str]) -> argparse.Namespace:
    cores = len(os.sched_getaffinity(0))
    p = argparse.ArgumentParser(prog="wmpc bench threads", description=__doc__)
    p.add_argument("--env", default="dm_control/walker-walk-v0", help="environment id")
    p.add_argument("--threads", default=",".join(str(t) for t in range(1, cores + 1)),
                   help="comma-separated torch thread counts per run; auto: wmpc run's default "
                   "choice, the runs started one after another")
    p.add_argument("--runs", default="1,2", help="comma-separated numbers of runs side by side")
    p.add_argument("--seconds", type=float, default=20.0, help="measured time per setting")
    p.add_argument("--critics", default="v", help="comma-separated critics (v, q) per setting")
    p.add_argument("--compile", default="off",
                   help="comma-separated off/on: torch.compile of the energy and loss per setting")
    p.add_argument("--num-envs", default="1",
                   help="comma-separated envs per run (an AsyncVectorEnv for more than one, one "
                   "batched plan for all; decisions count every env)")
    p.add_argument("--name", default="threads_cpu", help="file stem of the CSV and PNG")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "threads")
    return p.parse_args(argv)


def _fill(run, env_id: str, episodes: int) -> None:
    """`episodes` uniform-random episodes of `env_id` (an env of its own) into the run's replay
    buffer, then its normaliser."""
    import numpy as np

    from agent.runs import EpisodeRecorder
    from envs import make_env

    env = make_env(env_id, seed=0)
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        recorder, done = EpisodeRecorder(obs), False
        while not done:
            action = run.rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
            obs, reward, terminated, truncated, _ = env.step(action)
            recorder.add(action, reward, terminated, truncated, obs)
            done = terminated or truncated
        run.buffer.add_episode(*recorder.arrays())
    env.close()
    run.model.update_normaliser(run.buffer.observations())


def _measure(env_id: str, threads: int | str, num_envs: int, model: dict, compile_: bool, ready,
             go, stop, results) -> None:
    """One run's loop from `go` until `stop`, after setting up and warming up (then `ready`):
    puts a row (time, plan seconds, update seconds, updates, torch threads, decisions) per step
    of its `num_envs` envs (the run's own vector env, one batched plan for all). `threads`
    "auto" is what `wmpc run` does by default: the count the CLI chooses at start, then a
    `ThreadShare` that looks again every few seconds."""
    import numpy as np
    import torch

    from agent.cli import torch_threads
    from agent.cpu_load import ThreadShare

    os.environ.pop("WMPC_TORCH_THREADS", None)
    share = ThreadShare() if threads == "auto" else None
    torch.set_num_threads(torch_threads() if threads == "auto" else threads)
    os.environ["WMPC_COMPILE"] = "1" if compile_ else "0"
    from agent.config import AgentConfig, RunConfig
    from agent.online import OnlineRun
    from world_model.train import TrainConfig

    n = num_envs
    cfg = RunConfig(env_id=env_id, num_envs=n, steps=1000 * n, eval_every=1000 * n)
    with tempfile.TemporaryDirectory() as out:
        run = OnlineRun(Path(out), cfg, AgentConfig(compile=compile_),
                        TrainConfig(compile=compile_), model)
        _fill(run, env_id, 2)
        batch, horizon = run.train_cfg.batch_size, run.train_cfg.horizon

        def update() -> None:
            run.trainer.update(run.buffer.sample(batch, horizon, run.trainer.generator))

        def act(obs: np.ndarray) -> np.ndarray:
            return run.agent.act(obs if n > 1 else obs[0], explore=True).reshape(n, -1)

        obs, _ = run.envs.reset(seed=list(range(2, 2 + n)))
        for _ in range(3):  # first calls allocate (and compile)
            act(obs)
            update()
        ready.set()
        go.wait()
        rows, credit = [], 0.0
        while not stop.is_set():
            tick = time.monotonic()
            action = act(obs)
            plan = time.monotonic() - tick
            obs, _, terminated, truncated, _ = run.envs.step(action)
            ended = terminated | truncated
            if ended.any():
                first, _ = run.envs.reset(options={"reset_mask": ended})
                obs[ended] = first[ended]
                for i in np.flatnonzero(ended):
                    run.agent.reset(int(i))
            credit += cfg.updates_per_step * n
            tick, updates = time.monotonic(), 0
            while credit >= 1.0:
                update()
                credit, updates = credit - 1.0, updates + 1
            now = time.monotonic()
            if share is not None:
                share.check()
            rows.append((now, plan, now - tick, updates, torch.get_num_threads(), n))
        run.envs.close()
    results.put(rows)


def _window(rows: list[tuple], begin: float, end: float) -> dict:
    """Decisions/s (of all its envs), plan (per step) and update milliseconds and the last thread
    count of one run's steps between `begin` and `end`."""
    inside = [r for r in rows if begin <= r[0] < end]
    updates = sum(r[3] for r in inside)
    return {"rate": sum(r[5] for r in inside) / (end - begin),
            "plan_ms": 1e3 * sum(r[1] for r in inside) / max(len(inside), 1),
            "update_ms": 1e3 * sum(r[2] for r in inside) / max(updates, 1),
            "threads": inside[-1][4] if inside else 0}


def _row(runs: int, threads: str, num_envs: int, windows: list[dict], model: dict,
         compile_: bool) -> dict:
    rates = [w["rate"] for w in windows]
    return {"runs": runs, "threads": threads, "num_envs": num_envs, **model,
            "compile": "on" if compile_ else "off",
            "decisions_per_s_each": round(sum(rates) / runs, 2),
            "decisions_per_s_total": round(sum(rates), 2),
            "plan_ms": round(sum(w["plan_ms"] for w in windows) / runs, 2),
            "update_ms": round(sum(w["update_ms"] for w in windows) / runs, 2)}


def _start(ctx, env_id: str, threads: int | str, num_envs: int, model: dict, compile_: bool, go,
           stop, results):
    ready = ctx.Event()
    proc = ctx.Process(target=_measure, args=(env_id, threads, num_envs, model, compile_, ready,
                                              go, stop, results))
    proc.start()
    return proc, ready


def _gather(procs: list, results) -> list[list[tuple]]:
    measured = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    return measured


def _setting(env_id: str, runs: int, threads: int, num_envs: int, model: dict, compile_: bool,
             seconds: float) -> list[dict]:
    """`runs` processes side by side, each with `threads` and `num_envs` envs, the model
    overrides `model` and compiling on or off, measured together for `seconds`."""
    ctx = mp.get_context("spawn")
    go, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    started = [_start(ctx, env_id, threads, num_envs, model, compile_, go, stop, results)
               for _ in range(runs)]
    for _, ready in started:
        ready.wait(600)
    begin = time.monotonic()
    go.set()
    time.sleep(seconds)
    end = time.monotonic()
    stop.set()
    measured = _gather([proc for proc, _ in started], results)
    return [_row(runs, str(threads), num_envs, [_window(rows, begin, end) for rows in measured],
                 model, compile_)]


def _staggered(env_id: str, runs: int, num_envs: int, model: dict, compile_: bool,
               seconds: float) -> list[dict]:
    """Default threads ("auto"): one run alone for `seconds`, then a second starts beside it and
    both run `seconds`, and so on up to `runs`; a row per phase, over all of it (a thread count
    changing part-way included). The threads column gives each run's count at the phase's end."""
    ctx = mp.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    procs, phases = [], []
    for _ in range(runs):
        go = ctx.Event()
        proc, ready = _start(ctx, env_id, "auto", num_envs, model, compile_, go, stop, results)
        ready.wait(600)
        go.set()
        begin = time.monotonic()
        time.sleep(seconds)
        phases.append((begin, time.monotonic()))
        procs.append(proc)
    stop.set()
    measured = sorted(_gather(procs, results), key=lambda rows: rows[0][0] if rows else 0.0)
    out = []
    for k, (begin, end) in enumerate(phases, start=1):
        windows = [_window(rows, begin, end) for rows in measured[:k]]
        counts = "+".join(str(w["threads"]) for w in windows)
        out.append(_row(k, f"auto ({counts})", num_envs, windows, model, compile_))
    return out


def main(argv: list[str]) -> None:
    args = parse(argv)
    if set(args.compile.split(",")) - {"off", "on"}:
        raise ValueError(f"--compile takes off and/or on, got {args.compile!r}")
    thread_counts = args.threads.split(",")
    if any(t != "auto" and not (t.isdigit() and int(t) > 0) for t in thread_counts):
        raise ValueError(f"--threads takes positive counts and/or auto, got {args.threads!r}")
    stamp = {"env_id": args.env, "commit": commit(), "machine": machine("cpu")}
    run_counts = [int(r) for r in args.runs.split(",")]
    env_counts = [int(n) for n in args.num_envs.split(",")]
    if min(env_counts) < 1:
        raise ValueError(f"--num-envs takes positive counts, got {args.num_envs!r}")
    rows = []
    for critic, comp, n in itertools.product(args.critics.split(","), args.compile.split(","),
                                             env_counts):
        model = {"critic": critic}
        for threads in thread_counts:
            if threads == "auto":
                staged = _staggered(args.env, max(run_counts), n, model, comp == "on",
                                    args.seconds)
                found = [r for r in staged if r["runs"] in run_counts]
            else:
                found = [row for runs in run_counts
                         for row in _setting(args.env, runs, int(threads), n, model,
                                             comp == "on", args.seconds)]
            for row in found:
                rows.append({**row, **stamp})
                print(rows[-1])
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.csv"
    write_csv(path, rows, FIELDS)
    _plot(rows, path.with_suffix(".png"))
    _report(rows, args, argv, stamp)


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['runs']} run(s)\n{r['threads']} thread(s)\n{r['num_envs']} env(s)\n"
              f"critic {r['critic']}\ncompile {r['compile']}" for r in rows]
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 1, 3.2))
    ax.bar(labels, [r["decisions_per_s_total"] for r in rows], color="tab:blue")
    ax.set_ylabel("decisions / s, all runs")
    ax.set_title(f"online loop, {rows[0]['env_id']}")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _report(rows: list[dict], args, argv: list[str], stamp: dict) -> None:
    lines = [f"Written {today()} at commit {stamp['commit']}; machine: {stamp['machine']} (the "
             "thread count of each row is its own). One seed; the machine is shared and noisy, "
             "so compare rows of this one run as ratios.",
             "", f"Command: `{shlex.join(['wmpc', 'bench', 'threads', *argv])}`", "",
             "| runs side by side | torch threads each | envs each | critic | compile | "
             "decisions/s each | decisions/s total | plan ms | update ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['runs']} | {r['threads']} | {r['num_envs']} | {r['critic']} | "
              f"{r['compile']} | "
              f"{r['decisions_per_s_each']} | "
              f"{r['decisions_per_s_total']} | {r['plan_ms']} | {r['update_ms']} |" for r in rows]
    title = "Threads" if args.name == "threads_cpu" else f"Threads: {args.name}"
    replace_section(args.out / "README.md", title, "\n".join(lines))
