"""`train_offline` / `wmpc train`: exact resume, run folder contents, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from envs.errors import UserError
from world_model import load_world_model
from world_model.checkpoint import CHECKPOINT_NAME, read_checkpoint
from world_model.data import ReplayBuffer
from world_model.train import TrainConfig, Trainer, train_offline

SMALL = {"latent_dim": 8, "hidden_dim": 16, "ensemble_size": 2}


def linear_system(episodes: int = 6, steps: int = 12, obs_dim: int = 4, seed: int = 0,
                  env_id: str = "test/linear-v0") -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    a = np.eye(obs_dim) * 0.9 + 0.05 * rng.normal(size=(obs_dim, obs_dim))
    b = rng.normal(size=(obs_dim, 2))
    buf = ReplayBuffer(obs_dim, 2, metadata={"env_id": env_id})
    for _ in range(episodes):
        obs = [rng.normal(size=obs_dim)]
        act = rng.uniform(-1, 1, size=(steps, 2))
        for t in range(steps):
            obs.append(a @ obs[-1] + 0.1 * b @ act[t])
        obs = np.array(obs)
        buf.add_episode(obs, act, -np.square(obs[1:]).sum(1), np.zeros(steps, bool),
                        np.r_[np.zeros(steps - 1, bool), True])
    return buf


def config(steps: int) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=16, horizon=3, log_every=2, eval_every=4,
                       checkpoint_every=4, eval_windows=32, val_fraction=0.3)


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    data = linear_system()
    whole = train_offline(data, tmp_path / "whole", config(8), SMALL, seed=4, progress=False)
    train_offline(data, tmp_path / "split", config(4), SMALL, seed=4, progress=False)
    resumed = train_offline(data, tmp_path / "split", config(8), seed=999, resume=True,
                            progress=False)
    assert resumed == whole
    a, b = read_checkpoint(tmp_path / "whole"), read_checkpoint(tmp_path / "split")
    assert a["trainer"]["step"] == b["trainer"]["step"] == 8
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for key, state in a["trainer"]["optimizer"]["state"].items():
        assert torch.equal(state["exp_avg"], b["trainer"]["optimizer"]["state"][key]["exp_avg"])


def test_a_kill_before_the_first_checkpoint_every_loses_only_the_time_cadence(tmp_path,
                                                                            monkeypatch):
    import dataclasses

    data = linear_system()
    cfg = dataclasses.replace(config(8), checkpoint_every=1000, checkpoint_seconds=0.0)
    real_update = Trainer.update_async

    def update_then_die(self, batch):
        if self.step == 5:
            raise KeyboardInterrupt  # killed during update 6 of 8
        return real_update(self, batch)

    monkeypatch.setattr(Trainer, "update_async", update_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_offline(data, tmp_path / "run", cfg, SMALL, seed=4, progress=False)
    assert read_checkpoint(tmp_path / "run")["trainer"]["step"] == 5
    monkeypatch.setattr(Trainer, "update_async", real_update)
    resumed = train_offline(data, tmp_path / "run", cfg, resume=True, progress=False)
    whole = train_offline(data, tmp_path / "whole", cfg, SMALL, seed=4, progress=False)
    assert resumed == whole


def test_trainer_state_dict_round_trip_gives_the_same_next_update():
    data = linear_system()
    from world_model import ModelConfig, WorldModel

    cfg = ModelConfig(obs_dim=4, act_dim=2, **SMALL)
    first = Trainer(WorldModel(cfg), config(5), seed=1)
    for _ in range(3):
        first.update(data.sample(16, 3, first.generator))
    second = Trainer(WorldModel(cfg, seed=7), config(5), seed=2)
    second.load_state_dict(first.state_dict())
    a = first.update(data.sample(16, 3, first.generator))
    b = second.update(data.sample(16, 3, second.generator))
    assert a == b and set(a) >= {"prediction", "variance", "reward", "value", "grad_norm"}


def test_run_folder_holds_checkpoint_config_and_tensorboard_events(tmp_path):
    out = tmp_path / "run"
    metrics = train_offline(linear_system(), out, config(4), SMALL, progress=False)
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"]["latent_dim"] == 8 and saved["train"]["steps"] == 4
    assert saved["dataset"]["env_id"] == "test/linear-v0" and saved["seed"] == 0
    assert list(out.glob("events.out.tfevents.*"))
    assert {"pred_ratio_k3", "shuffled_ratio_k1", "probe_r2", "effective_rank"} <= set(metrics)
    model = load_world_model(out)
    assert model.env_id == "test/linear-v0" and not model.training


def test_bad_runs_are_user_errors_that_leave_the_checkpoint_alone(tmp_path):
    out = tmp_path / "run"
    train_offline(linear_system(), out, config(2), SMALL, progress=False)
    before = (out / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(UserError, match="--resume"):
        train_offline(linear_system(), out, config(4), SMALL, progress=False)
    with pytest.raises(UserError, match="obs 4, act 2 but the data has obs 5"):
        train_offline(linear_system(obs_dim=5), out, config(4), resume=True, progress=False)
    with pytest.raises(UserError, match="trained on test/linear-v0"):
        train_offline(linear_system(env_id="other-v0"), out, config(4), resume=True,
                      progress=False)
    with pytest.raises(UserError, match="no checkpoint"):
        train_offline(linear_system(), tmp_path / "fresh", config(4), resume=True,
                      progress=False)
    with pytest.raises(UserError, match="horizon"):
        train_offline(linear_system(steps=2), tmp_path / "short", config(4), progress=False)
    assert (out / CHECKPOINT_NAME).read_bytes() == before
    (out / CHECKPOINT_NAME).write_bytes(before[:100])
    with pytest.raises(UserError, match="corrupt"):
        train_offline(linear_system(), out, config(4), resume=True, progress=False)
    assert (out / CHECKPOINT_NAME).read_bytes() == before[:100]


def test_wmpc_train_command_on_a_collected_dataset(tmp_path):
    from agent.commands.train import command
    from envs.record import collect

    data = collect("dm_control/cartpole-swingup-v0", 1500, tmp_path / "data",
                   policy=lambda obs: np.zeros(1, np.float32), seed=0, progress=False)
    app = typer.Typer()
    app.command()(command)
    app.command("unused")(lambda: None)
    args = ["command", "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "3",
            "--batch-size", "8", "--latent-dim", "8", "--hidden-dim", "16", "--ensemble", "2",
            "--val-fraction", "0.34", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "probe R2" in result.output
    assert load_world_model(tmp_path / "run").env_id == "dm_control/cartpole-swingup-v0"
    bad = CliRunner().invoke(app, [*args[:3], "--out", str(tmp_path / "run2"), "--set",
                                       "model.anti_collapse=magic"])
    assert isinstance(bad.exception, UserError) and "anti_collapse" in str(bad.exception)
    assert not (tmp_path / "run2").exists()
