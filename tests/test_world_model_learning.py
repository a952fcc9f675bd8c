"""A briefly trained model predicts held-out DMC episodes better than copying the last latent,
uses its actions, and keeps the observation linearly decodable (no collapse)."""

from __future__ import annotations

import pytest
import torch

from world_model import ModelConfig, WorldModel
from world_model.data import ReplayBuffer, random_episodes
from world_model.train import TrainConfig, Trainer

ENV = "dm_control/cartpole-swingup-v0"


def random_policy_data(episodes: int, seed: int, steps: int = 250) -> ReplayBuffer:
    from envs import make_env

    env = make_env(ENV, seed=seed, episode_steps=steps)
    buf = random_episodes(env, episodes, seed)
    env.close()
    return buf


def train(model_cfg: dict, train_cfg: TrainConfig, updates: int, train_episodes: int = 16):
    data, held_out = random_policy_data(train_episodes, seed=0), random_policy_data(4, seed=1)
    model = WorldModel(ModelConfig(obs_dim=data.obs_dim, act_dim=data.act_dim, **model_cfg))
    model.update_normaliser(torch.from_numpy(data.observations().copy()))
    trainer = Trainer(model, train_cfg, seed=0)
    before = trainer.evaluate(held_out, data)
    for _ in range(updates):
        trainer.update(data.sample(train_cfg.batch_size, train_cfg.horizon, trainer.generator))
    return before, trainer.evaluate(held_out, data)


@pytest.fixture
def one_thread():
    """Small matmuls run fastest on one thread; restore the caller's setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_brief_training_beats_copy_last_and_uses_actions(one_thread):
    before, after = train({"latent_dim": 32, "hidden_dim": 64, "ensemble_size": 2},
                          TrainConfig(batch_size=64, horizon=5, lr=1e-3, eval_windows=512), 600)
    assert after["pred_ratio_k5"] < 0.6 < before["pred_ratio_k5"]
    assert after["shuffled_ratio_k5"] > 2.0 * after["pred_ratio_k5"]
    assert after["probe_r2"] > 0.75
    assert after["rollout_probe_r2_k5"] > after["copy_probe_r2_k5"]
    assert after["effective_rank"] > 4.0
    assert after["reward_r2"] > 0.5


@pytest.mark.slow
def test_default_model_learns_cartpole_well(one_thread):
    _, after = train({}, TrainConfig(batch_size=256, horizon=5), 3000, train_episodes=40)
    assert after["pred_ratio_k5"] < 0.2
    assert after["shuffled_ratio_k5"] > 4.0 * after["pred_ratio_k5"]
    assert after["probe_r2"] > 0.85
    assert after["reward_r2"] > 0.8
