"""`torch.compile` where it pays: on a CPU, the planner's energy and the training loss compiled by
inductor run about 1.8x and 1.35x faster than eager (RESULTS.md `Threads: threads_compile`),
because their many small ops (LayerNorm, Mish, softmax) fuse into a few loops.

Compiling needs a C++ compiler and takes seconds per new input shape (cached on disk after the
first time). `WMPC_COMPILE=0` in the environment turns it off everywhere (the test suite does, its
tiny models would spend longer compiling than running). If compiling fails anyway, one warning is
printed and everything runs eagerly from then on.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cache

import torch

_TORCH_NOISE = (r"`torch\.jit\.script_method` is deprecated",
                r"`torch\._prims_common\.check` is deprecated")
"""Warnings torch 2.13's own compiler code raises about itself, not about ours."""
_failed: list[str] = []
"""The first compile error's text, once one has happened (then nothing compiles again)."""


@cache
def _cpp_compiler() -> bool:
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception:  # noqa: BLE001 - no compiler, or an inductor without this helper
        return False
    return True


def can_compile(device: torch.device | str) -> bool:
    """Whether `compiled` compiles for `device`: a CPU, `WMPC_COMPILE` not "0", a C++ compiler and
    no earlier failure."""
    if torch.device(device).type != "cpu" or os.environ.get("WMPC_COMPILE", "1") == "0":
        return False
    return not _failed and _cpp_compiler()


def compiled(fn: Callable, device: torch.device | str) -> Callable:
    """`fn` compiled for `device` when `can_compile(device)`, else `fn` itself. Same arguments
    and results (to float rounding); a compile error falls back to `fn` with one warning."""
    if not can_compile(device):
        return fn
    for message in _TORCH_NOISE:
        warnings.filterwarnings("ignore", message=message)
    fast = torch.compile(fn)

    def call(*args, **kwargs):
        if _failed:
            return fn(*args, **kwargs)
        try:
            return fast(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - inductor's errors have no common base
            _failed.append(f"{type(err).__name__}: {str(err).strip().splitlines()[0]}")
            warnings.warn(f"torch.compile failed, running eagerly: {_failed[0]}", stacklevel=2)
            return fn(*args, **kwargs)

    return call
