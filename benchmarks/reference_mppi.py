"""The plain eager reference the latency benchmarks compare against (torch only).

A straightforward, loop-free-over-samples MPPI in the style of TD-MPC2's `plan`: one problem, a
fresh tensor for every intermediate, the cost called on the plain `ReferenceTDMPC2` model, and the
returned action sampled from the elites (TD-MPC2 reads it on the host).
"""

from __future__ import annotations

import torch


def reference_mppi(
    cost_fn,
    horizon: int,
    action_dim: int,
    *,
    num_samples: int = 512,
    iterations: int = 6,
    num_elites: int = 64,
    temperature: float = 0.5,
    min_std: float = 0.05,
    max_std: float = 2.0,
    generator: torch.Generator,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """MPPI over (H, A) sequences: cost_fn (N, H, A) -> (N,); returns the first action (A,)."""
    mean = torch.zeros(horizon, action_dim, device=device)
    std = torch.full((horizon, action_dim), max_std, device=device)
    for _ in range(iterations):
        noise = torch.randn(num_samples, horizon, action_dim, generator=generator, device=device)
        actions = (mean.unsqueeze(0) + std.unsqueeze(0) * noise).clamp(-1, 1)
        value = -cost_fn(actions)
        elite_idxs = torch.topk(value, num_elites, dim=0).indices
        elite_value, elite_actions = value[elite_idxs], actions[elite_idxs]
        max_value = elite_value.max(0).values
        score = torch.exp(temperature * (elite_value - max_value))
        score = score / score.sum(0)
        mean = (score[:, None, None] * elite_actions).sum(dim=0) / (score.sum(0) + 1e-9)
        std = (
            (score[:, None, None] * (elite_actions - mean.unsqueeze(0)) ** 2).sum(dim=0)
            / (score.sum(0) + 1e-9)
        ).sqrt().clamp(min_std, max_std)
    index = torch.multinomial(score, 1, generator=generator).item()
    return elite_actions[index, 0].cpu()
