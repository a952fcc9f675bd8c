"""The MPC agent: plans to a known optimum, warm-starts from the shifted plan, batches, explores."""

from __future__ import annotations

import numpy as np
import torch

from agent.cost import Energy, Imagined
from agent.mpc import MPCAgent
from planners import CEM

TARGET = torch.tensor([0.6, -0.4])


class _Known:
    """Imagination with a known cost: reward = -||a_t - TARGET||^2 at every step."""

    def __init__(self, obs):
        self.obs = obs

    def __call__(self, actions):
        rewards = -((actions - TARGET) ** 2).sum(-1)
        alive = torch.ones_like(rewards)
        return Imagined(actions, rewards, alive, alive[..., -1])


def _agent(explore_std=0.0):
    from agent.cost import TaskCost

    planner = CEM(num_samples=128, iterations=8, seed=0)
    return MPCAgent(planner, Energy([TaskCost(1.0)]), _Known, horizon=4, action_dim=2,
                    explore_std=explore_std, seed=0)


def test_act_finds_the_known_optimum_and_warm_starts():
    agent = _agent()
    first = agent.act(np.zeros(3, np.float32))
    assert np.abs(first - TARGET.numpy()).max() < 0.1
    before = agent._mean.clone()
    agent.act(np.zeros(3, np.float32))
    assert agent._init_mean(None).shape == (4, 2)
    torch.testing.assert_close(agent._init_mean(None)[:-1], agent._mean[1:])
    assert not torch.equal(before, agent._mean)
    agent.reset()
    assert agent._mean is None


def test_batch_of_observations_gives_a_batch_of_actions():
    actions = _agent().act(np.zeros((3, 5), np.float32))
    assert actions.shape == (3, 2)
    assert np.abs(actions - TARGET.numpy()).max() < 0.1


def test_exploration_noise_only_when_asked_and_within_bounds():
    obs = np.zeros(3, np.float32)
    planned = _agent(explore_std=0.0).act(obs, explore=True)  # no noise to add: the plan itself
    np.testing.assert_array_equal(_agent(explore_std=0.5).act(obs), planned)  # not asked
    noisy = _agent(explore_std=0.5).act(obs, explore=True)
    assert not np.allclose(planned, noisy)
    assert np.all(np.abs(noisy) <= 1.0)


def test_graph_mode_replays_with_each_calls_start_latent():
    """On a CPU the captured plan falls back to eager, but through the same static-z0 plumbing the
    CUDA replay uses: every call must plan from its own observation, exactly as eager does."""
    from agent.build import learned_agent
    from agent.config import AgentConfig
    from world_model import ModelConfig, WorldModel

    model = WorldModel(ModelConfig(obs_dim=3, act_dim=2, latent_dim=8, hidden_dim=16,
                                   ensemble_size=2), seed=0)
    with torch.no_grad():
        model.reward_head[-1].weight.normal_(generator=torch.Generator().manual_seed(1))
    cfg = AgentConfig(num_samples=32, iterations=2, num_elites=4)
    eager, graphed = (learned_agent(model, cfg, 2, "cpu", seed=0) for _ in range(2))
    graphed.graph = True
    observations = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    plans = [(eager.act(o), graphed.act(o)) for o in observations]
    for a, b in plans:
        np.testing.assert_array_equal(a, b)
    assert len(graphed._graphs) == 1
    assert not np.allclose(plans[0][0], plans[-1][0])  # the observations do change the plan
