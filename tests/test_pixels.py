"""Pixel observations: the rendering wrapper's contract, uint8 datasets and replay, the
convolutional encoder learning a JEPA model from images."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import tests.pixel_point_env  # noqa: F401  (registers PixelPoint-v0)
from envs import UserError, make_env
from envs.record import collect
from world_model import ModelConfig, WorldModel
from world_model.data import ReplayBuffer, load_trajectories
from world_model.metrics import evaluate_model
from world_model.pixels import random_shift
from world_model.train import TrainConfig, Trainer

POINT = "tests.pixel_point_env:PixelPoint-v0"


def _steps(env, actions):
    frames = [env.reset(seed=3)[0]]
    for a in actions:
        frames.append(env.step(a)[0])
    return np.stack(frames)


def test_pixel_observations_are_stacked_uint8_frames_of_the_env_view():
    env = make_env(POINT, obs="pixels", frame_stack=2)
    assert env.get_wrapper_attr("image_shape") == (6, 64, 64)
    assert env.observation_space.dtype == np.uint8
    assert env.observation_space.shape == (6 * 64 * 64,)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs.shape == (6 * 64 * 64,)
    first = obs.reshape(2, 3, 64, 64)
    assert np.array_equal(first[0], first[1])  # a reset fills the stack with its frame
    nxt = env.step(np.array([1.0, 0.0], np.float32))[0].reshape(2, 3, 64, 64)
    assert np.array_equal(nxt[0], first[1])  # oldest first: the previous frame moved down
    assert not np.array_equal(nxt[1], nxt[0])  # the point moved right
    red = (nxt[1][0] > 200) & (nxt[1][1] < 100)
    red_before = (first[1][0] > 200) & (first[1][1] < 100)
    assert red.any() and np.nonzero(red)[1].mean() > np.nonzero(red_before)[1].mean()


def test_pixel_observations_are_deterministic_under_a_seed():
    actions = np.random.default_rng(0).uniform(-1, 1, (5, 2)).astype(np.float32)
    a = _steps(make_env(POINT, obs="pixels"), actions)
    b = _steps(make_env(POINT, obs="pixels"), actions)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("env_id", ["dm_control/cartpole-swingup-v0", "InvertedPendulum-v5"])
def test_mujoco_envs_render_pixel_observations(env_id):
    env = make_env(env_id, obs="pixels", image_size=64, seed=1)
    actions = np.zeros((3, env.action_space.shape[0]), np.float32)
    first = _steps(env, actions)
    again = _steps(env, actions)
    env.close()
    assert first.dtype == np.uint8 and first.shape == (4, 9 * 64 * 64)
    assert first.std() > 5  # a picture, not a blank frame
    assert np.array_equal(first, again)


def test_bad_pixel_settings_are_one_clear_error():
    with pytest.raises(UserError, match="cannot render"):
        make_env("tests.pixel_point_env:BlindPoint-v0", obs="pixels")
    with pytest.raises(UserError, match="obs must be one of"):
        make_env(POINT, obs="images")
    with pytest.raises(UserError, match="image_size"):
        make_env(POINT, obs="pixels", image_size=2)


def test_pixel_datasets_round_trip_as_uint8(tmp_path):
    out = collect(POINT, 60, tmp_path / "px", policy=lambda obs: np.array([0.5, -0.5]),
                  env_kwargs={"obs": "pixels", "frame_stack": 1}, progress=False)
    buffer = load_trajectories(str(out))
    assert buffer.image_shape == (3, 64, 64)
    assert buffer.observations().dtype == np.uint8
    env = make_env(POINT, obs="pixels", frame_stack=1)
    first, _ = env.reset(seed=0)
    assert np.array_equal(buffer.episode(0)["obs"][0], first)
    batch = buffer.sample(4, 3, np.random.default_rng(0))
    assert batch["obs"].dtype == torch.uint8 and batch["obs"].shape == (4, 4, 3 * 64 * 64)
    again = ReplayBuffer.from_state_dict(buffer.state_dict())
    assert again.image_shape == (3, 64, 64)
    assert np.array_equal(again.observations(), buffer.observations())


def test_image_datasets_we_did_not_write_are_read_channels_first(tmp_path, monkeypatch):
    import gymnasium as gym
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 40, 48, 3), dtype=np.uint8)  # (T+1, H, W, C)
    episode = EpisodeBuffer(observations=frames, actions=rng.uniform(-1, 1, (5, 2)),
                            rewards=np.zeros(5), terminations=np.zeros(5, bool),
                            truncations=np.eye(5, dtype=bool)[-1], infos={})
    minari.create_dataset_from_buffers(
        "cam/images-v0", [episode],
        observation_space=gym.spaces.Box(0, 255, (40, 48, 3), np.uint8),
        action_space=gym.spaces.Box(-1, 1, (2,), np.float32), jpeg_encoding=False)
    buffer = load_trajectories(str(tmp_path / "cam" / "images-v0"))
    assert buffer.image_shape == (3, 40, 48)
    stored = buffer.episode(0)["obs"].reshape(6, 3, 40, 48)
    assert np.array_equal(stored, frames.transpose(0, 3, 1, 2))


def test_image_buffers_refuse_values_outside_pixel_range():
    buffer = ReplayBuffer(3 * 8 * 8, 2, image_shape=(3, 8, 8))
    obs = np.full((3, 192), 300.0)
    with pytest.raises(UserError, match="pixel values"):
        buffer.add_episode(obs, np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.ones(2))


def test_random_shift_moves_whole_images_within_the_pad():
    image = torch.zeros(1, 3, 16, 16, dtype=torch.uint8)
    image[0, :, 6:10, 6:10] = 255
    shifted = random_shift(image.reshape(1, -1).expand(50, -1), (3, 16, 16), 2,
                           np.random.default_rng(0)).reshape(50, 3, 16, 16)
    assert shifted.dtype == torch.uint8
    assert torch.equal(shifted[:, 0], shifted[:, 2])  # the channels move together
    rows = [int(torch.nonzero(s[0]).float()[:, 0].mean()) for s in shifted]
    assert min(rows) < 7 and max(rows) > 8 and all(5 <= r <= 10 for r in rows)
    assert (shifted[:, 0] == 255).sum((1, 2)).eq(16).all()  # the square is cropped, not cut


def test_a_pixel_model_learns_action_conditioned_predictions_without_collapsing(tmp_path):
    out = collect(POINT, 1500, tmp_path / "px", policy=_random_policy(), seed=0,
                  env_kwargs={"obs": "pixels", "frame_stack": 1}, progress=False)
    train, val = load_trajectories(str(out)).split_episodes(0.2, seed=0)
    cfg = ModelConfig(obs_dim=train.obs_dim, act_dim=2, image_shape=train.image_shape,
                      latent_dim=32, hidden_dim=128)
    model = WorldModel(cfg, seed=0)
    model.update_normaliser(train.observations())
    trainer = Trainer(model, TrainConfig(batch_size=16, horizon=2, lr=1e-3, compile=False),
                      seed=0)
    for _ in range(400):
        trainer.update(train.sample(16, 2, trainer.generator))
    after = evaluate_model(model, val, horizon=2, windows=128)
    assert after["shuffled_ratio_k1"] > 1.3 * after["pred_ratio_k1"], after  # reads actions
    assert after["pred_error_norm_k1"] < 0.5, after  # well below the latents' spread
    assert after["effective_rank"] > 4.0, after
    assert json.loads(json.dumps(cfg.to_dict()))["image_shape"] == [3, 64, 64]


def _random_policy():
    rng = np.random.default_rng(1)
    return lambda obs: rng.uniform(-1, 1, 2).astype(np.float32)


def test_a_frozen_pretrained_encoder_plugs_in_and_only_its_head_learns(tmp_path):
    from world_model.checkpoint import load_world_model, save_checkpoint

    out = collect(POINT, 300, tmp_path / "px", policy=_random_policy(), seed=0,
                  env_kwargs={"obs": "pixels", "frame_stack": 2}, progress=False)
    data = load_trajectories(str(out))
    cfg = ModelConfig(obs_dim=data.obs_dim, act_dim=2, image_shape=data.image_shape,
                      pretrained_encoder="tests.frozen_encoder:build", latent_dim=16,
                      hidden_dim=32)
    model = WorldModel(cfg, seed=0)
    frozen = {k: v.clone() for k, v in model.encoder.net.state_dict().items()}
    head = model.encoder.out.weight.detach().clone()
    trainable = {id(p) for p in model.trainable_parameters()}
    assert not any(id(p) in trainable for p in model.encoder.net.parameters())
    trainer = Trainer(model, TrainConfig(batch_size=8, horizon=2, compile=False), seed=0)
    for _ in range(5):
        trainer.update(data.sample(8, 2, trainer.generator))
    for key, value in model.encoder.net.state_dict().items():
        torch.testing.assert_close(value, frozen[key])  # batch-norm statistics too
    assert not torch.equal(model.encoder.out.weight, head)
    save_checkpoint(tmp_path / "run" / "checkpoint.pt", model)
    loaded = load_world_model(tmp_path / "run")
    obs = torch.as_tensor(np.array(data.observations()[:4]))
    torch.testing.assert_close(loaded.encode(obs), model.eval().encode(obs))


@pytest.mark.parametrize(("spec", "message"), [
    ("nocolon", "module:function"),
    ("tests.frozen_encoder:missing", "cannot load"),
    ("tests.frozen_encoder:broken", "failed to build: FileNotFoundError"),
])
def test_a_bad_pretrained_encoder_is_one_line(spec, message):
    with pytest.raises(UserError, match=message):
        WorldModel(ModelConfig(obs_dim=3 * 64 * 64, act_dim=2, image_shape=(3, 64, 64),
                               pretrained_encoder=spec))
