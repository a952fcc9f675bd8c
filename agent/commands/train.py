"""`wmpc train`: learn a world model from logged trajectories (a Minari dataset)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from agent.commands import check_device
from agent.commands.options import CONFIG, SET, option


def command(
    data: str = typer.Option(..., help="What `wmpc collect --out` wrote, a Minari dataset "
                             "folder, or a Minari dataset id."),
    out: Path = typer.Option(..., help="Run folder: checkpoint.pt, config.json, TensorBoard "
                             "events."),
    steps: int | None = option("train", "steps"),
    seed: int = typer.Option(0, help="Seed of the model, the split and the batches."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
    resume: bool = typer.Option(False, help="Continue the run in --out exactly where it stopped, "
                                "with its saved settings (only --steps is read)."),
    batch_size: int | None = option("train", "batch_size"),
    horizon: int | None = option("train", "horizon"),
    eval_every: int | None = option("train", "eval_every"),
    val_fraction: float | None = option("train", "val_fraction"),
    size: str = typer.Option("small", help="Model shape: small (CPU) or tdmpc2 (latent, MLPs "
                             "512)."),
    latent_dim: int | None = option("model", "latent_dim"),
    hidden_dim: int | None = option("model", "hidden_dim"),
    ensemble: int | None = option("model", "ensemble_size", "--ensemble"),
    config: Path | None = CONFIG,
    set_: list[str] | None = SET,
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Train the JEPA world model on logged trajectories; --resume continues exactly.

    Settings: the defaults, then the family file of the data's env, then --config, --set and the
    flags; the agent section is saved with the run for `wmpc eval`. Under torchrun
    (`torchrun --nproc-per-node N "$(which wmpc)" train ...`) it trains data-parallel, each rank
    on --batch-size windows."""
    from agent.settings import resolve
    from world_model.data import load_trajectories
    from world_model.errors import user_error
    from world_model.train import train_offline

    sizes = {"small": {}, "tdmpc2": {"latent_dim": 512, "hidden_dim": 512}}
    if size not in sizes:
        raise user_error(f"--size must be one of {', '.join(sizes)}, got {size!r}")
    check_device(device)
    buffer = load_trajectories(data)
    flags = {"train": {"steps": steps, "batch_size": batch_size, "horizon": horizon,
                       "eval_every": eval_every, "val_fraction": val_fraction},
             "model": {**sizes[size], "latent_dim": latent_dim, "hidden_dim": hidden_dim,
                       "ensemble_size": ensemble}}
    settings = resolve(buffer.metadata.get("env_id") or "", config_file=config, sets=set_,
                       flags=flags)
    metrics = train_offline(buffer, out, settings.train, settings.model, device=device,
                            seed=seed, resume=resume, progress=progress, source=data,
                            agent=dataclasses.asdict(settings.agent))
    if not metrics:  # a torchrun rank other than 0: rank 0 reports
        return
    k = max(int(name.rsplit("k", 1)[1]) for name in metrics if name.startswith("pred_ratio_k"))
    typer.echo(f"validation: {k}-step prediction error / copy-last "
               f"{metrics[f'pred_ratio_k{k}']:.3f} (shuffled actions "
               f"{metrics[f'shuffled_ratio_k{k}']:.3f}), probe R2 {metrics['probe_r2']:.3f}, "
               f"effective rank {metrics['effective_rank']:.1f} -> {out}")
