"""WorldModel shapes, ensemble semantics, seeding and the observation normaliser."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch

from world_model import ModelConfig, WorldModel

CFG = ModelConfig(obs_dim=6, act_dim=2, latent_dim=16, hidden_dim=32, ensemble_size=3)


def test_shapes_with_and_without_a_batch_of_problems():
    model = WorldModel(CFG)
    n, b, h = 7, 4, 5
    assert model.encode(torch.randn(n, 6)).shape == (n, 16)
    assert model.encode(torch.randn(b, n, 6)).shape == (b, n, 16)
    assert model.rollout(torch.randn(n, 16), torch.rand(n, h, 2) * 2 - 1).shape == (n, h, 16)
    assert model.rollout(torch.randn(b, n, 16), torch.rand(b, n, h, 2)).shape == (b, n, h, 16)
    z, a = torch.randn(b, n, 16), torch.rand(b, n, 2)
    assert model.predict(z, a).shape == (b, n, 16)
    assert model.predict_ensemble(z, a).shape == (3, b, n, 16)
    for head in (model.reward(z, a), model.termination(z, a), model.disagreement(z, a),
                 model.value(z)):
        assert head.shape == (b, n)


def test_batched_rollout_equals_separate_rollouts_and_predict_is_the_member_mean():
    model = WorldModel(CFG)
    z0, actions = torch.randn(3, 5, 16), torch.rand(3, 5, 4, 2) * 2 - 1
    batched = model.rollout(z0, actions)
    for i in range(3):
        torch.testing.assert_close(batched[i], model.rollout(z0[i], actions[i]))
    z, a = torch.randn(5, 16), torch.rand(5, 2)
    members = model.predict_ensemble(z, a)
    torch.testing.assert_close(model.predict(z, a), members.mean(0))
    assert not torch.allclose(members[0], members[1])
    torch.testing.assert_close(model.disagreement(z, a), members.std(0, unbiased=False).mean(-1))
    single = WorldModel(dataclasses.replace(CFG, ensemble_size=1))
    assert torch.all(single.disagreement(z, a) == 0)


def test_rollout_is_differentiable_in_the_actions():
    model = WorldModel(CFG)
    actions = torch.zeros(4, 3, 2, requires_grad=True)
    z = model.rollout(model.encode(torch.randn(4, 6)), actions)
    (model.reward(z, torch.zeros(4, 3, 2)).sum() + z.pow(2).sum()).backward()
    assert actions.grad is not None and actions.grad.abs().sum() > 0


def test_same_seed_same_weights_without_touching_the_global_rng():
    state = torch.random.get_rng_state()
    a, b, c = WorldModel(CFG, seed=1), WorldModel(CFG, seed=1), WorldModel(CFG, seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)


def test_termination_is_zero_unless_episodic():
    z, a = torch.randn(5, 16), torch.rand(5, 2)
    assert torch.all(WorldModel(CFG).termination(z, a) == 0)
    p = WorldModel(dataclasses.replace(CFG, episodic=True)).termination(z, a)
    assert torch.all((p > 0) & (p < 1))


def test_normaliser_matches_the_data_statistics_when_fed_in_chunks():
    model = WorldModel(CFG)
    obs = torch.randn(1000, 6, dtype=torch.float64) * torch.arange(1, 7) + 5
    for chunk in obs.split(137):
        model.update_normaliser(chunk)
    torch.testing.assert_close(model.obs_mean, obs.mean(0).float())
    torch.testing.assert_close(model.obs_var, obs.var(0, unbiased=False).float())
    x = model.normalise(obs.float())
    assert x.mean(0).abs().max() < 1e-4 and (x.std(0) - 1).abs().max() < 1e-2


def test_simnorm_latents_lie_on_simplices():
    model = WorldModel(dataclasses.replace(CFG, anti_collapse="simnorm", simnorm_group=4))
    z = model.predict(model.encode(torch.randn(9, 6)), torch.rand(9, 2))
    groups = z.reshape(9, 4, 4)
    assert torch.all(groups >= 0)
    torch.testing.assert_close(groups.sum(-1), torch.ones(9, 4))


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="anti_collapse"):
        ModelConfig(obs_dim=3, act_dim=1, anti_collapse="magic")
    with pytest.raises(ValueError, match="obs_dim"):
        ModelConfig(obs_dim=0, act_dim=1)
    assert ModelConfig.from_dict(CFG.to_dict()) == CFG
    big = ModelConfig.tdmpc2_size(obs_dim=24, act_dim=6)
    assert (big.latent_dim, big.hidden_dim) == (512, 512)


def test_the_package_imports_without_simulators_or_minari():
    code = ("import sys, world_model, world_model.train, world_model.data, world_model.metrics; "
            "heavy = {'gymnasium', 'minari', 'mujoco', 'dm_control', 'envs'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_split_rollout_sends_each_row_through_one_member_throughout():
    model = WorldModel(ModelConfig(obs_dim=4, act_dim=2, latent_dim=16, hidden_dim=32,
                                   ensemble_size=3), seed=1)
    z0, actions = torch.randn(7, 16), torch.rand(7, 4, 2) * 2 - 1
    split = model.rollout(z0, actions, members="split")
    assert split.shape == (7, 4, 16)
    per = 3  # 7 rows over 3 members: blocks of ceil(7 / 3) = 3 rows
    for row in range(7):
        z = z0[row]
        for t in range(4):
            z = model.predict_ensemble(z.unsqueeze(0), actions[row, t].unsqueeze(0))[row // per, 0]
            torch.testing.assert_close(split[row, t], z)
    assert not torch.allclose(split, model.rollout(z0, actions))
