"""Coloured noise: unit variance, zero mean, power spectrum slope -beta along time."""

import pytest
import torch

from planners import colored_noise


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_spectrum_slope_and_unit_variance(beta):
    generator = torch.Generator().manual_seed(0)
    noise = colored_noise(beta, (2000, 128, 1), generator=generator, device="cpu")[..., 0]
    assert noise.shape == (2000, 128)
    assert noise.var().item() == pytest.approx(1.0, abs=0.05)
    assert noise.mean().abs().item() < 0.05
    power = torch.fft.rfft(noise, dim=-1).abs().square().mean(dim=0)[1:-1]
    freqs = torch.fft.rfftfreq(128)[1:-1]
    x, y = freqs.log(), power.log()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / (x - x.mean()).square().sum()
    assert slope.item() == pytest.approx(-beta, abs=0.1)


def test_same_generator_state_same_noise_and_time_axis_is_minus_two():
    first = colored_noise(2.0, (3, 50, 4), generator=torch.Generator().manual_seed(1), device="cpu")
    again = colored_noise(2.0, (3, 50, 4), generator=torch.Generator().manual_seed(1), device="cpu")
    assert torch.equal(first, again)
    lag_time = (first * first.roll(1, dims=-2)).mean()
    lag_action = (first * first.roll(1, dims=-1)).mean()
    assert lag_time > 0.6 and lag_action.abs() < 0.2  # smooth in time only


def test_bad_arguments():
    with pytest.raises(ValueError):
        colored_noise(-1.0, (4, 2), generator=torch.Generator(), device="cpu")
    with pytest.raises(ValueError):
        colored_noise(1.0, (4,), generator=torch.Generator(), device="cpu")
