"""`wmpc train`: learn a world model from logged trajectories (a Minari dataset)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.commands import check_device


def _opt(text: str) -> typer.models.OptionInfo:
    return typer.Option(help=text)


def command(
    data: Annotated[str, _opt("What `wmpc collect --out` wrote, a Minari dataset folder, or a "
                              "Minari dataset id.")],
    out: Annotated[Path, _opt("Run folder: checkpoint.pt, config.json, TensorBoard events.")],
    steps: Annotated[int, _opt("Gradient updates in total (with --resume: up to).")] = 20_000,
    device: Annotated[str, _opt("torch device, e.g. cpu or cuda.")] = "cpu",
    seed: Annotated[int, _opt("Seed of the model, the split and the batches.")] = 0,
    resume: Annotated[bool, _opt("Continue the run in --out exactly where it stopped, with its "
                                 "saved settings (only --steps is read).")] = False,
    batch_size: Annotated[int, _opt("Windows per update.")] = 256,
    horizon: Annotated[int, _opt("Steps per training window.")] = 5,
    lr: Annotated[float, _opt("Adam learning rate.")] = 3e-4,
    size: Annotated[str, _opt("Model shape: small (CPU) or tdmpc2 (latent, MLPs 512).")] = "small",
    latent_dim: Annotated[int | None, _opt("Latent size (overrides --size).")] = None,
    hidden_dim: Annotated[int | None, _opt("MLP width (overrides --size).")] = None,
    ensemble: Annotated[int | None, _opt("Predictor members K.")] = None,
    anti_collapse: Annotated[str | None, _opt("vicreg or simnorm.")] = None,
    val_fraction: Annotated[float, _opt("Share of episodes held out for validation.")] = 0.1,
    eval_every: Annotated[int, _opt("Updates between validation metrics.")] = 1000,
    checkpoint_every: Annotated[int, _opt("Updates between checkpoints.")] = 1000,
    log_every: Annotated[int, _opt("Updates between TensorBoard loss scalars.")] = 100,
    bf16: Annotated[bool, _opt("bfloat16 autocast on CUDA.")] = False,
    progress: Annotated[bool, _opt("Show a progress bar.")] = True,
) -> None:
    """Train the JEPA world model on logged trajectories; --resume continues exactly."""
    from world_model.errors import user_error
    from world_model.train import TrainConfig, train_offline

    sizes = {"small": {}, "tdmpc2": {"latent_dim": 512, "hidden_dim": 512}}
    if size not in sizes:
        raise user_error(f"--size must be one of {', '.join(sizes)}, got {size!r}")
    overrides = dict(sizes[size])
    for name, value in (("latent_dim", latent_dim), ("hidden_dim", hidden_dim),
                        ("ensemble_size", ensemble), ("anti_collapse", anti_collapse)):
        if value is not None:
            overrides[name] = value
    try:
        cfg = TrainConfig(steps=steps, batch_size=batch_size, horizon=horizon, lr=lr,
                          val_fraction=val_fraction, eval_every=eval_every,
                          checkpoint_every=checkpoint_every, log_every=log_every, bf16=bf16)
    except ValueError as err:
        raise user_error(f"bad training setting: {err}") from err
    check_device(device)
    metrics = train_offline(data, out, cfg, overrides, device=device, seed=seed, resume=resume,
                            progress=progress)
    k = max(int(name.rsplit("k", 1)[1]) for name in metrics if name.startswith("pred_ratio_k"))
    typer.echo(f"validation: {k}-step prediction error / copy-last "
               f"{metrics[f'pred_ratio_k{k}']:.3f} (shuffled actions "
               f"{metrics[f'shuffled_ratio_k{k}']:.3f}), probe R2 {metrics['probe_r2']:.3f}, "
               f"effective rank {metrics['effective_rank']:.1f} -> {out}")
