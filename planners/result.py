"""What a plan call returns, and the receding-horizon shift helper."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class PlanResult:
    """The best action sequence a planner found.

    Everything stays a tensor on the planner's device (no host synchronisation); `cost` converts
    to a Python float only when read on an unbatched result.
    """

    actions: torch.Tensor
    """(H, A) for an unbatched call, (B, H, A) for a batch; within [-1, 1]."""
    cost_tensor: torch.Tensor
    """() or (B,): cost_fn's value of `actions`."""
    info: dict = field(default_factory=dict)
    """Diagnostics; tensors have the batch dim first, dropped for an unbatched call. Tensors:
    "cost_history" (B, iterations) best cost so far after each iteration (gradient planner: after
    each forward pass); "mean" and "std" (B, H, A) of the final sampling distribution and "elites"
    (B, K, H, A), best first, for the samplers. Ints: "evaluations", sequences evaluated by cost_fn
    per problem (forward passes); "gradient_evaluations", sequences back-propagated per problem.
    Lists "evaluations_history" and "gradient_evaluations_history": those counts at each entry of
    "cost_history"."""

    @property
    def cost(self) -> float | torch.Tensor:
        """Python float for an unbatched result (synchronises), the (B,) tensor for a batch."""
        if self.cost_tensor.dim() == 0:
            return float(self.cost_tensor)
        return self.cost_tensor


def shift(actions: torch.Tensor, steps: int = 1, fill: float = 0.0) -> torch.Tensor:
    """Warm start for the next decision: drop the first `steps` actions, pad the end with `fill`.

    actions: (..., H, A), e.g. (H, A), (B, H, A) or (B, K, H, A). Returns a new tensor, same shape.
    """
    if actions.dim() < 2:
        raise ValueError(f"shift needs actions of shape (..., H, A), got {tuple(actions.shape)}")
    if steps < 0:
        raise ValueError(f"shift needs steps >= 0, got {steps}")
    horizon = actions.shape[-2]
    out = torch.full_like(actions, fill)
    keep = max(horizon - steps, 0)
    if keep:
        out[..., :keep, :] = actions[..., steps:, :]
    return out
