"""Ablation: what the anti-collapse term and the EMA target each contribute, at the same budget.

    PYTHONPATH=. python3 benchmarks/wm_ablation.py --device cuda --out benchmarks/results
    PYTHONPATH=. python3 benchmarks/wm_ablation.py --quick --out /tmp/wm     # CPU smoke run

Every variant (anti-collapse vicreg / none / simnorm x targets ema / stopgrad / online) trains the
same default-size model for the same number of updates on random-policy data of each DMC task, and
is scored on held-out episodes: k-step prediction error over copying the last latent (in the
model's own target space), the same with shuffled actions, linear-probe R² of the observation
from the latent, R² of the true 5-step-ahead observation read by that probe from the predicted
latent (comparable across representations; copying the first latent is its baseline), effective
rank and reward R². `--data-cache DIR` keeps the collected data (torch
files) so a machine without MuJoCo can run the training part.
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

from world_model import ModelConfig, WorldModel
from world_model.data import ReplayBuffer, random_episodes
from world_model.metrics import evaluate_model
from world_model.train import TrainConfig, Trainer

VARIANTS = [(anti, target) for anti in ("vicreg", "none", "simnorm")
            for target in ("ema", "stopgrad", "online")]
METRICS = ["pred_ratio_k1", "pred_ratio_k5", "shuffled_ratio_k5", "rollout_probe_r2_k5",
           "copy_probe_r2_k5", "probe_r2", "effective_rank", "latent_std_min", "reward_r2"]
FIELDS = ["env", "anti_collapse", "target", "seed", "updates", "seconds", *METRICS, "error"]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="wm_ablation", description=__doc__.split("\n")[0])
    p.add_argument("--envs", default="dm_control/cartpole-swingup-v0,dm_control/reacher-easy-v0")
    p.add_argument("--episodes", type=int, default=40, help="training episodes per env")
    p.add_argument("--val-episodes", type=int, default=8, help="held-out episodes per env")
    p.add_argument("--updates", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--horizon", type=int, default=5)
    p.add_argument("--eval-windows", type=int, default=2048, help="held-out windows scored")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data-cache", type=Path, default=None,
                   help="folder for the collected data (read if present, written if not)")
    p.add_argument("--collect-only", action="store_true", help="only fill --data-cache")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.envs, args.episodes, args.val_episodes = "dm_control/cartpole-swingup-v0", 4, 2
        args.updates, args.batch_size, args.seeds, args.eval_windows = 30, 32, "0", 128
    return args


def collect(env_id: str, episodes: int, seed: int) -> ReplayBuffer:
    """Uniform random actions in [-1, 1] on `make_env(env_id)` (its default conventions)."""
    from envs import make_env

    env = make_env(env_id, seed=seed)
    buf = random_episodes(env, episodes, seed,
                          metadata={"env_id": env_id, "policy": "uniform random"})
    env.close()
    return buf


def dataset(env_id: str, episodes: int, seed: int, cache: Path | None) -> ReplayBuffer:
    path = None
    if cache is not None:
        path = cache / f"{env_id.replace('/', '_')}_{episodes}ep_seed{seed}.pt"
        if path.exists():
            return ReplayBuffer.from_state_dict(torch.load(path, weights_only=True))
    buf = collect(env_id, episodes, seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(buf.state_dict(), path)
    return buf


def run(env_id: str, anti: str, target: str, seed: int, train: ReplayBuffer, val: ReplayBuffer,
        args: argparse.Namespace) -> dict:
    row = {"env": env_id, "anti_collapse": anti, "target": target, "seed": seed,
           "updates": args.updates, "error": ""}
    try:
        extra = {"latent_dim": 32, "hidden_dim": 64} if args.quick else {}
        model_cfg = ModelConfig(obs_dim=train.obs_dim, act_dim=train.act_dim,
                                anti_collapse=anti, target=target, **extra)
        model = WorldModel(model_cfg, device=args.device, seed=seed)
        model.update_normaliser(torch.from_numpy(train.observations().copy()))
        cfg = TrainConfig(batch_size=args.batch_size, horizon=args.horizon)
        trainer = Trainer(model, cfg, device=args.device, seed=seed)
        start = time.perf_counter()
        for _ in range(args.updates):
            trainer.update_async(train.sample(cfg.batch_size, cfg.horizon, trainer.generator))
        last = trainer.update(train.sample(cfg.batch_size, cfg.horizon, trainer.generator))
        row["seconds"] = round(time.perf_counter() - start, 1)
        if not np.isfinite(last["total"]):
            raise FloatingPointError(f"non-finite loss {last['total']}")
        metrics = evaluate_model(model, val, horizon=5, windows=args.eval_windows, seed=0,
                                 probe_buffer=train)
        row.update({k: round(metrics[k], 4) for k in METRICS})
    except Exception as err:  # noqa: BLE001 - fail soft per variant, keep the others
        row["error"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
        traceback.print_exc()
    print(" ".join(f"{k}={row.get(k, '')}" for k in FIELDS), flush=True)
    return row


def summarise(rows: list[dict]) -> str:
    """A markdown table: mean over seeds per env and variant."""
    lines = ["| env | anti-collapse | target | " + " | ".join(METRICS) + " |",
             "|" + " --- |" * (3 + len(METRICS))]
    for env in dict.fromkeys(r["env"] for r in rows):
        for anti, target in VARIANTS:
            group = [r for r in rows if (r["env"], r["anti_collapse"], r["target"]) ==
                     (env, anti, target) and not r["error"]]
            if not group:
                continue
            means = [np.mean([r[m] for r in group]) for m in METRICS]
            lines.append(f"| {env.split('/')[-1]} | {anti} | {target} | "
                         + " | ".join(f"{v:.3f}" for v in means) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    envs = list(dict.fromkeys(r["env"] for r in rows))
    fig, axes = plt.subplots(len(envs), 2, figsize=(10, 3.2 * len(envs)), squeeze=False)
    labels = [f"{a}/{t}" for a, t in VARIANTS]
    for i, env in enumerate(envs):
        for j, (metric, title) in enumerate((("pred_ratio_k5", "5-step error / copy-last"),
                                             ("probe_r2", "linear probe R²"))):
            ax = axes[i][j]
            values = []
            for anti, target in VARIANTS:
                v = [r[metric] for r in rows if (r["env"], r["anti_collapse"], r["target"]) ==
                     (env, anti, target) and not r["error"]]
                values.append(np.mean(v) if v else np.nan)
            ax.barh(labels, values, color="tab:blue")
            ax.set_title(f"{env.split('/')[-1]}: {title}", fontsize=9)
            ax.tick_params(labelsize=8)
            if metric == "pred_ratio_k5":
                ax.axvline(1.0, color="k", lw=0.8, ls="--")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    torch.set_num_threads(args.threads)
    envs = [e for e in args.envs.split(",") if e]
    seeds = [int(s) for s in args.seeds.split(",")]
    data = {env: (dataset(env, args.episodes, 0, args.data_cache),
                  dataset(env, args.val_episodes, 1, args.data_cache)) for env in envs}
    if args.collect_only:
        print(f"data cached in {args.data_cache}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "wm_ablation.csv"
    rows: list[dict] = []
    for env, (train, val) in data.items():
        for seed in seeds:
            for anti, target in VARIANTS:
                rows.append(run(env, anti, target, seed, train, val, args))
                with open(csv_path, "w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=FIELDS)
                    writer.writeheader()
                    writer.writerows(rows)
    plot(rows, args.out / "wm_ablation.png")
    table = summarise(rows)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    device = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
              else f"CPU ({args.threads} torch threads)")
    text = (f"{stamp}; {device}; torch {torch.__version__}; seeds {args.seeds}; command: "
            f"PYTHONPATH=. python3 benchmarks/wm_ablation.py {' '.join(argv)}\n\n{table}\n")
    (args.out / "wm_ablation.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
