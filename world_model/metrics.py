"""Collapse detectors and quality of a world model on held-out windows.

Prediction errors are measured in the target encoder's space and divided by the error of copying
the last latent (ratio < 1: the model predicts; a collapsed encoder cannot fake it because the
linear probe R² of the observation from the latent and the effective rank drop with it).
"""

from __future__ import annotations

import numpy as np
import torch

from world_model.data import ReplayBuffer
from world_model.model import WorldModel


@torch.no_grad()
def evaluate_model(model: WorldModel, buffer: ReplayBuffer, horizon: int = 5,
                   windows: int = 1024, seed: int = 0,
                   probe_buffer: ReplayBuffer | None = None) -> dict[str, float]:
    """Metrics on `windows` windows of `horizon` steps from `buffer` (fixed by `seed`).

    Returns, for k = 1..horizon:
      pred_ratio_k{k}: E||rollout_k - z*_k||² / E||z*_0 - z*_k||² (z* target latents; copy-last = 1)
      shuffled_ratio_k{k}: the same with actions permuted across windows (the model uses actions
        when this is well above pred_ratio)
      pred_error_norm_k{k}: E||rollout_k - z*_k||² / total variance of z*
    and latent_std_mean/min (per-dimension std of the online latents), effective_rank (exp of the
    entropy of the normalised singular values), reward_mse / reward_r2 along the rollout, mean
    ensemble disagreement, and probe_r2: a ridge probe from latent to normalised observation, fit
    on windows of `probe_buffer` (default: `buffer`) and scored on the held-out windows. The same
    probe read from the k = horizon rollout gives rollout_probe_r2_k{horizon} (how well the
    predicted latent decodes to the true future observation, comparable across representations)
    and from the first latent copy_probe_r2_k{horizon} (the copy-last baseline of that).
    """
    was_training = model.training
    model.eval()
    gen = np.random.default_rng(seed)
    batch = buffer.sample(windows, horizon, gen, device=model.device)
    obs, act, rew = batch["obs"], batch["act"], batch["rew"]
    n = obs.shape[0]
    online = model.encode(obs)
    target = model.encode_target(obs)
    perm = torch.from_numpy(gen.permutation(n)).to(model.device)
    rollout = model.rollout(online[:, 0], act)
    shuffled = model.rollout(online[:, 0], act[perm])
    total_var = target.reshape(-1, target.shape[-1]).var(0).sum()
    out: dict[str, float] = {}
    for k in range(1, horizon + 1):
        copy = (target[:, 0] - target[:, k]).pow(2).sum(-1).mean()
        err = (rollout[:, k - 1] - target[:, k]).pow(2).sum(-1).mean()
        err_shuffled = (shuffled[:, k - 1] - target[:, k]).pow(2).sum(-1).mean()
        out[f"pred_ratio_k{k}"] = float(err / copy.clamp_min(1e-12))
        out[f"shuffled_ratio_k{k}"] = float(err_shuffled / copy.clamp_min(1e-12))
        out[f"pred_error_norm_k{k}"] = float(err / total_var.clamp_min(1e-12))

    flat = online.reshape(-1, online.shape[-1]).double()
    std = flat.std(0)
    out["latent_std_mean"] = float(std.mean())
    out["latent_std_min"] = float(std.min())
    out["effective_rank"] = effective_rank(flat)

    zs = torch.cat([online[:, :1], rollout[:, :-1]], dim=1)
    pred_rew = model.reward(zs, act)
    mse = (pred_rew - rew).pow(2).mean()
    out["reward_mse"] = float(mse)
    out["reward_r2"] = float(1.0 - mse / rew.var().clamp_min(1e-12))
    out["disagreement"] = float(model.disagreement(zs, act).mean())

    probe = (probe_buffer or buffer).sample(windows, 1, gen, device=model.device)["obs"]
    train_z = model.encode(probe).reshape(-1, flat.shape[1]).double()
    train_y = model.normalise(probe).reshape(train_z.shape[0], -1).double()
    weights = fit_probe(train_z, train_y)
    y = model.normalise(obs).double()
    out["probe_r2"] = r2_score(apply_probe(weights, flat), y.reshape(flat.shape[0], -1))
    out[f"rollout_probe_r2_k{horizon}"] = r2_score(
        apply_probe(weights, rollout[:, -1].double()), y[:, horizon])
    out[f"copy_probe_r2_k{horizon}"] = r2_score(
        apply_probe(weights, online[:, 0].double()), y[:, horizon])
    model.train(was_training)
    return out


def effective_rank(z: torch.Tensor) -> float:
    """exp(entropy) of the normalised singular values of centred latents z (N, D); in [1, D]."""
    s = torch.linalg.svdvals(z - z.mean(0))
    p = s / s.sum().clamp_min(1e-12)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def fit_probe(z: torch.Tensor, y: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """Ridge regression weights (D + 1, O) of targets y (N, O) on latents z (N, D) plus a bias."""
    x = _design(z)
    reg = ridge * x.shape[0] * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    reg[-1, -1] = 0.0
    return torch.linalg.solve(x.T @ x + reg, x.T @ y)


def apply_probe(weights: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Probe predictions (N, O) for latents z (N, D)."""
    return _design(z) @ weights


def r2_score(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Mean R² over the dims of y (N, O); dims constant in y are left out."""
    sse = (pred - y).pow(2).sum(0)
    sst = (y - y.mean(0)).pow(2).sum(0)
    keep = sst > 1e-8 * y.shape[0]
    if not keep.any():
        return float("nan")
    return float((1.0 - sse[keep] / sst[keep]).mean())


def _design(z: torch.Tensor) -> torch.Tensor:
    return torch.cat([z, torch.ones_like(z[:, :1])], dim=1)
