"""Typed configuration of the agent (planning) and of the online loop; saved beside every run."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class AgentConfig:
    """How the MPC agent plans."""

    planner: str = "mppi"
    """Planner name: cem, icem, mppi, gradient, cem-gradient (see `planners.PLANNERS`)."""
    horizon: int = 3
    """Planning horizon H in agent decisions."""
    num_samples: int = 256
    """Candidate action sequences per planner iteration (restarts for the gradient planner)."""
    iterations: int = 4
    """Planner iterations per decision."""
    num_elites: int = 32
    """Elites kept by the sampling planners."""
    temperature: float = 0.5
    """MPPI temperature on normalised costs."""
    init_std: float | None = None
    """Std of the planner's Gaussian at the start of every plan, before any refit (the gradient
    planner: the spread of its restarts); None keeps the planner's own default (0.5 for the
    sampling planners). Samples are clipped to [-1, 1], so a std above 1 (TD-MPC2 uses 2) makes
    most first-round samples bang-bang, which finds moves a narrow search around the warm start
    misses."""
    use_critic: bool = True
    """Add the learned critic's value at the horizon's end to the energy."""
    eval_init_std: float | None = 2.0
    """`init_std` of evaluation plans (the online loop's and `wmpc eval`'s); None plans as in
    training. A wide start, as TD-MPC2 uses, found cartpole's
    swing-up and more of reacher's targets on checkpoints trained with final noise 0.05, changed
    nothing on those trained with 0.15, and costs cheetah-run about 15 (docs/ablations.md "Planner
    start std at evaluation", measured with MPPI; for the gradient planner it is the restarts'
    spread).
    """
    explore_std: float = 0.3
    """Std of Gaussian noise added to executed actions while training, at decision 0 (none in
    evaluation)."""
    explore_std_final: float = 0.15
    """The noise std reached after `explore_decay_steps` decisions (linear in between); 0.15
    kept cartpole-swingup's pole from being left hanging where 0.05 did (docs/ablations.md,
    "Exploration noise")."""
    explore_decay_steps: int = 25_000
    """Decisions over which the noise std moves from `explore_std` to `explore_std_final`."""
    goal_energy: str = "min"
    """How the distances to a goal along the horizon become one energy when planning to a goal:
    "min" (closest approach), "end" (the last) or "sum" (`agent.goals.GOAL_MODES`)."""
    prior_samples: int = 0
    """Rollouts of the 'q' critic's actor (`ModelConfig.critic`) added to every plan as
    candidates, as TD-MPC2 does; 0 adds none (and the 'v' critic has no actor)."""
    cuda_graph: bool = True
    """On CUDA, capture each plan shape once as a CUDA graph and replay it (no effect on a CPU)."""
    compile: bool = True
    """On a CPU, compile the energy (rollout, heads, critic) with torch.compile when a C++
    compiler is there (`world_model.compiled`); no effect on CUDA (`cuda_graph` instead)."""
    prior_noise: float = 0.3
    """Std of the Gaussian noise on the actor's actions in all but its first rollout."""

    def __post_init__(self) -> None:
        for name in ("horizon", "num_samples", "iterations", "num_elites"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.prior_samples < 0:
            raise ValueError(f"prior_samples must be >= 0, got {self.prior_samples}")
        for name in ("explore_std", "explore_std_final", "explore_decay_steps"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("init_std", "eval_init_std"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    def for_evaluation(self) -> AgentConfig:
        """This config as evaluations plan: `eval_init_std` (where set) as `init_std`."""
        std = self.init_std if self.eval_init_std is None else self.eval_init_std
        return replace(self, init_std=std)


@dataclass(frozen=True)
class RunConfig:
    """The online loop: collect, learn, plan."""

    env_id: str = "dm_control/cartpole-swingup-v0"
    """Environment id (Gymnasium, Shimmy dm_control/..., or module:EnvId)."""
    steps: int = 10_000
    """Agent decisions to take in the environment (environment steps = decisions x the env's
    action repeat; the DMC anchors count environment steps)."""
    seed: int = 0
    """Seed of everything: envs, networks, planners, sampling."""
    seed_steps: int = 1_000
    """Decisions with uniform random actions before planning starts."""
    updates_per_step: float = 0.5
    """World-model gradient updates per environment decision after the seed phase."""
    pretrain_updates: int = 1_000
    """Updates done once when the seed phase ends."""
    eval_every: int = 5_000
    """Evaluate every this many decisions (and at the end)."""
    eval_episodes: int = 5
    """Episodes per evaluation, planned as one batch."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments passed to the environment's constructor."""
    num_envs: int = 1
    """Envs stepped at once, one batched plan for all (Gymnasium's AsyncVectorEnv for more than
    one); every env's decisions count towards `steps`, which must be a multiple of it."""

    def __post_init__(self) -> None:
        for name in ("steps", "eval_every", "eval_episodes", "num_envs"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("steps", "eval_every"):
            if getattr(self, name) % self.num_envs:
                raise ValueError(f"{name} ({getattr(self, name)}) must be a multiple of num_envs "
                                 f"({self.num_envs})")
        for name in ("seed_steps", "pretrain_updates", "updates_per_step"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


def explore_std_at(cfg: AgentConfig, step: int) -> float:
    """The training noise std at decision `step`: linear from `explore_std` to
    `explore_std_final` over `explore_decay_steps`, then constant."""
    frac = min(1.0, step / cfg.explore_decay_steps) if cfg.explore_decay_steps > 0 else 1.0
    return (1.0 - frac) * cfg.explore_std + frac * cfg.explore_std_final


def config_from_dict(cls: type, data: dict[str, Any]):
    """Build `cls` from a dict, ignoring keys it does not know (older or newer runs)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
