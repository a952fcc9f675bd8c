"""`world_model.mish`: the same function and derivative as PyTorch's Mish, computed faster."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from world_model.mish import Mish, mish


def _inputs(dtype=torch.float32) -> torch.Tensor:
    wide = torch.linspace(-30.0, 30.0, 2001, dtype=dtype)
    return torch.cat([wide, torch.randn(3000, generator=torch.Generator().manual_seed(0),
                                        dtype=dtype) * 3.0])


def test_values_match_torch_mish_over_a_wide_range_with_and_without_gradient():
    x = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(mish(x), F.mish(x), atol=2e-6, rtol=1e-5)
    y = mish(x.clone().requires_grad_(True))
    torch.testing.assert_close(y.detach(), F.mish(x), atol=2e-6, rtol=1e-5)
    assert mish(torch.tensor([-100.0, 100.0])).tolist() == [0.0, 100.0]


def test_the_gradient_matches_torch_mish_and_passes_gradcheck():
    x = _inputs().requires_grad_(True)
    grad_out = torch.randn_like(x)
    (ours,) = torch.autograd.grad(mish(x), x, grad_out)
    (theirs,) = torch.autograd.grad(F.mish(x), x, grad_out)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    x64 = (torch.randn(40, dtype=torch.float64) * 4).requires_grad_(True)
    assert torch.autograd.gradcheck(mish, (x64,))


def test_shapes_are_kept_the_input_is_untouched_and_the_module_has_no_parameters():
    x = torch.randn(2, 3, 5)
    before = x.clone()
    assert mish(x).shape == (2, 3, 5)
    assert torch.equal(x, before)
    assert list(Mish().parameters()) == []
    torch.testing.assert_close(Mish()(x), F.mish(x), atol=2e-6, rtol=1e-5)


def test_a_second_derivative_is_refused_not_silently_wrong():
    x = torch.randn(7, requires_grad=True)
    (g,) = torch.autograd.grad(mish(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_a_world_model_update_matches_the_same_model_on_torch_mish(monkeypatch):
    from torch import nn

    from world_model import ModelConfig, WorldModel, layers
    from world_model.losses import world_model_loss

    cfg = ModelConfig(obs_dim=5, act_dim=2, latent_dim=16, hidden_dim=32, ensemble_size=2)
    ours = WorldModel(cfg, seed=1)
    monkeypatch.setattr(layers, "mish", F.mish)
    monkeypatch.setattr(layers, "Mish", nn.Mish)
    reference = WorldModel(cfg, seed=1)
    assert any(isinstance(m, nn.Mish) for m in reference.modules())
    gen = torch.Generator().manual_seed(2)
    batch = {"obs": torch.randn(16, 4, 5, generator=gen),
             "act": torch.rand(16, 3, 2, generator=gen) * 2 - 1,
             "rew": torch.rand(16, 3, generator=gen), "term": torch.zeros(16, 3, dtype=torch.bool)}
    (loss_a, _), (loss_b, _) = world_model_loss(ours, batch), world_model_loss(reference, batch)
    loss_a.backward()
    loss_b.backward()
    torch.testing.assert_close(loss_a, loss_b, atol=1e-5, rtol=1e-5)
    for (name, a), b in zip(ours.named_parameters(), reference.parameters(), strict=True):
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, atol=1e-4, rtol=1e-4, msg=name)
