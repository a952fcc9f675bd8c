"""GPU planner latency at TD-MPC2's shape: eager vs CUDA graph, fp32 / tf32 / bf16 (torch only).

    PYTHONPATH=. python3 benchmarks/gpu_planners.py --out DIR          # on a CUDA machine, < 3 min
    PYTHONPATH=. python3 benchmarks/gpu_planners.py --device cpu --quick --out /tmp/x   # smoke

Model: `benchmarks.tdmpc2_shape` (latent 512, MLP 512 LayerNorm+Mish, 5 Q heads, 101 bins),
512 samples x horizon 3 x 6 iterations. Each row: the first call (warm-up, graph capture
included) and the median of many more plan calls, each returning the first action to the host.
"reference" is a plain eager TD-MPC2-style MPPI on the plain model (loops over the Q heads).
Anchor (TD-MPC2's own code, H100): 29.2 ms eager, 2.79 ms compiled; target <= 0.5 ms.
Every configuration fails soft: its error is printed and written in the row.
Imports only torch and this repository's torch-only files (planners/, benchmarks/*shape, latency).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks.latency import Case, run_case
from benchmarks.tdmpc2_shape import ShapeConfig

COLUMNS = ["case", "planner", "mode", "dtype", "batch", "samples", "horizon", "iterations",
           "latent", "hidden", "warmup_s", "median_ms", "p10_ms", "p90_ms", "per_problem_ms",
           "max_diff_vs_eager", "device_name", "torch", "error"]


def cases(quick: bool) -> list[Case]:
    """The configurations, TD-MPC2's shape unless `quick` (tiny sizes for a CPU smoke test)."""
    base = Case(name="", planner="mppi")
    if quick:
        base = replace(base, samples=32, iterations=2, shape=ShapeConfig(
            latent_dim=16, hidden_dim=16, action_dim=2, num_q=2, num_bins=11))
    rows = [
        ("reference eager fp32", dict(planner="reference")),
        ("mppi eager fp32", dict(mode="eager")),
        ("mppi graph fp32", dict(mode="graph")),
        ("mppi graph tf32", dict(mode="graph", dtype="tf32")),
        ("mppi graph bf16", dict(mode="graph", dtype="bf16")),
        ("cem graph fp32", dict(planner="cem", mode="graph")),
        ("icem graph fp32", dict(planner="icem", mode="graph")),
        ("gradient graph fp32", dict(planner="gradient", mode="graph")),
        ("cem-gradient graph fp32", dict(planner="cem-gradient", mode="graph")),
        ("mppi graph fp32 B16", dict(mode="graph", batch=16)),
        ("mppi graph bf16 B16", dict(mode="graph", dtype="bf16", batch=16)),
    ]
    return [replace(base, name=name, **changes) for name, changes in rows]


def write_csv(rows: list[dict], path: Path) -> None:
    """Atomically (temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="gpu_planners", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default="benchmarks/results/planners", help="folder for the CSV")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per graph case")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no CUDA device")
    repeats = args.repeats or (3 if args.quick else 300)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    out = Path(args.out) / "planners_gpu.csv"
    print(f"device {device} ({name}), torch {torch.__version__}, cuda {torch.version.cuda}")
    if device.type == "cuda":
        torch.ones(64, 64, device=device) @ torch.ones(64, 64, device=device)  # context, cuBLAS
        torch.cuda.synchronize(device)
    header = f"{'case':26} {'warmup_s':>9} {'median_ms':>10} {'p10_ms':>8} {'p90_ms':>8}"
    header += f" {'diff':>8}"
    print(header, flush=True)
    rows, start = [], time.perf_counter()
    for case in cases(args.quick):
        row = {"case": case.name, "planner": case.planner, "mode": case.mode,
               "dtype": case.dtype, "batch": case.batch, "samples": case.samples,
               "horizon": case.horizon, "iterations": case.iterations,
               "latent": case.shape.latent_dim, "hidden": case.shape.hidden_dim,
               "device_name": name, "torch": torch.__version__, "error": ""}
        eager = case.mode == "eager" or case.planner == "reference"
        try:
            row.update(run_case(case, device, max(3, repeats // 6) if eager else repeats))
            row["per_problem_ms"] = round(row["median_ms"] / max(case.batch, 1), 4)
            print(f"{case.name:26} {row['warmup_s']:9.3f} {row['median_ms']:10.3f} "
                  f"{row['p10_ms']:8.3f} {row['p90_ms']:8.3f} {row['max_diff_vs_eager']:>8}",
                  flush=True)
        except Exception as err:  # fail soft: one configuration must not sink the run
            row["error"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
            print(f"{case.name:26} FAILED {row['error']}", flush=True)
        rows.append(row)
        write_csv(rows, out)
    print(f"total {time.perf_counter() - start:.1f} s; wrote {out}")
    return rows


if __name__ == "__main__":
    main()
