"""The fast TD-MPC2-shaped model computes exactly what the plain reference computes."""

import torch

from benchmarks.latency import latent
from benchmarks.tdmpc2_shape import ReferenceTDMPC2, ShapeConfig, TDMPC2Shape


def test_fast_and_reference_costs_agree_unbatched_and_batched():
    shape = ShapeConfig(latent_dim=32, hidden_dim=24, action_dim=3, num_q=3, num_bins=21)
    fast = TDMPC2Shape(shape, seed=1)
    reference = ReferenceTDMPC2(fast)
    actions = torch.rand(2, 64, 4, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1
    z0 = latent(shape, batch=2, device="cpu")
    with torch.no_grad():
        batched = fast.cost(z0, actions)
        assert batched.shape == (2, 64)
        assert torch.allclose(batched, reference.cost(z0, actions), atol=1e-4)
        assert torch.allclose(fast.cost(z0[1], actions[1]), batched[1], atol=1e-5)
    assert batched.std() > 0.01  # the cost tells sequences apart


def test_cost_is_differentiable_in_actions():
    shape = ShapeConfig(latent_dim=16, hidden_dim=16, action_dim=2, num_q=2, num_bins=11)
    model = TDMPC2Shape(shape).requires_grad_(False)
    actions = torch.zeros(5, 3, 2, requires_grad=True)
    model.cost(latent(shape, 0, "cpu"), actions).sum().backward()
    assert actions.grad.abs().sum() > 0
