"""The critic's expectile: above 0.5 it learns the better returns of the replay, not their mean."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from tests.test_eval_cli import _wmpc
from world_model import ModelConfig, WorldModel, twohot
from world_model.losses import expectile_weights, world_model_loss


def _fit_value(targets: torch.Tensor, tau: float, steps: int = 3000) -> float:
    """Fit one two-hot value distribution to `targets` with the critic's weighted loss."""
    centres = twohot.bins(101, 10.0)
    logits = torch.zeros(101, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.05)
    for _ in range(steps):
        ce = twohot.cross_entropy(logits.expand(len(targets), -1), targets, centres)
        pred = twohot.expectation(logits.detach(), centres)
        loss = (ce * expectile_weights(pred, targets, tau)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(twohot.expectation(logits.detach(), centres))


def test_weights_favour_targets_above_the_prediction():
    w = expectile_weights(torch.tensor([1.0, 1.0, 1.0]), torch.tensor([0.0, 1.0, 2.0]), 0.8)
    torch.testing.assert_close(w, torch.tensor([0.4, 0.4, 1.6]))
    torch.testing.assert_close(expectile_weights(torch.zeros(3), torch.randn(3), 0.5),
                               torch.ones(3))


def test_a_higher_expectile_values_the_better_outcomes_more():
    """Half the replay's returns from a state are 10, half 50 (two actions): tau 0.5 lands between
    them, tau 0.9 near the better one."""
    targets = torch.tensor([10.0, 50.0] * 32)
    mean_value = _fit_value(targets, 0.5)
    high_value = _fit_value(targets, 0.9)
    assert 10.0 < mean_value < 40.0
    assert high_value > mean_value + 5.0 and high_value < 50.5


def test_the_world_model_loss_uses_the_expectile():
    cfg = ModelConfig(obs_dim=3, act_dim=2, latent_dim=8, hidden_dim=16, ensemble_size=2)
    gen = torch.Generator().manual_seed(0)
    batch = {"obs": torch.randn(4, 4, 3, generator=gen), "act": torch.rand(4, 3, 2, generator=gen),
             "rew": torch.rand(4, 3, generator=gen) * 5, "term": torch.zeros(4, 3)}
    model = WorldModel(cfg, seed=0)
    _, plain = world_model_loss(model, batch)
    model.cfg = dataclasses.replace(cfg, value_expectile=0.9)
    _, leaning = world_model_loss(model, batch)
    assert not torch.isclose(plain["value"], leaning["value"])
    torch.testing.assert_close(plain["prediction"], leaning["prediction"])


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.2])
def test_expectiles_outside_the_open_interval_are_refused(tau):
    with pytest.raises(ValueError, match="value_expectile"):
        ModelConfig(obs_dim=3, act_dim=2, value_expectile=tau)


def test_cli_refuses_a_bad_expectile_in_one_line(tmp_path):
    done = _wmpc("run", "--env", "point_env:PointMass-v0", "--out", str(tmp_path / "r"),
                 "--value-expectile", "1.5")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wmpc: error: --value-expectile must be in (0, 1), got 1.5"]
    assert not (tmp_path / "r").exists()
