"""A learned map from latent space to a goal space (a slice of the observation), reward-free.

Goal-conditioned envs give goals as points of a goal space (PointMaze's `desired_goal` is an x-y
position, the same space as the `achieved_goal` part of the observation). To plan towards such a
target in latent space, `fit_goal_map` regresses the goal-space slice of every observation of the
training data on its embedding `encode(obs)`: a ridge regression on the latent and its squares,
solved in closed form (deterministic, no rewards, no extra training loop). The planner then
minimises the distance of `GoalMap(z_t)` to the target along imagined latents.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from world_model.checkpoint import atomic_write
from world_model.errors import user_error

GOAL_MAP_NAME = "goal_map.pt"


class GoalMap(nn.Module):
    """g(z) = W [z, z^2] + b: latents (..., D) -> goal-space points (..., G)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, start: int, stop: int,
                 r2: float = float("nan")):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.start, self.stop = int(start), int(stop)
        self.r2 = float(r2)

    @property
    def goal_slice(self) -> slice:
        """The observation slice the map predicts."""
        return slice(self.start, self.stop)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., G)."""
        return _features(z) @ self.weight + self.bias


def _features(z: torch.Tensor) -> torch.Tensor:
    return torch.cat([z, z * z], dim=-1)


@torch.no_grad()
def fit_goal_map(model: nn.Module, observations: np.ndarray, goal_slice: slice,
                 ridge: float = 1e-3, max_points: int = 100_000, chunk: int = 8192) -> GoalMap:
    """Fit the map on observations (N, O) of the data: targets are `observations[:, goal_slice]`.

    At most `max_points` evenly spaced observations are used. `r2` of the result is the share of
    the goal slice's variance the map explains on those points.
    """
    obs = np.array(observations, dtype=np.float32)
    if obs.ndim != 2 or obs.shape[0] < 2:
        raise user_error("fitting a goal map needs at least two observations (N, O)")
    if obs.shape[0] > max_points:
        obs = obs[np.linspace(0, obs.shape[0] - 1, max_points).astype(np.int64)]
    device = next(model.parameters()).device
    feats = torch.cat([_features(model.encode(torch.from_numpy(obs[i:i + chunk]).to(device)))
                       for i in range(0, obs.shape[0], chunk)]).double()
    target = torch.from_numpy(obs[:, goal_slice]).to(device).double()
    mean_f, mean_t = feats.mean(0), target.mean(0)
    x, y = feats - mean_f, target - mean_t
    scale = x.pow(2).mean(0).sqrt().clamp_min(1e-8)
    xs = x / scale
    gram = xs.T @ xs / xs.shape[0] + ridge * torch.eye(xs.shape[1], dtype=xs.dtype, device=device)
    w = torch.linalg.solve(gram, xs.T @ y / xs.shape[0]) / scale[:, None]
    resid = y - x @ w
    r2 = 1.0 - float(resid.pow(2).sum() / y.pow(2).sum().clamp_min(1e-12))
    bias = mean_t - mean_f @ w
    start, stop, _ = goal_slice.indices(obs.shape[1])
    return GoalMap(w.float(), bias.float(), start, stop, r2)


def save_goal_map(path: str | Path, goal_map: GoalMap) -> None:
    """Write the map atomically (tensors and ints only, loadable with weights_only=True)."""
    payload = {"weight": goal_map.weight.cpu(), "bias": goal_map.bias.cpu(),
               "start": goal_map.start, "stop": goal_map.stop, "r2": goal_map.r2}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_goal_map(path: str | Path, device: torch.device | str = "cpu") -> GoalMap:
    """Read a map written by `save_goal_map`."""
    try:
        p = torch.load(Path(path), map_location=device, weights_only=True)
        return GoalMap(p["weight"], p["bias"], p["start"], p["stop"], p["r2"])
    except (OSError, KeyError, RuntimeError) as err:
        raise user_error(f"cannot read the goal map {path}: {err}") from err
