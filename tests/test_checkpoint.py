"""Checkpoints: round trip with weights_only, atomic writes, bad files are UserErrors."""

from __future__ import annotations

import pytest
import torch

from envs.errors import UserError
from world_model import ModelConfig, WorldModel, load_world_model
from world_model.checkpoint import CHECKPOINT_NAME, read_checkpoint, save_checkpoint

CFG = ModelConfig(obs_dim=4, act_dim=2, latent_dim=8, hidden_dim=16, ensemble_size=2,
                  episodic=True)


def trained_looking_model() -> WorldModel:
    model = WorldModel(CFG, seed=3, env_id="dm_control/cartpole-swingup-v0")
    model.update_normaliser(torch.randn(50, 4) * 3 + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    return model


def test_round_trip_gives_the_same_model_in_eval_mode(tmp_path):
    model = trained_looking_model()
    save_checkpoint(tmp_path / CHECKPOINT_NAME, model)
    raw = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert raw["env_id"] == "dm_control/cartpole-swingup-v0"
    loaded = load_world_model(tmp_path)
    assert not loaded.training and loaded.cfg == CFG and loaded.env_id == model.env_id
    obs, act = torch.randn(5, 4), torch.rand(5, 3, 2)
    z = model.encode(obs)
    torch.testing.assert_close(loaded.encode(obs), z, rtol=0, atol=0)
    torch.testing.assert_close(loaded.rollout(z, act), model.rollout(z, act), rtol=0, atol=0)
    torch.testing.assert_close(loaded.value(z), model.value(z), rtol=0, atol=0)
    torch.testing.assert_close(loaded.termination(z, act[:, 0]), model.termination(z, act[:, 0]))
    assert load_world_model(tmp_path / CHECKPOINT_NAME).env_id == model.env_id


def test_missing_corrupt_and_foreign_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no checkpoint"):
        load_world_model(tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    save_checkpoint(path, trained_looking_model())
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(UserError, match="corrupt"):
        load_world_model(tmp_path)
    path.write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match="corrupt"):
        read_checkpoint(path)
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(UserError, match="not a wmpc"):
        load_world_model(tmp_path)
    save_checkpoint(path, trained_looking_model())
    payload = torch.load(path, weights_only=True)
    torch.save({k: v for k, v in payload.items() if k != "model_config"}, path)
    with pytest.raises(UserError, match="not a wmpc .*model_config"):
        load_world_model(tmp_path)
    diverged = trained_looking_model()
    with torch.no_grad():
        next(diverged.encoder.parameters()).fill_(float("nan"))
    save_checkpoint(path, diverged)
    with pytest.raises(UserError, match="NaN or infinite weights"):
        load_world_model(tmp_path)


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / CHECKPOINT_NAME
    save_checkpoint(path, trained_looking_model())
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, WorldModel(CFG, seed=9))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]
