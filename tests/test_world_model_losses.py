"""Loss pieces: two-hot heads, VICReg terms, n-step TD targets."""

from __future__ import annotations

import dataclasses

import torch

from world_model import ModelConfig, WorldModel, twohot
from world_model.losses import td_targets, vicreg_terms


def test_two_hot_round_trips_scalars_of_any_scale():
    centres = twohot.bins(101, 10.0)
    y = torch.tensor([-500.0, -3.2, -0.01, 0.0, 0.4, 7.0, 1234.5])
    probs = twohot.two_hot(y, centres)
    torch.testing.assert_close(probs.sum(-1), torch.ones(7))
    assert ((probs > 0).sum(-1) <= 2).all()
    logits = torch.log(probs.clamp_min(1e-30))
    torch.testing.assert_close(twohot.expectation(logits, centres), y, rtol=1e-4, atol=1e-5)
    ce = twohot.cross_entropy(logits, y, centres)
    other = twohot.cross_entropy(torch.zeros(7, 101), y, centres)
    assert torch.all(ce < other)


def test_vicreg_flags_collapse_and_correlation():
    gen = torch.Generator().manual_seed(0)
    healthy = torch.randn(4096, 8, generator=gen) * 2
    var_ok, cov_ok, std_ok = vicreg_terms(healthy)
    assert var_ok < 1e-3 and cov_ok < 0.05 and std_ok > 1.5
    collapsed = torch.ones(4096, 8) + 1e-3 * torch.randn(4096, 8, generator=gen)
    var_bad, _, _ = vicreg_terms(collapsed)
    assert var_bad > 0.9
    base = torch.randn(4096, 1, generator=gen)
    correlated = base.repeat(1, 8) + 0.01 * torch.randn(4096, 8, generator=gen)
    _, cov_bad, _ = vicreg_terms(correlated)
    assert cov_bad > 5.0


def test_td_targets_match_a_hand_computation_and_cut_at_termination():
    cfg = ModelConfig(obs_dim=2, act_dim=1, latent_dim=4, hidden_dim=8, discount=0.5, td_steps=2)
    model = WorldModel(cfg)
    with torch.no_grad():
        model.target_value[-1].weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(1))
    targets = torch.randn(2, 4, 4)
    boot = model.target_value_of(targets[:, 1:])
    rew = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    term = torch.tensor([[False, False, False], [False, False, True]])
    got = td_targets(model, targets, rew, term)
    g = 0.5
    want0 = torch.stack([1 + g * 2 + g * g * boot[0, 1], 2 + g * 3 + g * g * boot[0, 2],
                         3 + g * boot[0, 2]])
    want1 = torch.stack([1 + g * 2 + g * g * boot[1, 1], torch.tensor(2 + g * 3),
                         torch.tensor(3.0)])
    assert boot.abs().min() > 1e-3
    torch.testing.assert_close(got, torch.stack([want0, want1]))
    longer = dataclasses.replace(cfg, td_steps=10)
    model_long = WorldModel(longer)
    model_long.load_state_dict(model.state_dict())
    got_long = td_targets(model_long, targets, rew, term)
    torch.testing.assert_close(got_long[0, 0], 1 + g * 2 + g * g * 3 + g**3 * boot[0, 2])
