"""The training objective: multi-step latent prediction + VICReg + reward/termination/TD heads
(+ the actor of a 'q' critic).

No decoder and no negatives: the predictor's rollout from the first observation's latent is pulled
towards the target encoder's latents of the later observations; collapse is prevented by VICReg's
variance and covariance terms on the online latents (or by SimNorm, see `ModelConfig`); trained
data-parallel, those terms see every rank's latents (`world_model.distributed.gather_rows`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from world_model import twohot
from world_model.distributed import gather_rows
from world_model.model import WorldModel

LOSS_TERMS = ("prediction", "variance", "covariance", "reward", "termination", "value", "actor")


def vicreg_terms(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """VICReg's variance hinge and covariance penalty of latents z (N, D); also the mean std.

    variance: mean over dims of relu(1 - std); covariance: sum of squared off-diagonal
    covariances / D.
    """
    z = z.float()
    z = z - z.mean(0)
    n, d = z.shape
    std = torch.sqrt(z.pow(2).sum(0) / (n - 1) + 1e-4)
    variance = F.relu(1.0 - std).mean()
    cov = (z.T @ z) / (n - 1)
    off_diag = cov.pow(2).sum() - torch.diagonal(cov).pow(2).sum()
    return variance, off_diag / d, std.mean()


def target_latents(model: WorldModel, obs: torch.Tensor) -> torch.Tensor:
    """Prediction targets (B, T+1, D) for observations (B, T+1, O): the EMA target encoder's."""
    with torch.no_grad():
        return model.encode_target(obs)


def td_targets(model: WorldModel, targets: torch.Tensor, rew: torch.Tensor,
               term: torch.Tensor) -> torch.Tensor:
    """n-step TD targets (B, T) from target latents (B, T+1, D), rewards and terminations (B, T).

    G_t = sum_{i<m} gamma^i r_{t+i} + gamma^m V'(z_{t+m}) with m = min(td_steps, T - t); a
    termination cuts the sum (truncations do not: windows never hold one mid-window). For the
    'q' critic V' is the smaller target Q at the actor's action. V' is computed only at the
    latents a target bootstraps from, z_min(n,T) .. z_T (just z_T when td_steps >= T).
    """
    cfg = model.cfg
    steps = rew.shape[1]
    first = min(cfg.td_steps, steps)
    with torch.no_grad():
        boot = model.target_value_of(targets[:, first:].detach())
        alive = 1.0 - term.float()
        out = []
        for t in range(steps):
            m = min(cfg.td_steps, steps - t)
            g = boot[:, t + m - first]
            for i in reversed(range(m)):
                g = rew[:, t + i] + cfg.discount * alive[:, t + i] * g
            out.append(g)
        return torch.stack(out, dim=1)


def critic_q_loss(model: WorldModel, zs: torch.Tensor, act: torch.Tensor, target: torch.Tensor,
                  w: torch.Tensor) -> torch.Tensor:
    """Both Q heads' two-hot cross-entropy at the rollout's latents zs (B, T, D) and the replay's
    actions (B, T, A) against TD targets (B, T), step t weighted w[t] (T,), heads averaged."""
    ce = twohot.cross_entropy(model.q_logits(zs, act), target.unsqueeze(0), model.bins)
    return (ce.mean(0) * w).sum(1).mean()


def actor_loss(model: WorldModel, zs: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Minus the Q heads' mean at the actor's actions on latents zs (B, T, D) (no gradient to
    them nor to the Q heads), step t weighted w[t], divided by the batch's mean |Q| (at least
    1) so the actor's step size does not grow with the task's reward scale."""
    q = model.q(zs.detach(), model.policy(zs.detach()), frozen=True).mean(0)
    scale = q.detach().abs().mean().clamp(min=1.0)
    return -((q * w).sum(1) / scale).mean()


def world_model_loss(model: WorldModel, batch: dict[str, torch.Tensor]
                     ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The weighted total loss and each term (tensors, no sync).

    batch: obs (B, T+1, O), act (B, T, A), rew (B, T), term (B, T); all on the model's device.
    Step t of the prediction, reward, termination and value losses weighs rho**t (normalised).
    """
    cfg = model.cfg
    obs, act, rew, term = batch["obs"], batch["act"], batch["rew"].float(), batch["term"].float()
    steps = act.shape[1]
    online = model.encode(obs)
    targets = target_latents(model, obs)

    weights = [cfg.rho**t for t in range(steps)]
    total_w = sum(weights)
    z = online[:, 0]
    latents = []
    prediction = online.new_zeros((), dtype=torch.float32)
    for t in range(steps):
        latents.append(z)
        members = model.predict_ensemble(z, act[:, t])
        err = (members.float() - targets[:, t + 1].float().unsqueeze(0)).pow(2).mean()
        prediction = prediction + weights[t] / total_w * err
        z = members.mean(0)
    zs = torch.stack(latents, dim=1)
    w = cfg.rho ** torch.arange(steps, device=obs.device, dtype=torch.float32) / total_w

    reward = (twohot.cross_entropy(model.reward_logits(zs, act), rew, model.bins) * w).sum(1).mean()
    value_target = td_targets(model, targets, rew, term)
    if cfg.critic == "q":
        value = critic_q_loss(model, zs, act, value_target, w)
        actor = actor_loss(model, zs, w)
    else:
        value = twohot.cross_entropy(model.value_logits(zs), value_target, model.bins)
        value = (value * w).sum(1).mean()
        actor = online.new_zeros((), dtype=torch.float32)
    if cfg.episodic:
        bce = F.binary_cross_entropy_with_logits(model.termination_logit(zs, act).float(), term,
                                                 reduction="none")
        termination = (bce * w).sum(1).mean()
    else:
        termination = online.new_zeros(())

    if cfg.anti_collapse == "vicreg":
        variance, covariance, std = vicreg_terms(gather_rows(online.reshape(-1, cfg.latent_dim)))
    else:
        variance = covariance = online.new_zeros(())
        std = online.float().reshape(-1, cfg.latent_dim).std(0).mean().detach()

    total = (cfg.prediction_weight * prediction + cfg.variance_weight * variance
             + cfg.covariance_weight * covariance + cfg.reward_weight * reward
             + cfg.termination_weight * termination + cfg.value_weight * value + actor)
    terms = {"prediction": prediction, "variance": variance, "covariance": covariance,
             "reward": reward, "termination": termination, "value": value, "actor": actor,
             "latent_std": std.detach(), "total": total}
    return total, {k: v.detach().float() for k, v in terms.items()}
