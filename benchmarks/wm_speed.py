"""World-model update speed: updates/s at batch 256, window 3, TD-MPC2's shape (latent, MLPs 512).

    PYTHONPATH=. python3 benchmarks/wm_speed.py --device cuda --out benchmarks/results/world_model
    PYTHONPATH=. python3 benchmarks/wm_speed.py --device cpu --quick --out /tmp/wm

Torch and numpy only. Each configuration (eager / CUDA graph; fp32, TF32 or bf16 matmuls) fails
soft: an error is printed and recorded, the others still run. Warm-up (model build, first updates,
graph capture) is timed apart from the steady state, and CUDA's own start-up apart from both. On
CUDA a check compares the graph path's losses with eager updates from the same start.
Anchor (H100, TD-MPC2's own update): 24/s eager, 86/s compiled.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from benchmarks.provenance import commit, machine
from world_model import ModelConfig, WorldModel
from world_model.data import ReplayBuffer
from world_model.model import count_parameters
from world_model.train import TrainConfig, Trainer

OBS_DIM, ACT_DIM = 24, 6
FIELDS = ["config", "device", "cuda_graph", "bf16", "tf32", "batch", "horizon", "latent", "hidden",
          "ensemble", "params", "warmup_s", "updates_per_s", "updates_per_s_sync",
          "updates_per_s_sampled", "error"]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="wm_speed", description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/world_model"))
    p.add_argument("--quick", action="store_true", help="tiny shape and few updates (smoke test)")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per measurement")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", action="store_true",
                   help="also print the kernels of one eager and one graph-replayed update")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for torch (1 is fastest for these small matmuls, and the only"
                        " sane choice on a shared machine)")
    return p.parse_args(argv)


def make_batch(gen: torch.Generator, batch: int, horizon: int, device: str) -> dict:
    return {"obs": torch.randn(batch, horizon + 1, OBS_DIM, generator=gen).to(device),
            "act": (torch.rand(batch, horizon, ACT_DIM, generator=gen) * 2 - 1).to(device),
            "rew": torch.rand(batch, horizon, generator=gen).to(device),
            "term": torch.zeros(batch, horizon, dtype=torch.bool).to(device)}


def make_buffer(seed: int) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(OBS_DIM, ACT_DIM)
    for _ in range(20):
        buf.add_episode(rng.normal(size=(501, OBS_DIM)), rng.uniform(-1, 1, (500, ACT_DIM)),
                        rng.uniform(size=500), np.zeros(500, bool), np.r_[np.zeros(499), 1])
    return buf


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def rate(step, device: str, seconds: float, min_steps: int) -> float:
    """Updates per second of `step()` over about `seconds` (at least `min_steps` updates)."""
    sync(device)
    start, n = time.perf_counter(), 0
    while n < min_steps or time.perf_counter() - start < seconds:
        step()
        n += 1
    sync(device)
    return n / (time.perf_counter() - start)


def measure(name: str, args: argparse.Namespace, model_cfg: ModelConfig, train_cfg: TrainConfig,
            buffer: ReplayBuffer) -> dict:
    """One configuration's warm-up (build + first updates + capture) and steady rates."""
    device = args.device
    cuda = device.startswith("cuda")
    row = {"config": name, "device": device, "cuda_graph": train_cfg.cuda_graph and cuda,
           "bf16": train_cfg.bf16 and cuda, "tf32": train_cfg.tf32 and cuda,
           "batch": train_cfg.batch_size, "horizon": train_cfg.horizon,
           "latent": model_cfg.latent_dim, "hidden": model_cfg.hidden_dim,
           "ensemble": model_cfg.ensemble_size, "error": ""}
    try:
        gen = torch.Generator().manual_seed(args.seed)
        batch = make_batch(gen, train_cfg.batch_size, train_cfg.horizon, device)
        start = time.perf_counter()
        model = WorldModel(model_cfg, device=device, seed=args.seed)
        trainer = Trainer(model, train_cfg, device=device, seed=args.seed)
        for _ in range(train_cfg.graph_warmup + 2):
            trainer.update_async(batch)
        sync(device)
        row["warmup_s"] = round(time.perf_counter() - start, 3)
        row["params"] = count_parameters(model)
        min_steps = 3 if args.quick else 20
        row["updates_per_s"] = round(rate(lambda: trainer.update_async(batch), device,
                                          args.seconds, min_steps), 2)
        row["updates_per_s_sync"] = round(rate(lambda: trainer.update(batch), device,
                                               args.seconds, min_steps), 2)

        def sampled() -> None:
            cpu = buffer.sample(train_cfg.batch_size, train_cfg.horizon, trainer.generator)
            trainer.update_async({k: v.pin_memory() if device.startswith("cuda") else v
                                  for k, v in cpu.items()})

        row["updates_per_s_sampled"] = round(rate(sampled, device, args.seconds, min_steps), 2)
        stats = trainer.update(batch)
        if not np.isfinite(stats["total"]):
            raise FloatingPointError(f"non-finite loss {stats['total']}")
    except Exception as err:  # noqa: BLE001 - fail soft per configuration, keep the others
        row["error"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
        traceback.print_exc()
    print(" ".join(f"{k}={row.get(k, '')}" for k in FIELDS), flush=True)
    return row


def graph_check(args: argparse.Namespace, model_cfg: ModelConfig, train_cfg: TrainConfig) -> str:
    """Largest relative difference of the losses between graph replay and eager updates."""
    try:
        gen = torch.Generator().manual_seed(args.seed + 1)
        batches = [make_batch(gen, train_cfg.batch_size, train_cfg.horizon, args.device)
                   for _ in range(train_cfg.graph_warmup + 4)]
        runs = []
        for graphed in (False, True):
            cfg = TrainConfig(**{**train_cfg.to_dict(), "cuda_graph": graphed})
            trainer = Trainer(WorldModel(model_cfg, device=args.device, seed=args.seed), cfg,
                              device=args.device, seed=args.seed)
            runs.append(np.array([[trainer.update(b)[k] for k in ("total", "prediction",
                                                                   "reward", "value")]
                                  for b in batches]))
        worst = float(np.max(np.abs(runs[0] - runs[1]) / (np.abs(runs[0]) + 1e-6)))
        text = f"graph vs eager losses over {len(batches)} updates: max rel diff {worst:.2e}"
    except Exception as err:  # noqa: BLE001 - a failed check is reported, not fatal
        text = f"graph check failed: {type(err).__name__}: {err}"
        traceback.print_exc()
    print(text, flush=True)
    return text


def profile(args: argparse.Namespace, model_cfg: ModelConfig, train_cfg: TrainConfig) -> None:
    """Print kernel count and device time of one update, eager and replayed (CUDA only)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for graphed in (False, True):
        try:
            cfg = TrainConfig(**{**train_cfg.to_dict(), "cuda_graph": graphed})
            trainer = Trainer(WorldModel(model_cfg, device=args.device, seed=args.seed), cfg,
                              device=args.device, seed=args.seed)
            batch = make_batch(torch.Generator().manual_seed(0), cfg.batch_size, cfg.horizon,
                               args.device)
            for _ in range(cfg.graph_warmup + 2):
                trainer.update_async(batch)
            sync(args.device)
            with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for _ in range(5):
                    trainer.update_async(batch)
                sync(args.device)
            events = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
            busy = sum(e.device_time for e in events) / 5e3
            print(f"profile graph={graphed}: {len(events) / 5:.0f} kernels/update, "
                  f"{busy:.3f} ms device time/update", flush=True)
            if not graphed:
                print(prof.key_averages().table(sort_by="device_time_total", row_limit=15))
        except Exception:  # noqa: BLE001 - profiling is optional
            traceback.print_exc()


def plot(rows: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    ok = [r for r in rows if not r["error"]]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = [r["config"] for r in ok]
    ax.barh(names, [r["updates_per_s"] for r in ok], color="tab:blue", label="device batch")
    ax.barh(names, [r["updates_per_s_sampled"] for r in ok], color="tab:orange", height=0.4,
            label="sampled from the replay buffer")
    ax.set_xlabel("updates / s")
    ax.set_title(f"world-model update, batch {ok[0]['batch'] if ok else '?'}, "
                 f"window {ok[0]['horizon'] if ok else '?'} ({rows[0]['device']})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("CUDA is not available here; use --device cpu", file=sys.stderr)
        sys.exit(2)
    if args.quick:
        model_cfg = ModelConfig(obs_dim=OBS_DIM, act_dim=ACT_DIM, latent_dim=32, hidden_dim=64)
        base = TrainConfig(batch_size=32, horizon=3)
        args.seconds = min(args.seconds, 0.2)
    else:
        model_cfg = ModelConfig.tdmpc2_size(OBS_DIM, ACT_DIM)
        base = TrainConfig(batch_size=256, horizon=3)
    print(f"wm_speed on {args.device}: {machine(args.device)}; commit {commit()}", flush=True)
    configs = [("eager fp32", {"cuda_graph": False, "tf32": False})]
    if cuda:
        configs += [("eager tf32", {"cuda_graph": False}),
                    ("cuda graph fp32", {"tf32": False}),
                    ("cuda graph tf32 (default)", {}),
                    ("cuda graph bf16", {"bf16": True, "tf32": False})]
    if cuda:
        start = time.perf_counter()
        torch.ones(64, 64, device=args.device).matmul(torch.ones(64, 64, device=args.device))
        sync(args.device)
        print(f"CUDA context and cuBLAS start-up: {time.perf_counter() - start:.2f} s", flush=True)
    buffer = make_buffer(args.seed)
    rows = [measure(name, args, model_cfg, TrainConfig(**{**base.to_dict(), **options}), buffer)
            for name, options in configs]
    check = graph_check(args, model_cfg, base) if cuda else "no CUDA graph on this device"
    if args.profile and cuda:
        profile(args, model_cfg, base)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "cuda" if cuda else "cpu"
    csv_path = args.out / f"wm_speed_{tag}.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.out / f"wm_speed_{tag}.png")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = (f"commit {commit()}, {stamp}, {machine(args.device)}, seed {args.seed}; "
               f"command: PYTHONPATH=. python3 benchmarks/wm_speed.py "
               f"{' '.join(sys.argv[1:] if argv is None else argv)}; {check}")
    (args.out / f"wm_speed_{tag}.txt").write_text(summary + "\n")
    print(summary)
    print(f"wrote {csv_path}")


if __name__ == "__main__":
    main()
