"""Checkpoints: atomic writes of tensors + JSON config, read back with `weights_only=True`.

A run folder holds `checkpoint.pt` (model weights and config, the env id it was trained on, and
optionally the trainer's state for `--resume`) and `config.json` (the resolved configuration).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from world_model.config import ModelConfig
from world_model.errors import user_error
from world_model.model import WorldModel

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "wmpc-world-model/1"


def atomic_write(path: str | Path, write: Any) -> None:
    """Call `write(file)` on a temp file in `path`'s folder, fsync it, then os.replace it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write `data` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"
    atomic_write(path, lambda f: f.write(text))


def checkpoint_path(run: str | Path) -> Path:
    """`run/checkpoint.pt` for a run folder; a file path is returned as it is."""
    run = Path(run)
    return run / CHECKPOINT_NAME if run.is_dir() or run.suffix != ".pt" else run


def save_checkpoint(path: str | Path, model: WorldModel, trainer: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> None:
    """Atomically save `model` (+ a trainer state dict, + JSON-able `extra`) to `path`."""
    payload = {"format": FORMAT, "model_config": json.dumps(model.cfg.to_dict()),
               "env_id": model.env_id, "model": model.state_dict(), "trainer": trainer or {},
               "extra": json.dumps(extra or {})}
    atomic_write(path, lambda f: torch.save(payload, f))


def read_checkpoint(run: str | Path) -> dict[str, Any]:
    """The payload of a run's checkpoint, loaded on the CPU with `weights_only=True`.

    A missing, corrupt or foreign file raises UserError.
    """
    path = checkpoint_path(run)
    if not path.is_file():
        raise user_error(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means a bad file
        raise user_error(f"cannot read checkpoint {path}: corrupt or not a checkpoint "
                         f"({type(err).__name__})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise user_error(f"{path} is not a wmpc world-model checkpoint")
    try:
        payload["model_config"] = json.loads(payload["model_config"])
        payload["extra"] = json.loads(payload["extra"])
    except (KeyError, TypeError, ValueError) as err:
        raise user_error(f"{path} is not a wmpc world-model checkpoint (its {err} is missing "
                         "or corrupt)") from err
    return payload


def model_from_payload(payload: dict[str, Any], device: torch.device | str = "cpu") -> WorldModel:
    """Build the `WorldModel` a `read_checkpoint` payload describes, weights loaded."""
    try:
        cfg = ModelConfig.from_dict(payload["model_config"])
        model = WorldModel(cfg, device=device, env_id=payload.get("env_id"))
        model.load_state_dict(payload["model"])
    except (ValueError, TypeError, KeyError, RuntimeError) as err:
        raise user_error(f"checkpoint does not describe a valid world model: {err}") from err
    bad = [name for name, t in model.state_dict().items()
           if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise user_error(f"checkpoint holds NaN or infinite weights ({', '.join(bad[:3])}"
                         f"{', ...' if len(bad) > 3 else ''}): the training it saved diverged")
    return model


def load_world_model(run_dir: str | Path, device: torch.device | str = "cpu") -> WorldModel:
    """The trained model of a run folder (or a checkpoint file), in eval mode on `device`.

    `model.env_id` is the env the training data came from (None if unknown).
    """
    return model_from_payload(read_checkpoint(run_dir), device).eval()
