"""The learned temporal distance (`world_model.temporal_distance`): data-graph distances stitch
trajectories, never cross gaps wider than the radius, and the fitted head orders goals."""

from __future__ import annotations

import numpy as np
import torch

from envs import make_env
from world_model import WorldModel
from world_model.config import ModelConfig
from world_model.data import random_episodes
from world_model.temporal_distance import fit_temporal_distance, graph_distances


def test_graph_distances_stitch_trajectories_and_respect_gaps():
    xs = np.arange(11.0)
    right = np.stack([xs, np.zeros(11)], 1)                     # (0, 0) -> (10, 0)
    down = np.stack([np.full(11, 5.0), 10.1 - xs], 1)           # (5, 10.1) -> (5, 0.1)
    beside = np.stack([xs[::-1], np.full(11, 0.5)], 1)          # (10, 0.5) -> (0, 0.5): 0.5 away
    nodes, dist = graph_distances([right, down, beside], stride=1, radius=0.25)
    index = {(int(e), int(t)): i for i, (e, t) in enumerate(nodes)}
    # 10 steps down, 1 to merge at (5, 0), 5 steps right
    assert dist[index[1, 0], index[0, 10]] == 16
    assert dist[index[0, 0], index[0, 10]] == 10
    assert np.isinf(dist[index[0, 10], index[0, 0]])           # trajectories run forwards only
    assert np.isinf(dist[index[2, 0], index[0, 10]])           # 0.5 apart: never joined
    assert np.isinf(dist[index[0, 0], index[1, 0]])


def test_temporal_distance_orders_near_goals_below_far_goals():
    env = make_env("goal_point_env:GoalPointMass-v0", seed=0)
    buffer = random_episodes(env, 60, seed=0)
    episodes = [buffer.episode(e)["obs"] for e in range(buffer.num_episodes)]
    model = WorldModel(ModelConfig(obs_dim=8, act_dim=2, latent_dim=16, hidden_dim=64), seed=0)
    head = fit_temporal_distance(model, episodes, slice(0, 2), stride=2, radius=0.1, steps=600,
                                 batch=256)
    assert float(head.r2) > 0.5
    rng = np.random.default_rng(1)
    starts = np.concatenate([episodes[e][::5] for e in range(50, 60)])
    pos = starts[:, :2]
    near = np.clip(pos + rng.normal(0, 0.1, pos.shape), -1, 1)
    far = np.clip(-pos + rng.normal(0, 0.1, pos.shape), -1, 1)
    with torch.no_grad():
        z = model.encode(torch.as_tensor(starts, dtype=torch.float32))
        d_near = head(z, torch.as_tensor(near, dtype=torch.float32))
        d_far = head(z, torch.as_tensor(far, dtype=torch.float32))
    far_apart = np.linalg.norm(far - pos, axis=1) > 0.6
    assert far_apart.sum() > 20
    assert (d_near < d_far).numpy()[far_apart].mean() > 0.9


def test_goal_cost_aggregates_a_learned_metric_over_the_horizon():
    from agent.cost import Imagined
    from agent.goals import GoalCost

    # latents (N=2, H+1=3, D=1); the "metric" counts |z - target| as decisions, doubled
    latents = torch.tensor([[[0.0], [3.0], [1.0]], [[0.0], [2.0], [2.5]]])
    im = Imagined(torch.zeros(2, 2, 1), torch.zeros(2, 2), torch.ones(2, 2), torch.ones(2),
                  latents)
    cost = GoalCost("min", weight=0.5, metric=lambda z, g: 2 * (z - g).abs().squeeze(-1))
    cost.aim(torch.tensor([1.0]))
    torch.testing.assert_close(cost(im), torch.tensor([0.0, 1.0]))
