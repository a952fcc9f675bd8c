"""The search path a CUDA graph captures never synchronises with the host: run it on the "meta"
device, where any `.item()`, `bool(tensor)` or host copy raises."""

import pytest
import torch

from benchmarks.tdmpc2_shape import ShapeConfig, TDMPC2Shape
from planners import PLANNERS


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_search_runs_on_meta_tensors(name):
    shape = ShapeConfig(latent_dim=16, hidden_dim=16, action_dim=2, num_q=2, num_bins=11)
    model = TDMPC2Shape(shape).to("meta")
    z0 = torch.empty(3, 16, device="meta")
    planner = PLANNERS[name](num_samples=16, iterations=2)
    mean = torch.empty(3, 4, 2, device="meta")
    noise = torch.empty(planner._noise_shape(3, 4, 2), device="meta")
    candidates = torch.empty(3, 2, 4, 2, device="meta")
    actions, cost, info = planner.search(lambda a: model.cost(z0, a), mean, candidates, noise,
                                         batched=True)
    assert actions.shape == (3, 4, 2) and actions.device.type == "meta"
    assert cost.shape == (3,)


def test_meta_device_catches_host_synchronisation():
    planner = PLANNERS["cem"](num_samples=8, iterations=1)
    mean = torch.empty(1, 4, 2, device="meta")
    noise = torch.empty(planner._noise_shape(1, 4, 2), device="meta")
    with pytest.raises(RuntimeError):
        planner.search(lambda a: a.sum((-2, -1)) * float(a.sum()), mean, None, noise, True)
