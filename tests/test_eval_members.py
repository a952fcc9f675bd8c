"""How evaluations roll plans through the predictor ensemble (and from which start std), and the
policy kept at each one."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from agent import online
from agent.config import AgentConfig
from agent.cost import LatentImagination
from agent.runs import load_config
from tests.test_agent_loop import AGENT, CFG, SMALL, TRAIN
from tests.test_eval_cli import _wmpc
from world_model import ModelConfig, WorldModel, load_world_model


def test_split_lets_identical_sequences_score_apart_and_mean_does_not():
    """The reason evaluations may plan with the members' mean: under "split" the same sequence
    gets another imagined future per member, so a search can pick the more optimistic member."""
    model = WorldModel(ModelConfig(obs_dim=4, act_dim=2, latent_dim=8, hidden_dim=32,
                                   ensemble_size=2), seed=0)
    with torch.no_grad():
        for p in model.reward_head.parameters():  # a reward head that reads the latents
            p.normal_(0.0, 0.5)
    z0 = model.encode(torch.randn(4))
    actions = torch.rand(1, 3, 2).mul(2).sub(1).expand(8, 3, 2)

    def rewards(members: str) -> torch.Tensor:
        return LatentImagination(model, z0, members)(actions).rewards.sum(-1)

    split, mean = rewards("split"), rewards("mean")
    assert (split.max() - split.min()).item() > 1e-3
    assert (mean.max() - mean.min()).item() < 1e-6


@pytest.mark.parametrize("name", ["members", "eval_members"])
def test_unknown_modes_are_refused(name):
    with pytest.raises(ValueError, match=name):
        AgentConfig(**{name: "median"})


def test_evaluations_plan_with_eval_settings_and_keep_a_snapshot_each(tmp_path, monkeypatch):
    seen = []
    build = online.learned_agent

    def spy(model, cfg, *args, **kwargs):
        seen.append((cfg.members, cfg.init_std))
        return build(model, cfg, *args, **kwargs)

    monkeypatch.setattr(online, "learned_agent", spy)
    agent = dataclasses.replace(AGENT, members="split", eval_members="mean", init_std=0.4,
                                eval_init_std=1.5)
    run = online.OnlineRun(tmp_path, CFG, agent, TRAIN, SMALL)
    run.run(resume=False, progress=False)
    assert seen == [("split", 0.4)] + [("mean", 1.5)] * 4  # the loop's agent, then 4 evals
    snapshots = sorted((tmp_path / "checkpoints").iterdir())
    assert [p.name for p in snapshots] == ["step_120", "step_130", "step_40", "step_80"]
    last, first = load_world_model(tmp_path / "checkpoints" / "step_130"), load_world_model(
        tmp_path / "checkpoints" / "step_40")
    final = load_world_model(tmp_path).state_dict()
    assert all(torch.equal(v, final[k]) for k, v in last.state_dict().items())
    assert not all(torch.equal(v, final[k]) for k, v in first.state_dict().items())
    assert load_config(tmp_path / "checkpoints" / "step_40") == load_config(tmp_path)


def test_eval_takes_a_snapshot_and_members(tmp_path):
    out = tmp_path / "run"
    online.OnlineRun(out, dataclasses.replace(CFG, steps=60, eval_every=60), AGENT, TRAIN,
                     SMALL).run(resume=False, progress=False)
    snapshot = out / "checkpoints" / "step_60"
    results = {}
    for members in ("split", "mean"):
        done = _wmpc("eval", "--run", str(snapshot), "--env", CFG.env_id, "--episodes", "1",
                     "--members", members, "--json", str(tmp_path / f"{members}.json"))
        assert done.returncode == 0, done.stderr
        results[members] = json.loads((tmp_path / f"{members}.json").read_text())["mean_return"]
    assert results["split"] != results["mean"]
    bad = _wmpc("eval", "--run", str(snapshot), "--env", CFG.env_id, "--members", "median")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "wmpc: error: members must be one of split, mean, got 'median'"]


def test_runs_from_before_the_field_evaluate_as_they_trained(tmp_path):
    config = {"agent": {"members": "mean", "explore_std": 0.3, "explore_std_final": 0.3}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert load_config(tmp_path)["agent"]["eval_members"] == "mean"
