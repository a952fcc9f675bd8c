"""`ModelConfig`: the sizes and loss weights of a `WorldModel` (torch-free, JSON round-trip)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

ANTI_COLLAPSE = ("vicreg", "simnorm")
CRITICS = ("v", "q")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes, heads and loss weights of the latent world model.

    The defaults are a small model that trains on a laptop CPU; `ModelConfig.tdmpc2_size(...)`
    gives TD-MPC2's 5M-parameter shape (latent 512, MLPs 512 wide).
    """

    obs_dim: int
    """Size O of a flat float32 observation."""
    act_dim: int
    """Size A of an action; actions live in [-1, 1]."""
    image_shape: tuple[int, int, int] | None = None
    """(C, H, W) when observations are images (`make_env(obs="pixels")`: flat uint8 frame
    stacks, O = C * H * W), read by a convolutional encoder; None for state vectors. Derived
    from the env or the dataset. Rows longer than C * H * W carry a state after the frames as
    its float32 bytes (`obs="pixels+state"`, `state_dim` values), read by an MLP beside."""
    pretrained_encoder: str | None = None
    """For images: `module:function` building a frozen pretrained network from weights on your
    disk (nothing is downloaded) that maps frames (N, 3, H, W) in [0, 1] to features (N, ...);
    each frame of a stack is encoded, the features joined and a trained Linear maps them to the
    latent. None: a convolutional encoder trained from scratch. Checkpoints keep its weights, but
    the function builds its architecture, so it must be importable wherever the run is loaded."""
    latent_dim: int = 64
    """Size D of the latent state z."""
    hidden_dim: int = 256
    """Width of every hidden layer (encoder, predictor members, heads)."""
    layers: int = 2
    """Hidden layers in the encoder and in each predictor member (Linear, LayerNorm, Mish)."""
    head_layers: int = 1
    """Hidden layers in the reward, termination and critic heads and in the 'q' critic's actor."""
    ensemble_size: int = 2
    """K predictor members, run as one batched matmul; their spread is `disagreement`. 2 keeps
    CPU updates fast; planning rolls each sample through one member, so it costs the same for
    any K."""
    discount: float = 0.99
    """Per-decision discount of the critic's TD targets and of the planner's energy (rewards
    inside the horizon, the critic at its end)."""
    episodic: bool = False
    """Whether episodes can terminate: trains the termination head and cuts TD targets there."""
    anti_collapse: str = "vicreg"
    """'vicreg' (variance + covariance terms on the online latents) or 'simnorm' (TD-MPC2's
    simplicial normalisation of every latent)."""
    simnorm_group: int = 8
    """Group size of 'simnorm'; latent_dim must be a multiple of it."""
    ema_tau: float = 0.01
    """Step size of the EMA target networks (the target encoder the predictions aim at, the
    target critic): target += tau * (online - target) per update."""
    rho: float = 0.5
    """Depth decay of the prediction, reward and value losses: step t weighs rho**t."""
    td_steps: int = 5
    """Largest n of the n-step TD targets (shortened where the window ends)."""
    prediction_weight: float = 20.0
    """Weight of the multi-step latent prediction loss."""
    variance_weight: float = 1.0
    """Weight of the VICReg variance hinge (per-dimension std below 1 is penalised)."""
    covariance_weight: float = 0.04
    """Weight of the VICReg covariance term (off-diagonal covariance squared, divided by D)."""
    reward_weight: float = 0.1
    """Weight of the reward head's cross-entropy."""
    termination_weight: float = 1.0
    """Weight of the termination head's binary cross-entropy (episodic tasks only)."""
    value_weight: float = 0.1
    """Weight of the critic's TD cross-entropy."""
    critic: str = "v"
    """'v': a state value of the replay's own behaviour, learnt by n-step TD on replay actions.
    'q': TD-MPC2's kind, two action values Q(z, a) learnt by n-step TD (`td_steps`) bootstrapped
    with the smaller of the two EMA target Qs at (z', actor(z')), with a deterministic actor in
    the model trained to maximise Q; the value of a latent is then Q(z, actor(z)), the critic of a
    policy that improves on the replay's instead of describing it."""
    num_bins: int = 101
    """Bins of the two-hot reward and value distributions (in symlog space)."""
    symlog_max: float = 10.0
    """The bins span symlog values [-symlog_max, symlog_max]."""
    obs_clip: float = 10.0
    """Normalised observations are clipped to [-obs_clip, obs_clip]."""

    def __post_init__(self) -> None:
        if self.image_shape is not None:
            shape = tuple(int(v) for v in self.image_shape)
            object.__setattr__(self, "image_shape", shape)
            extra = self.obs_dim - (shape[0] * shape[1] * shape[2] if len(shape) == 3 else 0)
            if len(shape) != 3 or min(shape) < 1 or extra < 0 or extra % 4:
                raise ValueError(f"ModelConfig.image_shape {shape} is not a (C, H, W) of "
                                 f"obs_dim {self.obs_dim} values (and 4 bytes per state value)")
        if self.pretrained_encoder is not None and self.image_shape is None:
            raise ValueError("ModelConfig.pretrained_encoder needs image observations "
                             "(--obs pixels)")
        positive = ("obs_dim", "act_dim", "latent_dim", "hidden_dim", "ensemble_size",
                    "simnorm_group", "td_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"ModelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.layers < 1 or self.head_layers < 0:
            raise ValueError("ModelConfig.layers must be >= 1 and head_layers >= 0")
        if self.anti_collapse not in ANTI_COLLAPSE:
            raise ValueError(f"ModelConfig.anti_collapse must be one of {ANTI_COLLAPSE}")
        if self.anti_collapse == "simnorm" and self.latent_dim % self.simnorm_group:
            raise ValueError("ModelConfig.latent_dim must be a multiple of simnorm_group")
        if not 0.0 < self.ema_tau <= 1.0 or not 0.0 <= self.discount <= 1.0:
            raise ValueError("ModelConfig.ema_tau must be in (0, 1] and discount in [0, 1]")
        if self.critic not in CRITICS:
            raise ValueError(f"ModelConfig.critic must be one of {CRITICS}")
        if self.num_bins < 2 or self.symlog_max <= 0:
            raise ValueError("ModelConfig.num_bins must be >= 2 and symlog_max > 0")

    @property
    def state_dim(self) -> int:
        """Values of the state that image rows carry after their frames (0 for plain images
        and for state observations)."""
        if self.image_shape is None:
            return 0
        channels, height, width = self.image_shape
        return (self.obs_dim - channels * height * width) // 4

    @classmethod
    def tdmpc2_size(cls, obs_dim: int, act_dim: int, **overrides: Any) -> ModelConfig:
        """TD-MPC2's default (5M) shape: latent 512, every MLP 512 wide."""
        return cls(obs_dim=obs_dim, act_dim=act_dim, **{"latent_dim": 512, "hidden_dim": 512,
                                                        **overrides})

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys (a model of another wmpc version) raise
        ValueError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown ModelConfig fields {sorted(unknown)}: a model saved by "
                             "another version of wmpc")
        return cls(**data)
