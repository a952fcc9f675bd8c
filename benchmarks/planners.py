"""`wmpc bench planners`: planner quality against budget, and CPU latency against a plain reference.

1. Quality: the best cost each planner reaches against the number of cost evaluations (a gradient
   step counts as 3: forward + backward), on analytic costs with known minima and on the true
   simulator (cartpole-swingup, HalfCheetah-v5 from a reset state; gradient planners need a
   differentiable cost and skip it). Several seeds; CSV + PNG.
2. Latency: ms per plan on the TD-MPC2-shaped model (`benchmarks.tdmpc2_shape`) across samples,
   horizon, iterations and width, as a ratio to a plain eager TD-MPC2-style MPPI measured in the
   same run. CUDA graph timings come from `benchmarks/gpu_planners.py` on a GPU.

Writes planners_quality.csv/.png, planners_latency_cpu.csv/.png and the `## Planners` section
of README.md in --out (default: the suite's folder, benchmarks/results/planners).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from agent.provenance import commit, machine
from benchmarks.latency import Case, make_call, time_interleaved
from benchmarks.planner_problems import ANALYTIC, ORACLE, make_problem
from benchmarks.tdmpc2_shape import ShapeConfig
from planners import CEM, ICEM, MPPI, CEMGradient, GradientPlanner, RandomShooting

PLANNER_NAMES = ("random", "cem", "icem", "mppi", "gradient", "cem-gradient")
GRADIENT_PLANNERS = ("gradient", "cem-gradient")
OWN_FILES = [f"benchmarks/{name}.py" for name in (
    "planners", "planner_problems", "latency", "tdmpc2_shape", "reference_mppi", "gpu_planners")]
"""The benchmark's own code, checked for uncommitted changes when recording the commit."""


def planner_for(name: str, budget: int, population: int, seed: int, device):
    """A planner spending about `budget` cost-equivalent evaluations on one problem."""
    n, k = population, max(2, population // 8)
    common = {"seed": seed, "device": device}
    if name == "random":
        return RandomShooting(num_samples=n, iterations=max(1, budget // n), **common)
    if name in ("cem", "mppi"):
        cls = CEM if name == "cem" else MPPI
        return cls(num_samples=n, iterations=max(1, budget // n), num_elites=k, **common)
    if name == "icem":
        iterations = 1
        while sum(ICEM(num_samples=n, iterations=iterations + 1, num_elites=k)
                  .population_sizes()) <= budget:
            iterations += 1
        return ICEM(num_samples=n, iterations=iterations, num_elites=k, **common)
    if name == "gradient":
        restarts = 8
        steps = max(1, budget // (3 * restarts) - 1)
        return GradientPlanner(num_samples=restarts, iterations=steps, **common)
    if name == "cem-gradient":
        steps = 2
        per_iteration = n + k * (3 * steps + 1)
        return CEMGradient(num_samples=n, iterations=max(1, budget // per_iteration),
                           num_elites=k, grad_steps=steps, **common)
    raise ValueError(f"unknown planner {name!r}")



def run_quality(problems: list[str], seeds: list[int], budget: int, population: int,
                device) -> list[dict]:
    """Rows (problem, planner, seed, evaluations, cost, regret) along every run's curve."""
    rows = []
    for problem_name in problems:
        for seed in seeds:
            problem = make_problem(problem_name, seed, device)
            try:
                for name in PLANNER_NAMES:
                    if name in GRADIENT_PLANNERS and not problem.differentiable:
                        continue
                    planner = planner_for(name, budget, population, seed, device)
                    init = torch.zeros(problem.horizon, problem.action_dim, device=device)
                    result = planner.plan(problem.cost_fn, init)
                    info = result.info
                    pairs = zip(info["evaluations_history"], info["gradient_evaluations_history"],
                                strict=True)
                    work = [f + 2 * b for f, b in pairs]
                    for evaluations, cost in zip(work, info["cost_history"].tolist(), strict=True):
                        regret = "" if problem.optimum is None else cost - problem.optimum
                        rows.append({"problem": problem_name, "planner": name, "seed": seed,
                                     "evaluations": evaluations, "cost": cost, "regret": regret})
                    print(f"  {problem_name:9} seed {seed} {name:12} cost {result.cost:10.4f} "
                          f"after {work[-1]} evaluations", flush=True)
            finally:
                problem.close()
    return rows


LATENCY_PLANNERS = ("cem", "icem", "gradient", "cem-gradient")


def latency_configs(quick: bool) -> list[tuple[str, Case, tuple[str, ...]]]:
    """(label, case, planners): the reference and MPPI on every configuration, the other
    planners too at TD-MPC2's shape."""
    if quick:
        tiny = ShapeConfig(latent_dim=16, hidden_dim=16, action_dim=2, num_q=2, num_bins=11)
        return [("tiny 32x3x2 w16", Case(name="", planner="", samples=32, iterations=2,
                                         shape=tiny), ("reference", "mppi") + LATENCY_PLANNERS)]
    tdmpc2 = Case(name="", planner="")
    w256 = replace(tdmpc2, shape=ShapeConfig(latent_dim=256, hidden_dim=256))
    pair = ("reference", "mppi")
    return [
        ("TD-MPC2 512x3x6 w512", tdmpc2, pair + LATENCY_PLANNERS),
        ("512x3x6 w128", replace(tdmpc2, shape=ShapeConfig(latent_dim=128, hidden_dim=128)), pair),
        ("512x3x6 w256", w256, pair),
        ("128x3x6 w256", replace(w256, samples=128), pair),
        ("1024x3x6 w256", replace(w256, samples=1024), pair),
        ("512x10x6 w256", replace(w256, horizon=10), pair),
        ("512x3x12 w256", replace(w256, iterations=12), pair),
    ]


def run_latency(quick: bool, repeats: int, device) -> list[dict]:
    """Rows (config, planner, sizes, median_ms, ratio_to_reference); per configuration, all
    planners are timed in alternating rounds (`time_interleaved`)."""
    rows = []
    for label, base, names in latency_configs(quick):
        calls = {n: make_call(replace(base, name=f"{label} {n}", planner=n), device)[0]
                 for n in names}
        medians = time_interleaved(calls, repeats, device)
        for name in names:
            ratio = round(medians[name] / medians["reference"], 3)
            rows.append({"config": label, "planner": name, "samples": base.samples,
                         "horizon": base.horizon, "iterations": base.iterations,
                         "width": base.shape.hidden_dim, "latent": base.shape.latent_dim,
                         "median_ms": medians[name], "ratio_to_reference": ratio})
            print(f"  {label:22} {name:12} {medians[name]:9.2f} ms  x{ratio:.3f} of reference",
                  flush=True)
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    """Atomic write: a temp file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def _save_figure(fig, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)


def _curves(rows: list[dict], problem: str, planner: str) -> tuple[list, list, list, list]:
    """Evaluations and the median / min / max over seeds of the value plotted."""
    by_seed: dict[int, list[tuple[int, float]]] = {}
    for r in rows:
        if r["problem"] == problem and r["planner"] == planner:
            value = r["cost"] if r["regret"] == "" else max(r["regret"], 1e-8)
            by_seed.setdefault(r["seed"], []).append((r["evaluations"], value))
    series = list(by_seed.values())
    length = min(len(s) for s in series)
    xs = [series[0][i][0] for i in range(length)]
    columns = [[s[i][1] for s in series] for i in range(length)]
    return xs, [statistics.median(c) for c in columns], [min(c) for c in columns], [
        max(c) for c in columns]


def plot_quality(rows: list[dict], problems: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, len(problems), figsize=(4.4 * len(problems), 3.8), squeeze=False,
                             layout="constrained")
    for ax, problem in zip(axes[0], problems, strict=True):
        for name in PLANNER_NAMES:
            if not any(r["problem"] == problem and r["planner"] == name for r in rows):
                continue
            xs, mid, low, high = _curves(rows, problem, name)
            (line,) = ax.plot(xs, mid, label=name)
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.15)
        analytic = problem in ANALYTIC
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        if analytic:
            ax.set_yscale("log")
        ax.set_title(problem + ("" if analytic else f" (oracle, {ORACLE[problem]})"), fontsize=9)
        ax.set_xlabel("cost evaluations (gradient step = 3)")
        ax.set_ylabel("regret (cost - minimum)" if analytic else "cost = -sum of rewards")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("planner quality against budget: median over seeds, band = min..max", fontsize=10)
    _save_figure(fig, path)
    plt.close(fig)


def plot_latency(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = list(dict.fromkeys(r["config"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.6 * len(configs) + 3, 3.8), layout="constrained")
    for offset, name in ((-0.2, "reference"), (0.2, "mppi")):
        values = [next(r["median_ms"] for r in rows if r["config"] == c and r["planner"] == name)
                  for c in configs]
        ax.bar([i + offset for i in range(len(configs))], values, width=0.4,
               label="plain eager MPPI (reference)" if name == "reference" else "planners.MPPI")
    ax.set_xticks(range(len(configs)), configs, rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms per plan (median, this shared CPU)")
    ax.set_title("CPU latency: samples x horizon x iterations, width w", fontsize=10)
    ax.legend(fontsize=8)
    _save_figure(fig, path)
    plt.close(fig)


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _quality_table(rows: list[dict]) -> list[str]:
    final: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for r in rows:  # the last row of each run is its final budget
        value = float(r["cost"] if r["regret"] == "" else r["regret"])
        final.setdefault((r["problem"], r["planner"]), {})[r["seed"]] = (value,
                                                                        float(r["evaluations"]))
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    lines = ["| problem (value) | " + " | ".join(PLANNER_NAMES) + " |",
             "|---|" + "---|" * len(PLANNER_NAMES)]
    for problem in problems:
        kind = "regret" if problem in ANALYTIC else "cost = -return"
        cells = []
        for name in PLANNER_NAMES:
            runs = list(final.get((problem, name), {}).values())
            if not runs:
                cells.append("n/a")
                continue
            values = [v for v, _ in runs]
            spread = statistics.pstdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3g} ± {spread:.2g} "
                         f"({int(statistics.mean(e for _, e in runs))})")
        lines.append(f"| {problem} ({kind}) | " + " | ".join(cells) + " |")
    return lines


def _latency_table(rows: list[dict]) -> list[str]:
    lines = ["| configuration (samples x H x iterations, width) | planner | ms / reference ms |",
             "|---|---|---|"]
    lines += [f"| {r['config']} | {r['planner']} | {float(r['ratio_to_reference']):.3f} |"
              for r in rows if r["planner"] != "reference"]
    return lines


def _gpu_table(rows: list[dict]) -> list[str]:
    lines = [f"Card: {rows[0]['device_name']}, torch {rows[0]['torch']}.", "",
             "| case | warm-up s | median ms / plan | per problem ms | max diff vs eager | error |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['warmup_s']} | {r['median_ms']} | "
                     f"{r['per_problem_ms']} | {r['max_diff_vs_eager']} | {r['error']} |")
    return lines


def _gpu_verdict(rows: list[dict]) -> str:
    """One sentence: the fastest graphed MPPI at TD-MPC2's shape against the 0.5 ms target."""
    mppi = [r for r in rows if r["case"].startswith("mppi graph") and "B" not in r["case"]
            and not r["error"]]
    if not mppi:
        return "No graphed MPPI case succeeded."
    best = min(mppi, key=lambda r: float(r["median_ms"]))
    eager = next((r for r in rows if r["case"] == "reference eager fp32"), None)
    ms = float(best["median_ms"])
    text = (f"Fastest graphed MPPI: {best['case']}, {ms:.2f} ms per plan; the 0.5 ms target is "
            f"{'met' if ms <= 0.5 else f'missed by {ms / 0.5:.1f}x'}")
    if eager is not None and not eager["error"]:
        text += f"; {float(eager['median_ms']) / ms:.1f}x faster than the eager reference"
    return text + "."


def _agent_gpu_table(rows: list[dict]) -> list[str]:
    lines = ["| size | case | warm-up s | median ms / plan | p10 ms | p90 ms | error |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['size']} | {r['case']} | {r['warmup_s']} | {r['median_ms']} | {r['p10_ms']} "
              f"| {r['p90_ms']} | {r['error']} |" for r in rows]
    return lines


def render_section(out: Path, meta: dict) -> str:
    """The `## Planners` section of README.md from the CSVs in `out`."""
    lines = ["## Planners", "",
             f"Commit {meta['commit']}, {meta['date']}; machine: {meta['machine']}; "
             f"seeds {meta['seeds']}.", "", f"Command: `{meta['command']}`", ""]
    quality = out / "planners_quality.csv"
    if quality.exists():
        lines += ["### Quality against budget", "",
                  "Final value after the budget, mean ± std over seeds (mean evaluations used; a "
                  "gradient step counts 3). Analytic problems (H 10, A 4): regret above the known "
                  "minimum. Oracle problems (H 30 from a reset state, true simulator): the cost "
                  "itself; gradient planners need a differentiable cost: n/a.", ""]
        lines += _quality_table(_read_csv(quality))
        lines += ["", "![quality](planners_quality.png)", ""]
    latency = out / "planners_latency_cpu.csv"
    if latency.exists():
        lines += ["### Latency on this CPU", "",
                  "Median time per plan divided by the plain eager TD-MPC2-style MPPI "
                  "(`benchmarks/reference_mppi.py` on the plain model, loops over the Q heads) "
                  "measured in the same run; shared machine, so ratios only (ms in the CSV). "
                  "Model: `benchmarks/tdmpc2_shape.py`.", ""]
        lines += _latency_table(_read_csv(latency))
        lines += ["", "![latency](planners_latency_cpu.png)", ""]
    gpu = out / "planners_gpu.csv"
    lines += ["### CUDA: eager vs CUDA graph", ""]
    if gpu.exists():
        lines += ["From `PYTHONPATH=. python3 benchmarks/gpu_planners.py --out "
                  "benchmarks/results/planners`; TD-MPC2's shape, 512 samples x H 3 x 6 "
                  "iterations. Anchor (TD-MPC2's code, H100): 29.2 ms eager, 2.79 ms compiled; "
                  "target <= 0.5 ms.", ""]
        rows = _read_csv(gpu)
        lines += _gpu_table(rows)
        lines += ["", _gpu_verdict(rows)]
        agent = out / "agent_gpu.csv"
        if agent.exists():
            lines += ["", "The agent's own plan (`WorldModel` + `agent.cost` task cost and "
                      "critic + MPPI) from `PYTHONPATH=. python3 benchmarks/gpu_agent.py --out "
                      "benchmarks/results/planners`: `split` sends each sample through one "
                      "predictor member, `mean` averages all members.", ""]
            lines += _agent_gpu_table(_read_csv(agent))
    else:
        lines += ["Not measured yet (no GPU here). Ready: `PYTHONPATH=. python3 "
                  "benchmarks/gpu_planners.py --out benchmarks/results/planners` (tested on CPU "
                  "with `--device cpu --quick`), then `wmpc bench planners --report-only`."]
    return "\n".join(lines).rstrip() + "\n"


def update_results(path: Path, section: str) -> None:
    """Replace (or append) the `## Planners` section of README.md, leaving the rest as it is."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find("\n## Planners")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[: start + 1] + section + ("" if end < 0 else "\n" + text[end + 1:])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="wmpc bench planners", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (quick: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument("--out", default="benchmarks/results/planners", help="results folder")
    parser.add_argument("--parts", default="quality,latency", help="quality,latency")
    parser.add_argument("--problems", default=None,
                        help=f"comma list of {','.join(ANALYTIC + tuple(ORACLE))}")
    parser.add_argument("--budget", type=int, default=2048, help="cost evaluations per run")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: steadier timings on a shared machine)")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite the README.md section from the CSVs in --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "planners_run.csv"
    if args.report_only:
        if not meta_path.exists():
            parser.error(f"--report-only needs a previous run's {meta_path}")
        update_results(out / "README.md", render_section(out, _read_csv(meta_path)[0]))
        print(f"updated {out / 'README.md'}")
        return
    parts = set(args.parts.split(","))
    if not parts <= {"quality", "latency"}:
        parser.error(f"--parts takes quality and/or latency, got {args.parts!r}")
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    seeds = list(range(1 if args.quick else args.seeds))
    problems = (args.problems.split(",") if args.problems
                else ["quadratic", "valley", "cartpole"] if args.quick
                else list(ANALYTIC) + list(ORACLE))
    budget, population = (128, 16) if args.quick else (args.budget, 128)
    start = time.perf_counter()
    if "quality" in parts:
        print(f"quality against budget ({budget} evaluations, seeds {seeds})", flush=True)
        rows = run_quality(problems, seeds, budget, population, device)
        write_csv(rows, out / "planners_quality.csv")
        plot_quality(rows, problems, out / "planners_quality.png")
    if "latency" in parts:
        print("latency on", device, flush=True)
        rows = run_latency(args.quick, 2 if args.quick else 7, device)
        write_csv(rows, out / f"planners_latency_{device.type}.csv")
        plot_latency(rows, out / f"planners_latency_{device.type}.png")
    meta = {"commit": commit(("planners", *OWN_FILES)), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "machine": f"{machine()}; torch threads {args.threads}",
            "seeds": " ".join(map(str, seeds)),
            "command": " ".join(["wmpc bench planners", *argv])}
    write_csv([meta], meta_path)
    update_results(out / "README.md", render_section(out, meta))
    print(f"done in {time.perf_counter() - start:.0f} s; results in {out}")
