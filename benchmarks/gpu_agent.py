"""The agent's own plan on a GPU: WorldModel + cost module + MPPI, eager vs CUDA graph (torch only).

    PYTHONPATH=. python3 benchmarks/gpu_agent.py --out DIR              # CUDA machine, < 1 min
    PYTHONPATH=. python3 benchmarks/gpu_agent.py --device cpu --quick --out /tmp/x   # smoke

Unlike `gpu_planners.py` (a stand-in model of TD-MPC2's shape), this times the agent's own model,
energy (task cost + critic, `agent.cost`) and MPPI through `planner.graphed` (what `MPCAgent`'s
graph mode replays), at two sizes: TD-MPC2's (latent 512, MLPs 512, K 5 predictor members, MPPI
512 samples x H3 x 6 iterations) and wmpc's own defaults (`ModelConfig`, `AgentConfig`,
`RunConfig.ensemble_size`). Each timed call returns the first action to the host. Every
configuration fails soft.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from agent.config import AgentConfig, RunConfig
from agent.cost import CriticCost, Energy, LatentImagination, TaskCost
from planners import MPPI
from world_model import ModelConfig, WorldModel

COLUMNS = ["size", "case", "members", "mode", "tf32", "warmup_s", "median_ms", "p10_ms", "p90_ms",
           "device_name", "torch", "error"]


def _time_case(model, members: str, graph: bool, device, repeats: int, shape) -> dict:
    samples, horizon, iterations, act_dim = shape
    z0 = torch.zeros(model.cfg.latent_dim, device=device)
    energy = Energy([TaskCost(0.99), CriticCost(0.99)])
    cost_fn = energy.bind(LatentImagination(model, z0, members))
    planner = MPPI(num_samples=samples, iterations=iterations, device=device, seed=0)
    init = torch.zeros(horizon, act_dim, device=device)
    start = time.perf_counter()
    plan = planner.graphed(cost_fn, init) if graph else (lambda m: planner.plan(cost_fn, m))
    obs = torch.randn(model.cfg.obs_dim, device=device)
    with torch.no_grad():
        z0.copy_(model.encode(obs))
        plan(init).actions[0].cpu()
    warmup = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        with torch.no_grad():
            z0.copy_(model.encode(obs))
            plan(init).actions[0].cpu()
        times.append(1e3 * (time.perf_counter() - tick))
    q = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
    return {"warmup_s": round(warmup, 3), "median_ms": round(statistics.median(times), 4),
            "p10_ms": round(q[0], 4), "p90_ms": round(q[-1], 4)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="gpu_agent", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default="benchmarks/results/planners")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    obs_dim, act_dim = 24, 6
    if args.quick:
        sizes = {"quick": (ModelConfig(obs_dim=obs_dim, act_dim=act_dim, latent_dim=16,
                                       hidden_dim=16), (32, 3, 2, act_dim))}
        repeats = 3
    else:
        defaults = AgentConfig()
        sizes = {"tdmpc2": (ModelConfig.tdmpc2_size(obs_dim, act_dim), (512, 3, 6, act_dim)),
                 "wmpc-default": (ModelConfig(obs_dim=obs_dim, act_dim=act_dim,
                                              ensemble_size=RunConfig().ensemble_size),
                                  (defaults.num_samples, defaults.horizon, defaults.iterations,
                                   act_dim))}
        repeats = 200
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    rows = []
    for size, (cfg, shape) in sizes.items():
        rows += _time_size(size, WorldModel(cfg, device=device, seed=0).eval(), shape, device,
                           repeats, name)
    out = Path(args.out) / ("agent_gpu_quick.csv" if args.quick else "agent_gpu.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}")
    return rows


def _time_size(size: str, model, shape, device, repeats: int, name: str) -> list[dict]:
    rows = []
    for members in ("split", "mean"):
        for graph, tf32 in ((False, False), (True, False), (True, True)):
            case = f"{members} {'graph' if graph else 'eager'} {'tf32' if tf32 else 'fp32'}"
            row = {"size": size, "case": case, "members": members,
                   "mode": "graph" if graph else "eager", "tf32": tf32,
                   "device_name": name, "torch": torch.__version__, "error": ""}
            previous = torch.backends.cuda.matmul.allow_tf32
            try:
                torch.backends.cuda.matmul.allow_tf32 = tf32
                row.update(_time_case(model, members, graph, device,
                                      repeats if graph else max(3, repeats // 10), shape))
                print(f"{size:12} {case:22} warmup {row['warmup_s']:7.3f}s  "
                      f"median {row['median_ms']:8.3f} ms  p10 {row['p10_ms']:8.3f}  "
                      f"p90 {row['p90_ms']:8.3f}", flush=True)
            except Exception as err:  # fail soft: one configuration must not sink the run
                row["error"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
                print(f"{size:12} {case:22} FAILED {row['error']}", flush=True)
            finally:
                torch.backends.cuda.matmul.allow_tf32 = previous
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
