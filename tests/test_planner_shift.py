"""The receding-horizon warm start: drop executed steps, pad the end."""

import pytest
import torch

from planners import shift


def test_shift_unbatched_and_batched():
    actions = torch.arange(12.0).reshape(2, 3, 2)  # (B, H, A)
    out = shift(actions)
    assert torch.equal(out[:, :2], actions[:, 1:])
    assert torch.equal(out[:, 2], torch.zeros(2, 2))
    assert torch.equal(shift(actions[0], steps=2, fill=0.5), torch.tensor([[4.0, 5], [0.5, 0.5],
                                                                          [0.5, 0.5]]))
    assert torch.equal(shift(actions, steps=5), torch.zeros_like(actions))
    assert torch.equal(shift(actions, steps=0), actions)
    assert actions[0, 0, 0] == 0  # input untouched


def test_shift_refuses_bad_input():
    with pytest.raises(ValueError, match="steps >= 0"):
        shift(torch.zeros(3, 2), steps=-1)
    with pytest.raises(ValueError, match=r"\(\.\.\., H, A\)"):
        shift(torch.zeros(3))
