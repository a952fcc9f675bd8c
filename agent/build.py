"""Assemble agents from configs: a planner, an energy and an imagination (learned or true)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from agent.actor import actor_candidates
from agent.config import AgentConfig
from agent.cost import (
    CriticCost,
    Energy,
    LatentImagination,
    SimulatorImagination,
    TaskCost,
)
from agent.mpc import MPCAgent
from envs.errors import UserError
from planners import PLANNERS
from world_model.config import ModelConfig


def make_planner(cfg: AgentConfig, device: torch.device | str, seed: int):
    """The planner `cfg.planner` with the options of `cfg` that it understands."""
    if cfg.planner not in PLANNERS:
        raise UserError(f"unknown planner {cfg.planner!r}; choose from {', '.join(PLANNERS)}")
    cls = PLANNERS[cfg.planner]
    names = {f.name for f in dataclasses.fields(cls.config_class)}
    wanted = {"num_samples": cfg.num_samples, "iterations": cfg.iterations,
              "num_elites": cfg.num_elites, "temperature": cfg.temperature,
              "init_std": cfg.init_std}
    return cls(device=device, seed=seed,
               **{k: v for k, v in wanted.items() if k in names and v is not None})


def learned_agent(model, cfg: AgentConfig, action_dim: int, device, seed: int) -> MPCAgent:
    """MPC in the latent space of `model`: task cost + critic, discounted as the model's critic
    was trained (`ModelConfig.discount`), each sample rolled out through one predictor member; a
    model with a 'q' critic adds `cfg.prior_samples` rollouts of its actor to every plan as
    candidates."""
    terms = [TaskCost(model.cfg.discount)]
    if cfg.use_critic:
        terms.append(CriticCost(model.cfg.discount))

    def imagine(obs: np.ndarray) -> LatentImagination:
        z0 = model.encode(torch.as_tensor(obs, device=model.device))
        return LatentImagination(model, z0, "split")

    propose = None
    if model.cfg.critic == "q" and cfg.prior_samples > 0:

        def propose(imagination: LatentImagination, generator: torch.Generator) -> torch.Tensor:
            return actor_candidates(model.policy, model, imagination.z0, cfg.horizon,
                                    cfg.prior_samples, cfg.prior_noise, generator)

    return MPCAgent(make_planner(cfg, device, seed), Energy(terms), imagine, horizon=cfg.horizon,
                    action_dim=action_dim, device=device, explore_std=cfg.explore_std, seed=seed,
                    propose=propose, compile=cfg.compile,
                    graph=cfg.cuda_graph and torch.device(device).type == "cuda")


def oracle_agent(oracles: list, cfg: AgentConfig, action_dim: int, seed: int) -> MPCAgent:
    """MPC on the true simulator: the same planner and task cost on true rewards, with the
    learned models' default discount.

    `oracles[i]` is a `SimulatorOracle` of problem i; each is synced to its env before planning.
    """

    def imagine(obs: np.ndarray) -> SimulatorImagination:
        for oracle in oracles:
            oracle.sync()
        return SimulatorImagination(oracles if obs.ndim == 2 else oracles[0])

    energy = Energy([TaskCost(ModelConfig.discount)])
    return MPCAgent(make_planner(cfg, "cpu", seed), energy, imagine, horizon=cfg.horizon,
                    action_dim=action_dim, device="cpu", seed=seed)


class RandomAgent:
    """Uniform random actions in [-1, 1] (the baseline), with the agent's act/reset interface."""

    def __init__(self, action_dim: int, seed: int):
        self.action_dim = action_dim
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray, explore: bool = False) -> np.ndarray:
        shape = (obs.shape[0], self.action_dim) if obs.ndim == 2 else (self.action_dim,)
        return self.rng.uniform(-1.0, 1.0, shape).astype(np.float32)

    def reset(self, index: int | None = None) -> None:
        """Nothing to forget."""
