"""World-model update speed: updates/s at batch 256, window 3, TD-MPC2's shape (latent, MLPs 512).

    PYTHONPATH=. python3 benchmarks/wm_speed.py --device cuda --out benchmarks/results/world_model
    PYTHONPATH=. python3 benchmarks/wm_speed.py --device cpu --quick --out /tmp/wm
    wmpc bench wm-speed --device cpu --ranks 2     # also data-parallel, 2 torchrun processes

Torch and numpy only. Each configuration (eager / CUDA graph; fp32, TF32 or bf16 matmuls) fails
soft: an error is printed and recorded, the others still run. Warm-up (model build, first updates,
graph capture) is timed apart from the steady state, and CUDA's own start-up apart from both. On
CUDA a check compares the graph path's losses with eager updates from the same start.
Anchor (H100, TD-MPC2's own update): 24/s eager, 86/s compiled.

With `--ranks N`, the update as `wmpc train` runs it under torchrun (DDP, eager: gloo on the CPU,
nccl on CUDA, each rank with the whole batch) is timed on N processes started by
`torch.distributed.run`, beside one uncompiled eager process: scaling efficiency = samples/s of N
ranks / (N x samples/s of one). The summary adds the bytes each update all-reduces.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from agent.provenance import commit, machine
from world_model import ModelConfig, WorldModel, distributed
from world_model.data import ReplayBuffer
from world_model.model import count_parameters
from world_model.train import TrainConfig, Trainer

OBS_DIM, ACT_DIM = 24, 6
FIELDS = ["config", "device", "cuda_graph", "bf16", "tf32", "batch", "horizon", "latent", "hidden",
          "ensemble", "params", "warmup_s", "updates_per_s", "updates_per_s_sync",
          "updates_per_s_sampled", "ranks", "samples_per_s", "error"]
_RANK_OUT = "WMPC_WM_SPEED_RANK_OUT"  # set for the torchrun ranks: where rank 0 writes its row


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
    p.add_argument("--ranks", type=int, default=1,
                   help="also time data-parallel updates on this many torchrun processes (each "
                        "with the whole batch; on CUDA one GPU each)")
    args = p.parse_args(argv)
    if args.ranks < 1:
        raise ValueError(f"--ranks must be positive, got {args.ranks}")
    if args.ranks > 1 and args.device.startswith("cuda") and torch.cuda.device_count() < args.ranks:
        raise ValueError(f"--ranks {args.ranks} needs as many GPUs; this machine has "
                         f"{torch.cuda.device_count()}")
    return args


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
           "ensemble": model_cfg.ensemble_size, "ranks": 1, "error": ""}
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
        row["samples_per_s"] = round(row["updates_per_s"] * train_cfg.batch_size, 1)
        stats = trainer.update(batch)
        if not np.isfinite(stats["total"]):
            raise FloatingPointError(f"non-finite loss {stats['total']}")
    except Exception as err:  # noqa: BLE001 - fail soft per configuration, keep the others
        row["error"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
        traceback.print_exc()
    print(" ".join(f"{k}={row.get(k, '')}" for k in FIELDS), flush=True)
    return row


def rank_main(args: argparse.Namespace, model_cfg: ModelConfig, train_cfg: TrainConfig,
              out: Path) -> None:
    """One torchrun rank: DDP updates on this rank's whole batch, the same number on every rank
    (a time-bounded loop would leave one rank waiting in an all-reduce); rank 0 writes the row."""
    import torch.distributed as dist

    ranks, device = distributed.start(args.device)
    gen = torch.Generator().manual_seed(args.seed + ranks.rank)
    batch = make_batch(gen, train_cfg.batch_size, train_cfg.horizon, device)
    start = time.perf_counter()
    trainer = Trainer(WorldModel(model_cfg, device=device, seed=args.seed), train_cfg,
                      device=device, seed=args.seed, ranks=ranks)
    for _ in range(3):
        trainer.update_async(batch)
    sync(device)
    warmup = time.perf_counter() - start
    tick = time.perf_counter()
    for _ in range(3):
        trainer.update_async(batch)
    sync(device)
    slowest = torch.tensor([(time.perf_counter() - tick) / 3])
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    count = max(3 if args.quick else 20, math.ceil(args.seconds / max(float(slowest), 1e-6)))
    dist.barrier()
    tick = time.perf_counter()
    for _ in range(count):
        stats = trainer.update_async(batch)
    sync(device)
    seconds = time.perf_counter() - tick
    if ranks.writer:
        updates = count / seconds
        row = {"config": f"DDP {ranks.world} ranks, eager fp32", "device": args.device,
               "cuda_graph": False, "bf16": False, "tf32": False,
               "batch": train_cfg.batch_size, "horizon": train_cfg.horizon,
               "latent": model_cfg.latent_dim, "hidden": model_cfg.hidden_dim,
               "ensemble": model_cfg.ensemble_size, "params": count_parameters(trainer.model),
               "warmup_s": round(warmup, 3), "updates_per_s": round(updates, 2),
               "ranks": ranks.world,
               "samples_per_s": round(updates * train_cfg.batch_size * ranks.world, 1),
               "error": "" if bool(torch.isfinite(stats).all()) else "non-finite loss"}
        out.write_text(json.dumps(row))
    distributed.stop(ranks)


def ddp_row(args: argparse.Namespace, argv: list[str], model_cfg: ModelConfig) -> dict:
    """The `--ranks` row, measured by `args.ranks` processes under `torch.distributed.run`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc-per-node={args.ranks}", "-m", "benchmarks.wm_speed", *argv]
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, _RANK_OUT: str(out), "OMP_NUM_THREADS": str(args.threads),
               "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        limit = 600 + 20 * args.seconds
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as launcher:
            try:
                stdout, stderr = launcher.communicate(timeout=limit)
            except subprocess.TimeoutExpired:  # torchrun stops its ranks on SIGTERM, not SIGKILL
                launcher.send_signal(signal.SIGTERM)
                try:
                    launcher.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    launcher.kill()
                stdout, stderr = "", f"no end after {limit:.0f} s"
        done = subprocess.CompletedProcess(command, launcher.returncode, stdout, stderr)
        if done.returncode == 0 and out.exists():
            row = json.loads(out.read_text())
        else:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            row = {"config": f"DDP {args.ranks} ranks, eager fp32", "device": args.device,
                   "ranks": args.ranks, "latent": model_cfg.latent_dim,
                   "error": f"torchrun exit {done.returncode}: {tail[0]}"[:300]}
    print(" ".join(f"{k}={row.get(k, '')}" for k in FIELDS), flush=True)
    return row


def communication(rows: list[dict], ranks: int) -> str:
    """What a DDP update sends: the gradient all-reduce of every parameter (fp32), as a ring does
    it, and the link speed that keeps it under the one-process update time."""
    single = next((r for r in rows if r["config"].startswith("eager fp32, uncompiled")
                   and not r["error"]), None)
    parallel = next((r for r in rows if r.get("ranks", 1) > 1 and not r["error"]), None)
    if single is None:
        return "no single-process row to compare with"
    grads = 4 * int(single["params"])
    ring = 2 * (ranks - 1) / ranks * grads
    text = (f"each update all-reduces {grads / 1e6:.2f} MB of fp32 gradients (ring: "
            f"{ring / 1e6:.2f} MB sent per rank); to stay below one process's update time "
            f"({1e3 / single['updates_per_s']:.2f} ms) the link needs "
            f"{ring * single['updates_per_s'] / 1e9:.3f} GB/s")
    if parallel is not None:
        efficiency = parallel["samples_per_s"] / (ranks * single["samples_per_s"])
        text += (f"; measured: {ranks} ranks {parallel['samples_per_s']:.0f} samples/s against "
                 f"one process's {single['samples_per_s']:.0f}, scaling efficiency "
                 f"{efficiency:.2f}")
    return text


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
    ax.barh(names, [r.get("updates_per_s_sampled") or 0 for r in ok], color="tab:orange",
            height=0.4, label="sampled from the replay buffer")
    ax.set_xlabel("updates / s")
    ax.set_title(f"world-model update, batch {ok[0]['batch'] if ok else '?'}, "
                 f"window {ok[0]['horizon'] if ok else '?'} ({rows[0]['device']})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
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
    if os.environ.get(_RANK_OUT):
        rank_main(args, model_cfg, TrainConfig(**{**base.to_dict(), "tf32": False}),
                  Path(os.environ[_RANK_OUT]))
        return
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
    if args.ranks > 1:
        configs.append(("eager fp32, uncompiled, 1 process",
                        {"cuda_graph": False, "tf32": False, "compile": False}))
    rows = [measure(name, args, model_cfg, TrainConfig(**{**base.to_dict(), **options}), buffer)
            for name, options in configs]
    if args.ranks > 1:
        rows.append(ddp_row(args, argv, model_cfg))
    check = graph_check(args, model_cfg, base) if cuda else "no CUDA graph on this device"
    if args.ranks > 1:
        check += "; " + communication(rows, args.ranks)
    if args.profile and cuda:
        profile(args, model_cfg, base)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = ("cuda" if cuda else "cpu") + (f"_ranks{args.ranks}" if args.ranks > 1 else "")
    csv_path = args.out / f"wm_speed_{tag}.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.out / f"wm_speed_{tag}.png")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = (f"commit {commit()}, {stamp}, {machine(args.device)}, seed {args.seed}; "
               f"command: PYTHONPATH=. python3 benchmarks/wm_speed.py "
               f"{' '.join(argv)}; {check}")
    (args.out / f"wm_speed_{tag}.txt").write_text(summary + "\n")
    print(summary)
    print(f"wrote {csv_path}")


if __name__ == "__main__":
    main()
