"""`ModelConfig.activation`: the hidden layers' nonlinearity, Mish (default) or SiLU."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from agent.online import OnlineRun
from agent.runs import load_config, resumed_configs
from tests.test_agent_loop import AGENT, CFG, TRAIN
from tests.test_agent_loop import SMALL as LOOP_SMALL
from tests.test_eval_cli import _wmpc
from world_model import ModelConfig, WorldModel
from world_model.mish import Mish

SMALL = {"latent_dim": 16, "hidden_dim": 32, "ensemble_size": 2}


@pytest.mark.parametrize("critic", ["v", "q"])
def test_silu_changes_every_network_and_no_parameter(critic):
    mish = WorldModel(ModelConfig(obs_dim=3, act_dim=2, critic=critic, **SMALL), seed=3)
    silu = WorldModel(ModelConfig(obs_dim=3, act_dim=2, critic=critic, activation="silu",
                                  **SMALL), seed=3)
    assert not any(isinstance(m, Mish) for m in silu.modules())
    assert any(isinstance(m, Mish) for m in mish.modules())
    assert any(isinstance(m, nn.SiLU) for m in silu.modules())
    for name, value in mish.state_dict().items():  # same seed: the same weights, same names
        assert torch.equal(value, silu.state_dict()[name]), name
    obs, act = torch.randn(8, 3), torch.rand(8, 2) * 2 - 1
    z_mish, z_silu = mish.encode(obs), silu.encode(obs)
    assert not torch.allclose(z_mish, z_silu)
    assert not torch.allclose(mish.predict_ensemble(z_silu, act),
                              silu.predict_ensemble(z_silu, act))
    x = torch.randn(5, 32)
    torch.testing.assert_close(silu.dynamics.activation(x), x * torch.sigmoid(x))


def test_an_unknown_activation_is_refused_and_old_configs_are_mish():
    with pytest.raises(ValueError, match="activation"):
        ModelConfig(obs_dim=3, act_dim=2, activation="relu")
    saved = ModelConfig(obs_dim=3, act_dim=2, activation="silu").to_dict()
    assert ModelConfig.from_dict(saved).activation == "silu"
    del saved["activation"]
    assert ModelConfig.from_dict(saved).activation == "mish"


def test_a_silu_run_resumes_as_silu_and_a_run_from_before_the_option_as_mish(tmp_path):
    cfg = dataclasses.replace(CFG, steps=70)
    OnlineRun(tmp_path, cfg, AGENT, TRAIN, {**LOOP_SMALL, "activation": "silu"}).run(
        resume=False, progress=False)
    assert resumed_configs(tmp_path)[3]["activation"] == "silu"
    saved = load_config(tmp_path)
    del saved["model"]["activation"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert resumed_configs(tmp_path)[3]["activation"] == "mish"


def test_a_bad_activation_flag_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    result = _wmpc("run", "--env", "point_env:PointMass-v0", "--steps", "10", "--out", str(out),
                   "--activation", "tanh")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--activation must be one of mish, silu" in result.stderr
    assert not out.exists()
