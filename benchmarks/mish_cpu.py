"""Mish on the CPU: `world_model.mish` against `torch.nn.functional.mish`, alone and in the loop.

    wmpc bench mish-cpu --threads 1,2
    wmpc bench mish-cpu --quick --threads 1 --out /tmp/mish

Two parts, each timed in interleaved rounds (torch, wmpc, torch, wmpc, ...) so that a noisy,
shared machine slows both alike; each cell is the median over rounds.
- op: microseconds of one call at the shapes the online loop uses (encoder batch (1024, 256),
  a 2-member predictor step (2, 256, 256), a plan step (256, 256)), forward under no_grad and
  forward + backward; SiLU's time as a floor.
- loop: milliseconds of one world-model update and one plan of the online loop's own objects
  (`OnlineRun`, today's defaults, after two random episodes) on `--env`, with the model's Mish
  layers swapped for torch's (the reference) or left as they are.
Writes `mish_cpu.csv`, `mish_cpu.png` and RESULTS.md `## Mish on the CPU`.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.latency import time_interleaved
from benchmarks.provenance import ROOT, commit, machine, replace_section, today, write_csv
from world_model import layers
from world_model.mish import mish

FIELDS = ["part", "case", "threads", "torch", "wmpc", "silu", "speedup", "unit", "rounds",
          "commit", "machine"]
SHAPES = {"encoder (1024, 256)": (1024, 256), "predictor (2, 256, 256)": (2, 256, 256),
          "plan (256, 256)": (256, 256)}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="wmpc bench mish-cpu", description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    p.add_argument("--rounds", type=int, default=300,
                   help="interleaved rounds (one call each) per op cell; the loop part a tenth")
    p.add_argument("--env", default="dm_control/cheetah-run-v0", help="env of the loop part")
    p.add_argument("--quick", action="store_true", help="few rounds (smoke test)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    return p.parse_args(argv)


def _forward(fn: Callable, x: torch.Tensor) -> Callable[[], None]:
    def call() -> None:
        with torch.no_grad():
            fn(x)
    return call


def _backward(fn: Callable, x: torch.Tensor, grad: torch.Tensor) -> Callable[[], None]:
    x = x.clone().requires_grad_(True)

    def call() -> None:
        fn(x).backward(grad)
        x.grad = None
    return call


def _op_rows(threads: int, rounds: int) -> list[dict]:
    rows = []
    gen = torch.Generator().manual_seed(0)
    for label, shape in SHAPES.items():
        x, grad = torch.randn(shape, generator=gen) * 3.0, torch.randn(shape, generator=gen)
        for mode, wrap in (("forward", lambda fn, x=x: _forward(fn, x)),
                           ("forward + backward", lambda fn, x=x, g=grad: _backward(fn, x, g))):
            t = time_interleaved({"torch": wrap(F.mish), "wmpc": wrap(mish),
                                  "silu": wrap(F.silu)}, rounds, "cpu")
            rows.append(_row("op", f"{label}, {mode}", threads, t, 1e3, "us", rounds))
    return rows


def _loop_rows(env_id: str, threads: int, rounds: int) -> list[dict]:
    from agent.config import AgentConfig, RunConfig, online_train_config
    from agent.online import OnlineRun
    from benchmarks.threads import _fill

    runs, mine = {}, layers.ACTIVATIONS["mish"]
    with tempfile.TemporaryDirectory() as out:
        for name, activation in (("torch", (F.mish, nn.Mish)), ("wmpc", mine)):
            layers.ACTIVATIONS["mish"] = activation
            try:
                run = OnlineRun(Path(out) / name, RunConfig(env_id=env_id), AgentConfig(),
                                online_train_config())
            finally:
                layers.ACTIVATIONS["mish"] = mine
            _fill(run, 2)
            runs[name] = run
        obs, _ = runs["torch"].env.reset(seed=2)

        def update(run):
            cfg = run.train_cfg
            batch = run.buffer.sample(cfg.batch_size, cfg.horizon, run.trainer.generator)
            return lambda: run.trainer.update(batch)

        def plan(run):
            return lambda: run.agent.act(obs, explore=True)

        rows = []
        for label, make in (("world-model update", update), ("plan (mppi 256 x 4, H3)", plan)):
            t = time_interleaved({name: make(run) for name, run in runs.items()}, rounds, "cpu")
            rows.append(_row("loop", label, threads, t, 1.0, "ms", rounds))
        for run in runs.values():
            run.env.close()
    return rows


def _row(part: str, case: str, threads: int, t: dict, scale: float, unit: str,
         rounds: int) -> dict:
    return {"part": part, "case": case, "threads": threads, "unit": unit, "rounds": rounds,
            **{k: round(v * scale, 1) for k, v in t.items()},
            "speedup": round(t["torch"] / t["wmpc"], 2)}


def main(argv: list[str]) -> None:
    args = parse(argv)
    op_rounds = 5 if args.quick else args.rounds
    loop_rounds = 2 if args.quick else max(args.rounds // 10, 3)
    stamp = {"commit": commit(), "machine": machine("cpu")}
    before = torch.get_num_threads()
    rows = []
    try:
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            rows += _op_rows(threads, op_rounds)
            rows += _loop_rows(args.env, threads, loop_rounds)
    finally:
        torch.set_num_threads(before)
    rows = [{**r, **stamp} for r in rows]
    for r in rows:
        print(r)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "mish_cpu.csv"
    write_csv(path, rows, FIELDS)
    _plot(rows, path.with_suffix(".png"))
    _report(rows, argv, stamp, args.out)


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.2))
    labels = [f"{r['case']}, {r['threads']} thr" for r in rows]
    ax.barh(labels, [r["speedup"] for r in rows], color="tab:blue")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("time of torch's mish / time of wmpc's mish")
    ax.set_title("Mish on the CPU")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _report(rows: list[dict], argv: list[str], stamp: dict, out: Path) -> None:
    command = shlex.join(["wmpc", "bench", "mish-cpu", *argv])
    lines = [f"Written {today()} at commit {stamp['commit']}; machine: {stamp['machine']}. Each "
             "cell is the median of interleaved rounds in this one run (compare within a row, as "
             "ratios; the machine is shared and noisy).", "", f"Command: `{command}`", "",
             "| part | case | threads | torch | wmpc | silu | torch / wmpc | unit |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['part']} | {r['case']} | {r['threads']} | {r['torch']} | {r['wmpc']} | "
              f"{r.get('silu', '')} | {r['speedup']} | {r['unit']} |" for r in rows]
    lines += ["", "![mish_cpu](mish_cpu.png)"]
    replace_section(out / "RESULTS.md", "Mish on the CPU", "\n".join(lines))
