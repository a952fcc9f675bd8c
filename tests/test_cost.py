"""The cost module: energy terms on known trajectories; the oracle energy equals true returns."""

from __future__ import annotations

import numpy as np
import torch

from agent.cost import (
    CriticCost,
    Energy,
    Imagined,
    LatentImagination,
    SimulatorImagination,
    TaskCost,
)
from envs import make_env
from envs.oracle import SimulatorOracle
from world_model import ModelConfig, WorldModel


def _imagined(rewards, term=None):
    rewards = torch.tensor(rewards, dtype=torch.float32)
    term = torch.zeros_like(rewards) if term is None else torch.tensor(term, dtype=torch.float32)
    keep = torch.cumprod(1 - term, -1)
    alive = torch.cat([torch.ones_like(keep[..., :1]), keep[..., :-1]], -1)
    actions = torch.zeros(*rewards.shape, 1)
    return Imagined(actions, rewards, alive, keep[..., -1])


def test_task_cost_is_minus_the_discounted_return_until_termination():
    im = _imagined([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], term=[[0, 0, 0], [0, 1, 0]])
    cost = TaskCost(discount=0.5)(im)
    torch.testing.assert_close(cost, torch.tensor([-1.75, -1.5]))


def test_latent_energy_adds_the_critic_and_handles_a_batch_of_problems():
    model = WorldModel(ModelConfig(obs_dim=3, act_dim=2, latent_dim=8, hidden_dim=16), seed=0)
    z0 = model.encode(torch.randn(4, 3))
    actions = torch.rand(4, 5, 6, 2) * 2 - 1
    imagined = LatentImagination(model, z0, "split")(actions)
    assert imagined.rewards.shape == (4, 5, 6) and imagined.latents.shape == (4, 5, 7, 8)
    with_critic = Energy([TaskCost(0.9), CriticCost(0.9)])(imagined)
    value = model.value(imagined.latents[..., -1, :])
    torch.testing.assert_close(with_critic - TaskCost(0.9)(imagined), -(0.9**6) * value)


def test_oracle_energy_equals_the_return_env_step_gives():
    env = make_env("dm_control/cartpole-swingup-v0", seed=1)
    env.reset(seed=1)
    oracle = SimulatorOracle(env)
    oracle.sync()
    actions = np.random.default_rng(0).uniform(-1, 1, (3, 4, 1)).astype(np.float32)
    cost = Energy([TaskCost(1.0)]).bind(SimulatorImagination(oracle))(torch.tensor(actions))
    for i in range(3):
        env.reset(seed=1)
        total = sum(env.step(a)[1] for a in actions[i])
        assert abs(-float(cost[i]) - total) < 1e-4


def test_split_members_plan_each_problem_of_a_batch_like_a_single_problem():
    model = WorldModel(ModelConfig(obs_dim=3, act_dim=2, latent_dim=8, hidden_dim=16,
                                   ensemble_size=2), seed=0)
    z0 = model.encode(torch.randn(2, 3))
    actions = torch.rand(2, 8, 4, 2) * 2 - 1
    batched = LatentImagination(model, z0, "split")(actions).rewards
    for b in range(2):
        alone = LatentImagination(model, z0[b], "split")(actions[b]).rewards
        torch.testing.assert_close(batched[b], alone)
