"""`torch.compile` where it pays: on a CPU, the planner's energy and the training loss compiled by
inductor make plans about 1.4x and updates about 1.2x faster than eager, the online loop about
1.3x (benchmarks/results/threads/README.md `Threads: threads_compile`), because their many small
ops (LayerNorm, Mish, softmax) fuse into a few loops.

Compiling needs a C++ compiler and takes about 30 s for the energy and 60 s for the loss the first
time on a 2-core CPU, a few seconds once inductor's disk cache holds them, and again for each new
input shape. `WMPC_COMPILE=0` in the environment turns it off everywhere (the test suite does: its
tiny models would spend longer compiling than running). If compiling one function fails anyway,
one warning is printed and that function runs eagerly from then on.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cache

import torch
from torch._dynamo.exc import TorchDynamoException
from torch._functorch import config as functorch_config


def _quiet_torch_about_itself() -> None:
    """Ignore the deprecation warnings torch 2.13's compiler raises about its own code, not ours.
    Called when a function is wrapped (torch.compile imports its compiler then), not once at
    import: a filter added later goes first, and importing dm_control adds
    `simplefilter("always", DeprecationWarning)`."""
    warnings.filterwarnings("ignore", message=r"`torch\.(jit\.script_method|_prims_common\.check)` "
                            "is deprecated", module=r"torch\.")


@cache
def _cpp_compiler() -> bool:
    """Whether inductor finds a C++ compiler to build CPU kernels with."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception:  # noqa: BLE001 - no compiler, or an inductor without this helper
        return False
    return True


def can_compile(device: torch.device | str) -> bool:
    """Whether `compiled` compiles for `device`: a CPU, `WMPC_COMPILE` not "0" and a C++
    compiler."""
    if torch.device(device).type != "cpu" or os.environ.get("WMPC_COMPILE", "1") == "0":
        return False
    return _cpp_compiler()


def compiled(fn: Callable, device: torch.device | str) -> Callable:
    """`fn` compiled for `device` when `can_compile(device)`, else `fn` itself. Same arguments
    and results (to float rounding). The backward of a differentiable result is compiled with
    the forward, so a compile error, of either, is raised by the call: it falls back to `fn`
    with one warning. Errors of `fn` itself pass through."""
    if not can_compile(device):
        return fn
    _quiet_torch_about_itself()
    fast = torch.compile(fn)
    failed: list[str] = []

    def call(*args, **kwargs):
        if failed:
            return fn(*args, **kwargs)
        try:
            with functorch_config.patch(force_non_lazy_backward_lowering=True):
                return fast(*args, **kwargs)
        except TorchDynamoException as err:
            failed.append(f"{type(err).__name__}: {str(err).strip().splitlines()[0]}")
            warnings.warn(f"torch.compile failed, running eagerly: {failed[0]}", stacklevel=2)
            return fn(*args, **kwargs)

    return call
