"""Plan candidates from the 'q' critic's actor: its imagined rollouts join each plan."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


@torch.no_grad()
def actor_candidates(actor: Callable[[Tensor], Tensor], model, z0: Tensor, horizon: int,
                     count: int, noise_std: float, generator: torch.Generator) -> Tensor:
    """`count` action sequences: z0 `(D,)` -> `(count, H, A)`; `(B, D)` -> `(B, count, H, A)`.

    Each sequence follows `actor` through the predictor's ensemble mean. Sequence 0 follows it
    exactly; the others add N(0, noise_std) to each action (clamped to [-1, 1]) before it is
    executed in imagination. Noise is drawn on the CPU from `generator`.
    """
    batched = z0.dim() == 2
    z = (z0 if batched else z0.unsqueeze(0)).unsqueeze(1).expand(-1, count, -1).reshape(
        -1, z0.shape[-1])
    actions = []
    for _ in range(horizon):
        a = actor(z)
        noise = torch.randn(a.shape, generator=generator) * noise_std
        noise.view(-1, count, a.shape[-1])[:, 0] = 0.0
        a = (a + noise.to(a.device)).clamp(-1.0, 1.0)
        actions.append(a)
        z = model.predict(z, a)
    seqs = torch.stack(actions, 1).view(-1, count, horizon, actions[0].shape[-1])
    return seqs if batched else seqs[0]
