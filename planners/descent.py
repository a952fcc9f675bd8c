"""Adam on action sequences through a differentiable cost, many sequences in parallel."""

from __future__ import annotations

import torch

from planners.base import CostFn

BOUNDS = ("clip", "tanh")
"""How gradient steps stay in [-1, 1]: project after each step, or optimise u with a = tanh(u)."""

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8
_TANH_LIMIT = 1.0 - 1e-4


def adam_descent(
    cost_fn: CostFn, start: torch.Tensor, *, steps: int, lr: float, bounds: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`steps` Adam steps from start (B, P, H, A) on each sequence's own cost.

    cost_fn maps (B, P, H, A) -> (B, P) and must treat sequences independently. Returns the best
    point met along each path and its cost, (B, P, H, A) and (B, P), and the best cost over all
    paths after each of the steps + 1 forward evaluations, (B, steps + 1); `steps` backward
    evaluations per sequence. Raises ValueError when the cost is not differentiable.
    """
    with torch.inference_mode(False), torch.enable_grad():
        start = start.detach().clone()
        tanh = bounds == "tanh"
        param = torch.atanh(start.clamp(-_TANH_LIMIT, _TANH_LIMIT)) if tanh else start
        first, second = torch.zeros_like(param), torch.zeros_like(param)
        best, best_cost = start, torch.full_like(start[..., 0, 0], float("inf"))
        history = []
        for step in range(1, steps + 1):
            param = param.detach().requires_grad_(True)
            actions = torch.tanh(param) if tanh else param
            cost = cost_fn(actions)
            grad = _gradient(cost, param)
            best, best_cost = _keep_better(best, best_cost, actions.detach(), cost.detach())
            history.append(best_cost.min(dim=-1).values)
            first.lerp_(grad, 1.0 - _BETA1)
            second.mul_(_BETA2).addcmul_(grad, grad, value=1.0 - _BETA2)
            denom = (second / (1.0 - _BETA2**step)).sqrt_().add_(_EPS)
            param = param.detach().addcdiv_(first, denom, value=-lr / (1.0 - _BETA1**step))
            if not tanh:
                param.clamp_(-1.0, 1.0)
        with torch.no_grad():
            actions = torch.tanh(param) if tanh else param
            best, best_cost = _keep_better(best, best_cost, actions, cost_fn(actions))
        history.append(best_cost.min(dim=-1).values)
        return best, best_cost, torch.stack(history, dim=-1)


def _gradient(cost: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    hint = "use a sampling planner (CEM, ICEM, MPPI) or a cost that is differentiable in actions"
    if not cost.requires_grad:
        raise ValueError(f"cost is not differentiable: cost_fn's output has no grad_fn; {hint}")
    (grad,) = torch.autograd.grad(cost.sum(), param, allow_unused=True)
    if grad is None:
        raise ValueError(f"cost is not differentiable: it does not depend on the actions; {hint}")
    return grad


def _keep_better(
    best: torch.Tensor, best_cost: torch.Tensor, actions: torch.Tensor, cost: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    better = cost < best_cost
    return torch.where(better[..., None, None], actions, best), torch.where(better, cost, best_cost)
