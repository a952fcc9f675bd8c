"""A latent model with TD-MPC2's shapes, for planner latency only (random weights, torch only).

TD-MPC2's 5M model: latent 512 with SimNorm (groups of 8), MLPs of two 512-wide hidden layers
(Linear + LayerNorm + Mish), dynamics and reward on [z, a], a tanh policy on z, 5 Q heads on
[z, a], reward and Q as 101-bin two-hot distributions in symlog space. The planning value of a
sequence: discounted predicted rewards over H steps plus the discounted mean Q of the 5 heads at
the last latent under the policy's action. `cost = -value`.

Two implementations with the same weights:
- `TDMPC2Shape.cost`: the fast path: dynamics and reward first layers fused into one matmul, the
  action part of that layer computed for all steps at once, dynamics/reward second layers and the
  Q ensemble as batched matmuls, reward decoding for all steps at once. Graph-safe.
- `ReferenceTDMPC2`: the plain way (TD-MPC2's own layout): nn.Linear/LayerNorm/Mish modules,
  concatenation at every step, a Python loop over the Q heads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True, kw_only=True)
class ShapeConfig:
    """Sizes of the TD-MPC2-shaped model."""

    latent_dim: int = 512
    """Latent state size D (a multiple of simnorm_dim)."""
    hidden_dim: int = 512
    """Width W of every hidden layer."""
    action_dim: int = 6
    """Action size A."""
    num_q: int = 5
    """Q ensemble heads."""
    num_bins: int = 101
    """Two-hot bins of reward and Q outputs, spanning [-10, 10] in symlog space."""
    simnorm_dim: int = 8
    """Group size of the simplicial normalisation of the latent."""
    discount: float = 0.99
    """Per-step discount of the planning value."""


def symexp(x: torch.Tensor) -> torch.Tensor:
    """Inverse of symlog: sign(x) (exp|x| - 1)."""
    return torch.sign(x) * torch.expm1(x.abs())


class TDMPC2Shape(nn.Module):
    """Fast path. Parameters are stacked so each layer of both branches / all heads is one matmul.

    cost(z0, actions): z0 (D,) or (B, D); actions (N, H, A) or (B, N, H, A) in [-1, 1];
    returns (N,) or (B, N) float32. Runs in the parameters' dtype (e.g. bfloat16).
    """

    def __init__(self, config: ShapeConfig = ShapeConfig(), *, device="cpu", seed: int = 0):
        super().__init__()
        self.config = c = config
        d, w, a, q, k = c.latent_dim, c.hidden_dim, c.action_dim, c.num_q, c.num_bins
        gen = torch.Generator().manual_seed(seed)

        def weight(*shape: int) -> nn.Parameter:
            fan_in = shape[-2]
            return nn.Parameter(torch.randn(*shape, generator=gen) / math.sqrt(fan_in))

        def bias(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=gen) * 0.02)

        def norm(*shape: int) -> tuple[nn.Parameter, nn.Parameter]:
            return nn.Parameter(1 + 0.1 * torch.randn(*shape, generator=gen)), bias(*shape)

        # dynamics (branch 0) and reward (branch 1)
        self.w1z, self.w1a, self.b1 = weight(d, 2 * w), weight(a, 2 * w), bias(2 * w)
        self.g1, self.n1 = norm(2, w)
        self.w2, self.b2 = weight(2, w, w), bias(2, 1, w)
        self.g2, self.n2 = norm(2, 1, w)
        self.w3d, self.b3d = weight(w, d), bias(d)
        self.g3d, self.n3d = norm(d)
        self.w3r, self.b3r = weight(w, k), bias(k)
        # policy
        self.wp1, self.bp1 = weight(d, w), bias(w)
        self.gp1, self.np1 = norm(w)
        self.wp2, self.bp2 = weight(w, w), bias(w)
        self.gp2, self.np2 = norm(w)
        self.wp3, self.bp3 = weight(w, 2 * a), bias(2 * a)
        # Q ensemble
        self.wq1z, self.wq1a, self.bq1 = weight(d, q * w), weight(a, q * w), bias(q * w)
        self.gq1, self.nq1 = norm(q, w)
        self.wq2, self.bq2 = weight(q, w, w), bias(q, 1, w)
        self.gq2, self.nq2 = norm(q, 1, w)
        self.wq3, self.bq3 = weight(q, w, k), bias(q, 1, k)
        self.register_buffer("bins", torch.linspace(-10, 10, k))
        self.to(device)

    def cost(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        c = self.config
        lead, horizon = actions.shape[:-2], actions.shape[-2]
        dtype = self.w1z.dtype
        acts = actions.reshape(-1, horizon, c.action_dim).transpose(0, 1).to(dtype)  # (H, M, A)
        m = acts.shape[1]
        z = z0.to(dtype).unsqueeze(-2).expand(*lead, c.latent_dim).reshape(m, c.latent_dim)
        pre = torch.addmm(self.b1, acts.reshape(-1, c.action_dim), self.w1a).view(horizon, m, -1)
        logits = []
        for t in range(horizon):
            h = _ln_mish(torch.addmm(pre[t], z, self.w1z).view(m, 2, -1), self.g1, self.n1)
            h = _ln_mish(torch.baddbmm(self.b2, h.transpose(0, 1), self.w2), self.g2, self.n2)
            logits.append(torch.addmm(self.b3r, h[1], self.w3r))
            z = self._simnorm(
                F.layer_norm(torch.addmm(self.b3d, h[0], self.w3d), (c.latent_dim,), self.g3d,
                             self.n3d)
            )
        rewards = self._decode(torch.stack(logits))  # (H, M)
        discounts = c.discount ** torch.arange(horizon, device=rewards.device, dtype=rewards.dtype)
        value = discounts @ rewards + c.discount**horizon * self._q(z, self._pi(z)).mean(dim=0)
        return -value.float().view(lead)

    def _pi(self, z: torch.Tensor) -> torch.Tensor:
        w = self.config.hidden_dim
        h = F.mish(F.layer_norm(torch.addmm(self.bp1, z, self.wp1), (w,), self.gp1, self.np1))
        h = F.mish(F.layer_norm(torch.addmm(self.bp2, h, self.wp2), (w,), self.gp2, self.np2))
        return torch.tanh(torch.addmm(self.bp3, h, self.wp3)[:, : self.config.action_dim])

    def _q(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """(num_q, M) Q values of every head."""
        m = z.shape[0]
        h = torch.addmm(torch.addmm(self.bq1, a, self.wq1a), z, self.wq1z)
        h = _ln_mish(h.view(m, self.config.num_q, -1), self.gq1, self.nq1).transpose(0, 1)
        h = _ln_mish(torch.baddbmm(self.bq2, h, self.wq2), self.gq2, self.nq2)
        return self._decode(torch.baddbmm(self.bq3, h, self.wq3))

    def _simnorm(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z.view(z.shape[0], -1, self.config.simnorm_dim), dim=-1).view_as(z)

    def _decode(self, logits: torch.Tensor) -> torch.Tensor:
        """Two-hot logits (..., K) -> scalar values (...)."""
        return symexp(torch.softmax(logits, dim=-1) @ self.bins)


def _ln_mish(h: torch.Tensor, gain: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last dim with per-branch affine (gain, shift broadcast), then Mish."""
    return F.mish(torch.addcmul(shift, F.layer_norm(h, h.shape[-1:]), gain))


class _NormedLinear(nn.Module):
    def __init__(self, linear: nn.Linear, norm: nn.LayerNorm, act: nn.Module):
        super().__init__()
        self.linear, self.norm, self.act = linear, norm, act

    def forward(self, x):
        return self.act(self.norm(self.linear(x)))


class _SimNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.softmax(x.view(*x.shape[:-1], -1, self.dim), dim=-1).view_as(x)


class ReferenceTDMPC2(nn.Module):
    """The plain implementation of `TDMPC2Shape.cost`, with weights copied from `fast`."""

    def __init__(self, fast: TDMPC2Shape):
        super().__init__()
        self.config = c = fast.config
        w = c.hidden_dim

        def linear(weight, bias):
            layer = nn.Linear(weight.shape[0], weight.shape[1])
            layer.weight.data.copy_(weight.detach().t())
            layer.bias.data.copy_(bias.detach().reshape(-1))
            return layer

        def normed(weight, bias, gain, shift, act):
            norm = nn.LayerNorm(weight.shape[1])
            norm.weight.data.copy_(gain.detach().reshape(-1))
            norm.bias.data.copy_(shift.detach().reshape(-1))
            return _NormedLinear(linear(weight, bias), norm, act)

        w1 = torch.cat([fast.w1z, fast.w1a])
        self.dynamics = nn.Sequential(
            normed(w1[:, :w], fast.b1[:w], fast.g1[0], fast.n1[0], nn.Mish()),
            normed(fast.w2[0], fast.b2[0], fast.g2[0], fast.n2[0], nn.Mish()),
            normed(fast.w3d, fast.b3d, fast.g3d, fast.n3d, _SimNorm(c.simnorm_dim)),
        )
        self.reward = nn.Sequential(
            normed(w1[:, w:], fast.b1[w:], fast.g1[1], fast.n1[1], nn.Mish()),
            normed(fast.w2[1], fast.b2[1], fast.g2[1], fast.n2[1], nn.Mish()),
            linear(fast.w3r, fast.b3r),
        )
        self.pi = nn.Sequential(
            normed(fast.wp1, fast.bp1, fast.gp1, fast.np1, nn.Mish()),
            normed(fast.wp2, fast.bp2, fast.gp2, fast.np2, nn.Mish()),
            linear(fast.wp3, fast.bp3),
        )
        wq1 = torch.cat([fast.wq1z, fast.wq1a])
        self.qs = nn.ModuleList(
            nn.Sequential(
                normed(wq1[:, i * w:(i + 1) * w], fast.bq1[i * w:(i + 1) * w], fast.gq1[i],
                       fast.nq1[i], nn.Mish()),
                normed(fast.wq2[i], fast.bq2[i], fast.gq2[i], fast.nq2[i], nn.Mish()),
                linear(fast.wq3[i], fast.bq3[i]),
            )
            for i in range(c.num_q)
        )
        self.register_buffer("bins", fast.bins.detach().clone())
        self.to(device=fast.bins.device, dtype=fast.w1z.dtype)

    def cost(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Same signature and value as `TDMPC2Shape.cost`."""
        c = self.config
        dtype = self.bins.dtype
        z = z0.to(dtype).unsqueeze(-2).expand(*actions.shape[:-2], c.latent_dim)
        value, discount = 0.0, 1.0
        for t in range(actions.shape[-2]):
            za = torch.cat([z, actions[..., t, :].to(dtype)], dim=-1)
            value = value + discount * self._decode(self.reward(za))
            z = self.dynamics(za)
            discount *= c.discount
        a = torch.tanh(self.pi(z)[..., : c.action_dim])
        za = torch.cat([z, a], dim=-1)
        q = torch.stack([self._decode(head(za)) for head in self.qs]).mean(dim=0)
        return -(value + discount * q).float()

    def _decode(self, logits: torch.Tensor) -> torch.Tensor:
        return symexp(torch.softmax(logits, dim=-1) @ self.bins)
