"""WorldModel shapes, ensemble semantics, seeding and the observation normaliser; its Mish
activation (`world_model.mish`: the same function and derivative as PyTorch's, computed faster)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from world_model import ModelConfig, WorldModel
from world_model.mish import Mish, mish

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


# --- Mish --------------------------------------------------------------------------------------

def _mish_inputs(dtype=torch.float32) -> torch.Tensor:
    wide = torch.linspace(-30.0, 30.0, 2001, dtype=dtype)
    return torch.cat([wide, torch.randn(3000, generator=torch.Generator().manual_seed(0),
                                        dtype=dtype) * 3.0])


def test_mish_values_match_torch_mish_over_a_wide_range_with_and_without_gradient():
    x = _mish_inputs()
    with torch.no_grad():
        torch.testing.assert_close(mish(x), F.mish(x), atol=2e-6, rtol=1e-5)
    y = mish(x.clone().requires_grad_(True))
    torch.testing.assert_close(y.detach(), F.mish(x), atol=2e-6, rtol=1e-5)
    assert mish(torch.tensor([-100.0, 100.0])).tolist() == [0.0, 100.0]


def test_mish_gradient_matches_torch_mish_and_passes_gradcheck():
    x = _mish_inputs().requires_grad_(True)
    grad_out = torch.randn_like(x)
    (ours,) = torch.autograd.grad(mish(x), x, grad_out)
    (theirs,) = torch.autograd.grad(F.mish(x), x, grad_out)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    x64 = (torch.randn(40, dtype=torch.float64) * 4).requires_grad_(True)
    assert torch.autograd.gradcheck(mish, (x64,))


def test_mish_keeps_shapes_leaves_its_input_and_has_no_parameters():
    x = torch.randn(2, 3, 5)
    before = x.clone()
    assert mish(x).shape == (2, 3, 5)
    assert torch.equal(x, before)
    assert list(Mish().parameters()) == []
    torch.testing.assert_close(Mish()(x), F.mish(x), atol=2e-6, rtol=1e-5)


def test_a_second_derivative_of_mish_is_refused_not_silently_wrong():
    x = torch.randn(7, requires_grad=True)
    (g,) = torch.autograd.grad(mish(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_a_world_model_update_matches_the_same_model_on_torch_mish(monkeypatch):
    from torch import nn

    from world_model import layers
    from world_model.losses import world_model_loss

    cfg = ModelConfig(obs_dim=5, act_dim=2, latent_dim=16, hidden_dim=32, ensemble_size=2)
    ours = WorldModel(cfg, seed=1)
    monkeypatch.setattr(layers, "mish", F.mish)
    monkeypatch.setattr(layers, "Mish", nn.Mish)
    reference = WorldModel(cfg, seed=1)
    assert any(isinstance(m, Mish) for m in ours.modules())
    assert any(isinstance(m, nn.Mish) for m in reference.modules())
    gen = torch.Generator().manual_seed(2)
    batch = {"obs": torch.randn(16, 4, 5, generator=gen),
             "act": torch.rand(16, 3, 2, generator=gen) * 2 - 1,
             "rew": torch.rand(16, 3, generator=gen), "term": torch.zeros(16, 3, dtype=torch.bool)}
    (loss_a, _), (loss_b, _) = world_model_loss(ours, batch), world_model_loss(reference, batch)
    loss_a.backward()
    loss_b.backward()
    torch.testing.assert_close(loss_a, loss_b, atol=1e-5, rtol=1e-5)
    compared = 0
    for (name, a), b in zip(ours.named_parameters(), reference.parameters(), strict=True):
        assert (a.grad is None) == (b.grad is None), name
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, atol=1e-4, rtol=1e-4, msg=name)
            compared += 1
    assert compared > len(list(ours.parameters())) // 2  # the loss reaches most of the model
