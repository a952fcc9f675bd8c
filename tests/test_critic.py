"""The critic (`ModelConfig.critic`): 'q', action values bootstrapped through an actor that
maximises them, against 'v', state values of the replay's behaviour; checked on input."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from agent.build import learned_agent
from agent.online import OnlineRun
from agent.runs import read_evals
from tests.test_agent_loop import AGENT, CFG, TRAIN
from tests.test_agent_loop import SMALL as LOOP_SMALL
from tests.test_eval_cli import _wmpc
from world_model import ModelConfig, WorldModel, load_world_model
from world_model.checkpoint import save_checkpoint
from world_model.losses import actor_loss, critic_q_loss, world_model_loss
from world_model.train import TrainConfig, Trainer

SMALL = {"latent_dim": 16, "hidden_dim": 64, "ensemble_size": 1}
PROBES = torch.linspace(-0.9, 0.9, 7).unsqueeze(-1)


def _bandit_batch(generator: torch.Generator, size: int = 128, steps: int = 2) -> dict:
    """A contextual bandit: obs s ~ U(-1, 1), uniform random actions, reward 1 - (a - s)^2."""
    obs = torch.rand(size, steps + 1, 1, generator=generator) * 2 - 1
    act = torch.rand(size, steps, 1, generator=generator) * 2 - 1
    rew = 1.0 - (act[..., 0] - obs[:, :-1, 0]) ** 2
    return {"obs": obs, "act": act, "rew": rew, "term": torch.zeros(size, steps)}


def _train_bandit(critic: str) -> WorldModel:
    cfg = ModelConfig(obs_dim=1, act_dim=1, critic=critic, discount=0.0, **SMALL)
    model = WorldModel(cfg, seed=0)
    model.update_normaliser(torch.linspace(-1, 1, 1001).unsqueeze(-1))
    trainer = Trainer(model, TrainConfig(horizon=2, batch_size=128, lr=1e-3), seed=0)
    generator = torch.Generator().manual_seed(0)
    for _ in range(400):
        trainer.update(_bandit_batch(generator))
    return model


def test_the_actor_finds_the_best_action_and_q_values_it_above_the_replays_behaviour():
    # From uniform random actions, the 'v' critic can only learn the behaviour's mean reward,
    # 1 - s^2 - 1/3 (at most 0.67); the 'q' critic's actor should learn a ~ s, worth ~1.
    q_model, v_model = _train_bandit("q"), _train_bandit("v")
    with torch.no_grad():
        actions = q_model.policy(q_model.encode(PROBES)).squeeze(-1)
        best = PROBES.squeeze(-1)
        # Uniform random actions miss the best one by 0.5 to 0.9 on average at these s.
        assert (actions - best).abs().mean() < 0.25
        assert torch.corrcoef(torch.stack([actions, best]))[0, 1] > 0.9
        assert torch.all(q_model.value(q_model.encode(PROBES)) > 0.7)
        assert torch.all(q_model.value(q_model.encode(PROBES))
                         > v_model.value(v_model.encode(PROBES)) + 0.15)


def _q_model() -> WorldModel:
    return WorldModel(ModelConfig(obs_dim=3, act_dim=2, critic="q", **SMALL), seed=1)


def test_the_actor_loss_moves_only_the_actor_and_the_q_loss_never_the_actor():
    model = _q_model()
    with torch.no_grad():  # a non-zero output layer, so that Q depends on the action
        for weight in model.q_heads.weights:
            weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(2))
    zs = model.encode(torch.randn(4, 3, 3))
    w = torch.ones(3)
    heads = list(model.q_heads.parameters())
    loss = actor_loss(model, zs, w)
    grads = torch.autograd.grad(loss, [*heads, *model.actor.parameters()], allow_unused=True)
    assert all(g is None for g in grads[:len(heads)])
    assert any(g is not None and g.abs().sum() > 0 for g in grads[len(heads):])
    q_loss = critic_q_loss(model, zs, torch.rand(4, 3, 2) * 2 - 1, torch.rand(4, 3), w)
    grads = torch.autograd.grad(q_loss, list(model.actor.parameters()), allow_unused=True)
    assert all(g is None for g in grads)


def test_the_value_is_q_at_the_actors_action_and_the_target_the_smaller_target_q():
    model = _q_model()
    with torch.no_grad():
        for module in (model.q_heads, model.target_q):
            for weight in module.weights:
                weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(3))
        z = model.encode(torch.randn(5, 3))
        a = model.policy(z)
        both = model.q(z, a, target=True)
        assert both.shape == (2, 5) and not torch.equal(both[0], both[1])
        torch.testing.assert_close(model.value(z), model.q(z, a).mean(0))
        torch.testing.assert_close(model.target_value_of(z), both.min(0).values)


def test_a_q_model_trains_saves_and_loads(tmp_path):
    model = _q_model()
    trainer = Trainer(model, TrainConfig(horizon=2, batch_size=8), seed=0)
    batch = {"obs": torch.randn(8, 3, 3), "act": torch.rand(8, 2, 2) * 2 - 1,
             "rew": torch.rand(8, 2), "term": torch.zeros(8, 2)}
    before = [p.clone() for p in model.actor.parameters()]
    for _ in range(3):
        stats = trainer.update(batch)
    assert stats["actor"] != 0.0
    assert any(not torch.equal(b, p) for b, p in zip(before, model.actor.parameters(), strict=True))
    save_checkpoint(tmp_path / "checkpoint.pt", model)
    loaded = load_world_model(tmp_path)
    z = model.encode(torch.randn(4, 3))
    torch.testing.assert_close(loaded.value(z), model.value(z), rtol=0, atol=0)
    assert set(model.state_dict()) == set(loaded.state_dict())


def test_the_v_critic_keeps_its_state_dict_names():
    # Checkpoints saved before the 'q' critic existed must still load.
    names = set(WorldModel(ModelConfig(obs_dim=3, act_dim=2, **SMALL)).state_dict())
    assert {n.split(".")[0] for n in names} >= {"value_head", "target_value"}
    assert not any(n.startswith(("q_heads", "target_q", "actor")) for n in names)
    loss, terms = world_model_loss(WorldModel(ModelConfig(obs_dim=3, act_dim=2, **SMALL)),
                                   {"obs": torch.randn(4, 3, 3), "act": torch.zeros(4, 2, 2),
                                    "rew": torch.zeros(4, 2), "term": torch.zeros(4, 2)})
    assert terms["actor"] == 0.0 and torch.isfinite(loss)


def test_a_q_run_plans_with_the_models_actor_and_resumes_exactly(tmp_path):
    agent_cfg = dataclasses.replace(AGENT, prior_samples=4)
    sizes = {**LOOP_SMALL, "critic": "q"}

    def run(out, steps, resume=False):
        online = OnlineRun(out, dataclasses.replace(CFG, steps=steps), agent_cfg, TRAIN, sizes)
        online.run(resume=resume, progress=False)
        return online

    whole = run(tmp_path / "whole", 130)
    run(tmp_path / "split", 75)
    resumed = run(tmp_path / "split", 130, resume=True)

    def returns(out):
        return [(row["step"], row["returns"]) for row in read_evals(out)]

    assert returns(tmp_path / "split") == returns(tmp_path / "whole")
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name

    model = load_world_model(tmp_path / "whole")
    agent = learned_agent(model, agent_cfg, 2, "cpu", seed=0)
    obs = whole.envs.envs[0].reset(seed=0)[0]  # the run's one env
    candidates = agent.propose(agent.imagine(obs), torch.Generator().manual_seed(0))
    with torch.no_grad():
        z0 = model.encode(torch.as_tensor(obs))
        first = model.policy(z0)
    assert candidates.shape == (4, AGENT.horizon, 2)
    torch.testing.assert_close(candidates[0, 0], first)  # sequence 0 follows the actor
    assert learned_agent(model, AGENT, 2, "cpu", seed=0).propose is None


@pytest.mark.parametrize("bad", ["x", "Q"])
def test_an_unknown_critic_is_refused(bad):
    with pytest.raises(ValueError, match="critic"):
        ModelConfig(obs_dim=3, act_dim=2, critic=bad)


@pytest.mark.parametrize(("args", "words"), [
    (["--set", "model.critic=w"], "critic must be one of"),
    (["--set", "model.critic=Q"], "critic must be one of"),
])
def test_bad_critic_flags_are_one_line_and_write_nothing(tmp_path, args, words):
    out = tmp_path / "run"
    result = _wmpc("run", "--env", "point_env:PointMass-v0", "--steps", "10", "--out", str(out),
                   *args)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and words in result.stderr
    assert not out.exists()
