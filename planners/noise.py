"""Coloured (power-law) Gaussian noise along the time axis, for iCEM-style sampling.

Noise with power spectrum proportional to 1/f^beta is white noise passed through a circular filter
with gain f^(-beta/2). The filter is linear, so it is one (H, H) matrix per horizon and exponent:
colouring a batch of white noise is a single matmul (cheap, and safe inside a CUDA graph).
"""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=64)
def _colouring_matrix(beta: float, horizon: int, device: torch.device) -> torch.Tensor:
    """(H, H) float32 matrix M with x = M @ w coloured when w is white; every row has unit norm."""
    freqs = torch.fft.rfftfreq(horizon, dtype=torch.float64)
    freqs[0] = 1.0 / horizon  # below the lowest resolvable frequency the spectrum is flat
    gain = freqs.pow(-beta / 2.0)
    impulses = torch.eye(horizon, dtype=torch.float64)
    matrix = torch.fft.irfft(torch.fft.rfft(impulses, dim=0) * gain[:, None], n=horizon, dim=0)
    matrix = matrix / matrix.norm(dim=1, keepdim=True)
    return matrix.to(device=device, dtype=torch.float32)


def colour(white: torch.Tensor, beta: float) -> torch.Tensor:
    """Colour white noise along dim -2 (time).

    white: (..., H, A) i.i.d. standard normal. Returns (..., H, A), still zero-mean with unit
    variance per element, with power spectrum along time proportional to 1/f^beta (beta=0: white).
    """
    if beta == 0.0 or white.shape[-2] < 2:
        return white
    matrix = _colouring_matrix(float(beta), white.shape[-2], white.device)
    return torch.matmul(matrix, white)


def colored_noise(
    beta: float,
    shape: tuple[int, ...],
    *,
    generator: torch.Generator,
    device: str | torch.device,
) -> torch.Tensor:
    """Zero-mean, unit-variance Gaussian noise of `shape` (..., H, A), power spectrum ~ 1/f^beta
    along dim -2; beta=0 is white, 1 pink, 2 red (Brownian-like). Draws from `generator` only."""
    if len(shape) < 2:
        raise ValueError(f"colored_noise needs a shape (..., H, A), got {tuple(shape)}")
    if beta < 0:
        raise ValueError(f"colored_noise needs beta >= 0, got {beta}")
    white = torch.randn(tuple(shape), generator=generator, device=device)
    return colour(white, beta)
