"""`WorldModel`: a JEPA latent model — encoder, ensemble predictor and heads, no decoder.

Shapes: observations (..., O) raw float32; latents (..., D); actions (..., A) in [-1, 1];
action sequences (..., H, A) -> rollouts (..., H, D). The leading dims are free: (N,) or (B, N).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from world_model import twohot
from world_model.config import ModelConfig
from world_model.layers import EnsembleMLP, mlp, simnorm
from world_model.pixels import ConvEncoder, ImageStateEncoder, PretrainedEncoder


class WorldModel(nn.Module):
    """Encoder, K-member residual predictor, reward/termination heads, a critic, EMA targets.

    The critic (`ModelConfig.critic`) is a state-value head ('v') or two action-value heads and a
    deterministic actor ('q'); `value(z)` is the planner's terminal value either way.
    The model owns its observation normaliser (running mean and variance in buffers, saved in the
    state dict); image observations (`cfg.image_shape`) are read by a convolutional encoder.
    `target_encoder` and `target_critic` are slow (EMA) copies
    the `Trainer` updates (`ema_pairs`); they take no gradient and are not in
    `trainable_parameters()`.
    """

    def __init__(self, cfg: ModelConfig, device: torch.device | str = "cpu", seed: int = 0,
                 env_id: str | None = None):
        super().__init__()
        self.cfg = cfg
        self.env_id = env_id
        """The env the model was trained on (from the dataset's metadata), or None."""
        gen = torch.Generator().manual_seed(seed)
        o, a, d, h = cfg.obs_dim, cfg.act_dim, cfg.latent_dim, cfg.hidden_dim
        self._pixels = 0 if cfg.image_shape is None else math.prod(cfg.image_shape)
        width = o if cfg.image_shape is None else self._pixels + cfg.state_dim
        mean, var = torch.zeros(width), torch.ones(width)
        mean[:self._pixels], var[:self._pixels] = 127.5, 127.5**2  # pixel values are 0..255
        self.register_buffer("obs_mean", mean)
        self.register_buffer("obs_var", var)
        self.register_buffer("obs_count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("bins", twohot.bins(cfg.num_bins, cfg.symlog_max))
        if cfg.image_shape is None:
            self.encoder = mlp(o, h, cfg.layers, d, gen)
        else:
            images = (ConvEncoder(cfg.image_shape, d, gen) if cfg.pretrained_encoder is None
                      else PretrainedEncoder(cfg.image_shape, cfg.pretrained_encoder, d, gen))
            self.encoder = (images if cfg.state_dim == 0 else
                            ImageStateEncoder(images, mlp(cfg.state_dim, h, cfg.layers, d, gen)))
        self.dynamics = EnsembleMLP(cfg.ensemble_size, d + a, h, cfg.layers, d, gen)
        self.reward_head = mlp(d + a, h, cfg.head_layers, cfg.num_bins, gen, zero_last=True)
        self.termination_head = mlp(d + a, h, cfg.head_layers, 1, gen)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        if cfg.critic == "q":
            self.q_heads = EnsembleMLP(2, d + a, h, cfg.head_layers, cfg.num_bins, gen,
                                       zero_last=True)
            self.actor = mlp(d, h, cfg.head_layers, a, gen)
            self.target_q = copy.deepcopy(self.q_heads).requires_grad_(False)
        else:
            self.value_head = mlp(d, h, cfg.head_layers, cfg.num_bins, gen, zero_last=True)
            self.target_value = copy.deepcopy(self.value_head).requires_grad_(False)
        self.to(device)

    @property
    def device(self) -> torch.device:
        return self.bins.device

    @property
    def critic(self) -> nn.Module:
        """The online critic: `value_head` ('v') or `q_heads` ('q')."""
        return self.q_heads if self.cfg.critic == "q" else self.value_head

    @property
    def target_critic(self) -> nn.Module:
        """The critic's EMA copy: `target_value` ('v') or `target_q` ('q')."""
        return self.target_q if self.cfg.critic == "q" else self.target_value

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter the optimiser updates (the EMA targets and a frozen pretrained
        encoder excluded)."""
        targets = {id(p) for m in (self.target_encoder, self.target_critic) for p in m.parameters()}
        return [p for p in self.parameters() if id(p) not in targets and p.requires_grad]

    def ema_pairs(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(online, target) parameters in matching order: target += tau * (online - target)
        (a frozen pretrained encoder's left out: its copies never differ)."""
        online = [*self.encoder.parameters(), *self.critic.parameters()]
        target = [*self.target_encoder.parameters(), *self.target_critic.parameters()]
        pairs = [(o, t) for o, t in zip(online, target, strict=True) if o.requires_grad]
        return [o for o, _ in pairs], [t for _, t in pairs]

    # --- observation normaliser -------------------------------------------------------------

    @torch.no_grad()
    def update_normaliser(self, obs: np.ndarray | torch.Tensor) -> None:
        """Merge raw observations (N, O) into the running mean and variance, 4096 rows at a
        time (a replay of images stays uint8 until then)."""
        obs = torch.from_numpy(np.array(obs)) if isinstance(obs, np.ndarray) else obs
        obs = obs.reshape(-1, self.cfg.obs_dim)
        for start in range(0, obs.shape[0], 4096):
            chunk = obs[start:start + 4096].to(self.device)
            self._merge(chunk.double() if self.cfg.state_dim == 0 else self._values(chunk).double())

    def _merge(self, obs: torch.Tensor) -> None:
        n = obs.shape[0]
        count = self.obs_count
        mean, var = self.obs_mean.double(), self.obs_var.double()
        b_mean, b_var = obs.mean(0), obs.var(0, unbiased=False)
        total = count + n
        delta = b_mean - mean
        new_mean = mean + delta * (n / total)
        m2 = var * count + b_var * n + delta.pow(2) * count * n / total
        self.obs_mean.copy_(new_mean)
        self.obs_var.copy_(torch.where(count > 0, m2 / total, b_var))
        self.obs_count.fill_(float(total))

    def _values(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations (..., O) -> their values (..., W): as they are, or for rows of
        `pixels+state` the pixels and then the state decoded from its float32 bytes."""
        if self.cfg.state_dim == 0:
            return obs.to(self.obs_mean.dtype)
        if obs.dtype != torch.uint8:
            raise ValueError(f"pixels+state observations are uint8 rows, got {obs.dtype}")
        state = obs[..., self._pixels:].clone(memory_format=torch.contiguous_format)
        return torch.cat([obs[..., :self._pixels].to(self.obs_mean.dtype),
                          state.view(torch.float32).to(self.obs_mean.dtype)], dim=-1)

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations (..., O) -> normalised and clipped (..., W).

        States: each dim by its own mean and std. Images: each pixel less its mean, over one
        scale, the pixels' mean std: what stays the same in every frame (a floor, a wall) becomes
        0 and what moves stands out; before any data, (x - 127.5) / 127.5. For a pretrained
        encoder, images in [0, 1] as such networks read them. A state after the images
        (`pixels+state`) is normalised as states are.
        """
        x = self._values(obs)
        if self.cfg.image_shape is None:
            x = (x - self.obs_mean) * torch.rsqrt(self.obs_var + 1e-8)
            return x.clamp(-self.cfg.obs_clip, self.cfg.obs_clip)
        p = self._pixels
        if self.cfg.pretrained_encoder is not None:
            pixels = x[..., :p] / 255.0
        else:
            pixels = ((x[..., :p] - self.obs_mean[:p]) * torch.rsqrt(self.obs_var[:p].mean() + 1e-8)
                      ).clamp(-self.cfg.obs_clip, self.cfg.obs_clip)
        if self.cfg.state_dim == 0:
            return pixels
        state = ((x[..., p:] - self.obs_mean[p:]) * torch.rsqrt(self.obs_var[p:] + 1e-8)
                 ).clamp(-self.cfg.obs_clip, self.cfg.obs_clip)
        return torch.cat([pixels, state], dim=-1)

    # --- latent dynamics ----------------------------------------------------------------------

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations (..., O) -> latents (..., D)."""
        return self._latent(self.encoder(self.normalise(obs)))

    def encode_target(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations (..., O) -> latents (..., D) of the EMA target encoder."""
        return self._latent(self.target_encoder(self.normalise(obs)))

    def predict_ensemble(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Every member's next latent: z (..., D), a (..., A) -> (K, ..., D)."""
        lead = z.shape[:-1]
        x = torch.cat([z, a.to(z.dtype)], dim=-1).reshape(-1, z.shape[-1] + a.shape[-1])
        nxt = z.reshape(1, -1, z.shape[-1]) + self.dynamics(x)
        return self._latent(nxt).reshape(self.cfg.ensemble_size, *lead, z.shape[-1])

    def predict(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Next latent, the mean over members: z (..., D), a (..., A) -> (..., D)."""
        return self.predict_ensemble(z, a).mean(0)

    def predict_split(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Next latent with each row through ONE member: z (..., D), a (..., A) -> (..., D).

        The M = prod(...) rows are cut into K contiguous blocks, block k through member k, so a
        step costs one member's compute instead of K; a row keeps its member from step to step.
        """
        lead, d, k = z.shape[:-1], z.shape[-1], self.cfg.ensemble_size
        x = torch.cat([z, a.to(z.dtype)], dim=-1).reshape(-1, d + a.shape[-1])
        rows = x.shape[0]
        per = -(-rows // k)
        x = torch.cat([x, x.new_zeros(per * k - rows, x.shape[-1])]).reshape(k, per, -1)
        delta = self.dynamics(x).reshape(per * k, d)[:rows]
        return self._latent(z.reshape(rows, d) + delta).reshape(*lead, d)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor,
                members: str = "mean") -> torch.Tensor:
        """Imagined latents after each action: z0 (..., D), actions (..., H, A) -> (..., H, D).

        members: "mean" (every step is the members' mean) or "split" (each row follows one
        member throughout, `predict_split`: K times cheaper, for planning with many samples).
        """
        if members not in ("mean", "split"):
            raise ValueError(f"members must be 'mean' or 'split', got {members!r}")
        step = self.predict if members == "mean" else self.predict_split
        z, out = z0, []
        for t in range(actions.shape[-2]):
            z = step(z, actions[..., t, :])
            out.append(z)
        return torch.stack(out, dim=-2)

    def disagreement(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Epistemic uncertainty of a step: members' std, averaged over dims. (..., D) -> (...)."""
        return self.predict_ensemble(z, a).std(0, unbiased=False).mean(-1)

    # --- heads --------------------------------------------------------------------------------

    def reward_logits(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Two-hot logits (..., num_bins) of the reward for taking a (..., A) in z (..., D)."""
        return self.reward_head(torch.cat([z, a.to(z.dtype)], dim=-1))

    def reward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Predicted reward of taking a (..., A) in z (..., D): (...)."""
        return twohot.expectation(self.reward_logits(z, a), self.bins)

    def termination_logit(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Logit (...) that taking a (..., A) in z (..., D) ends the episode."""
        return self.termination_head(torch.cat([z, a.to(z.dtype)], dim=-1)).squeeze(-1)

    def termination(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Probability (...) that taking a in z ends the episode; zeros when not episodic."""
        if not self.cfg.episodic:
            return torch.zeros(z.shape[:-1], device=z.device)
        return torch.sigmoid(self.termination_logit(z, a).float())

    def value_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Two-hot logits (..., num_bins) of the 'v' critic at z (..., D)."""
        return self.value_head(z)

    def policy(self, z: torch.Tensor) -> torch.Tensor:
        """The 'q' critic's actor: latents (..., D) -> actions (..., A) in [-1, 1]."""
        return torch.tanh(self.actor(z))

    def q_logits(self, z: torch.Tensor, a: torch.Tensor, target: bool = False,
                 frozen: bool = False) -> torch.Tensor:
        """Two-hot logits (2, ..., num_bins) of both Q heads for a (..., A) in z (..., D).

        target: the EMA target heads. frozen: the online heads with their weights detached, so a
        loss through them moves only the inputs (the actor's loss).
        """
        x = torch.cat([z, a.to(z.dtype)], dim=-1)
        flat = x.reshape(-1, x.shape[-1])
        heads = self.target_critic if target else self.q_heads
        if frozen:
            weights = {k: v.detach() for k, v in heads.named_parameters()}
            out = functional_call(heads, weights, (flat,))
        else:
            out = heads(flat)
        return out.reshape(2, *x.shape[:-1], out.shape[-1])

    def q(self, z: torch.Tensor, a: torch.Tensor, target: bool = False,
          frozen: bool = False) -> torch.Tensor:
        """Both Q heads' values (2, ...) of taking a (..., A) in z (..., D); see `q_logits`."""
        return twohot.expectation(self.q_logits(z, a, target, frozen), self.bins)

    def value(self, z: torch.Tensor) -> torch.Tensor:
        """Discounted return expected beyond z (..., D): (...). 'v': under the data's policy;
        'q': the Q heads' mean at the actor's action."""
        if self.cfg.critic == "q":
            return self.q(z, self.policy(z)).mean(0)
        return twohot.expectation(self.value_logits(z), self.bins)

    def target_value_of(self, z: torch.Tensor) -> torch.Tensor:
        """The EMA target critic's value (...) at z (..., D), for TD targets; 'q': the smaller
        target Q at the actor's action."""
        if self.cfg.critic == "q":
            return self.q(z, self.policy(z), target=True).min(0).values
        return twohot.expectation(self.target_critic(z), self.bins)

    def _latent(self, z: torch.Tensor) -> torch.Tensor:
        if self.cfg.anti_collapse == "simnorm":
            return simnorm(z, self.cfg.simnorm_group)
        return z


def count_parameters(model: WorldModel) -> int:
    """Trainable parameters of the model."""
    return sum(p.numel() for p in model.trainable_parameters())

