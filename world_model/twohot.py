"""Symlog two-hot distributions: one head for rewards and values of any scale.

A scalar y is encoded as probability mass on the two bins around symlog(y), the bins evenly
spaced on [-symlog_max, symlog_max]; a head predicts symexp of the expected bin under its softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def symlog(x: torch.Tensor) -> torch.Tensor:
    """sign(x) * log(1 + |x|), elementwise."""
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `symlog`, elementwise."""
    return torch.sign(x) * torch.expm1(x.abs())


def bins(num_bins: int, symlog_max: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """The bin centres (num_bins,) in symlog space."""
    return torch.linspace(-symlog_max, symlog_max, num_bins, device=device)


def two_hot(y: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Targets y (...) -> two-hot probabilities (..., num_bins) around symlog(y)."""
    n = centres.shape[0]
    lo, hi = centres[0], centres[-1]
    pos = (symlog(y).clamp(lo, hi) - lo) / (hi - lo) * (n - 1)
    low = pos.floor().clamp(max=n - 2)
    frac = (pos - low).unsqueeze(-1)
    low = low.long().unsqueeze(-1)
    out = torch.zeros(*y.shape, n, device=y.device, dtype=frac.dtype)
    out.scatter_(-1, low, 1.0 - frac)
    out.scatter_add_(-1, low + 1, frac)
    return out


def expectation(logits: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Logits (..., num_bins) -> the predicted scalar (...): symexp of the expected bin."""
    return symexp(F.softmax(logits.float(), dim=-1) @ centres)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Cross-entropy (...) of logits (..., num_bins) against the two-hot encoding of y (...)."""
    return -(two_hot(y.float(), centres) * F.log_softmax(logits.float(), dim=-1)).sum(-1)
