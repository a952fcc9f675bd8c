"""The policy prior: a small actor on latents whose imagined rollouts join each plan as candidates.

The actor is deterministic, a = tanh(MLP(z)), and learns by the gradient of the model's one-step
return `r(z, a) + gamma * V(predict(z, a))` through the world model (not updated here), on latents
of replay observations. The return is divided by max(1, running mean of its magnitude), so large
reward scales do not blow up the step size. Candidates: the actor rolled through the predictor's
ensemble mean for the planning horizon, with Gaussian noise on all but the first sequence.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from world_model.layers import mlp


class PolicyPrior(nn.Module):
    """a = tanh(MLP(z)): latents (..., D) -> actions (..., A) in [-1, 1]."""

    def __init__(self, latent_dim: int, act_dim: int, hidden: int = 256, seed: int = 0,
                 device: torch.device | str = "cpu"):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.net = mlp(latent_dim, hidden, 2, act_dim, generator).to(device)

    def forward(self, z: Tensor) -> Tensor:
        return torch.tanh(self.net(z))


class PriorTrainer:
    """Adam on the prior's parameters only: gradients are taken with respect to them alone, so the
    world model's `.grad` is never touched."""

    def __init__(self, prior: PolicyPrior, model, lr: float = 3e-4, gamma: float = 0.99,
                 scale_tau: float = 0.01):
        self.prior, self.model, self.gamma, self.scale_tau = prior, model, gamma, scale_tau
        self.params = list(prior.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=lr)
        self.scale = torch.ones((), device=model.device)

    def update(self, obs: Tensor) -> dict[str, float]:
        """One step on observations (..., O), e.g. a replay window (B, T+1, O)."""
        with torch.no_grad():
            z = self.model.encode(obs.to(self.model.device).reshape(-1, obs.shape[-1]))
        a = self.prior(z)
        ret = self.model.reward(z, a) + self.gamma * self.model.value(self.model.predict(z, a))
        with torch.no_grad():
            self.scale.lerp_(ret.abs().mean(), self.scale_tau)
        loss = -(ret / self.scale.clamp(min=1.0)).mean()
        grads = torch.autograd.grad(loss, self.params)
        for param, grad in zip(self.params, grads, strict=True):
            param.grad = grad
        self.optimizer.step()
        return {"prior_return": float(ret.detach().mean()), "prior_loss": float(loss.detach())}

    def state_dict(self) -> dict:
        return {"prior": self.prior.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scale": self.scale.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.prior.load_state_dict(state["prior"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scale.copy_(state["scale"])


@torch.no_grad()
def prior_candidates(prior: Callable[[Tensor], Tensor], model, z0: Tensor, horizon: int, count: int,
                     noise_std: float, generator: torch.Generator) -> Tensor:
    """`count` action sequences: z0 `(D,)` -> `(count, H, A)`; `(B, D)` -> `(B, count, H, A)`.

    Sequence 0 follows the prior exactly; the others add N(0, noise_std) to each action (clamped to
    [-1, 1]) before it is executed in imagination. Noise is drawn on the CPU from `generator`.
    """
    batched = z0.dim() == 2
    z = (z0 if batched else z0.unsqueeze(0)).unsqueeze(1).expand(-1, count, -1).reshape(
        -1, z0.shape[-1])
    actions = []
    for _ in range(horizon):
        a = prior(z)
        noise = torch.randn(a.shape, generator=generator) * noise_std
        noise.view(-1, count, a.shape[-1])[:, 0] = 0.0
        a = (a + noise.to(a.device)).clamp(-1.0, 1.0)
        actions.append(a)
        z = model.predict(z, a)
    seqs = torch.stack(actions, 1).view(-1, count, horizon, actions[0].shape[-1])
    return seqs if batched else seqs[0]
