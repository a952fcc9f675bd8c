"""Latency measurement of planners on the TD-MPC2-shaped model (torch only; shared by the CPU
benchmark `benchmarks/planners.py` and the GPU script `benchmarks/gpu_planners.py`)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from benchmarks.reference_mppi import reference_mppi
from benchmarks.tdmpc2_shape import ReferenceTDMPC2, ShapeConfig, TDMPC2Shape
from planners import MPPI, Planner


@dataclass(frozen=True, kw_only=True)
class Case:
    """One latency configuration."""

    name: str
    """Row label."""
    planner: str
    """"reference" (plain eager MPPI on the plain model) or a key of `PLANNER_FACTORIES`."""
    mode: str = "eager"
    """"eager" (plan) or "graph" (planner.graphed: a CUDA graph on CUDA, eager elsewhere)."""
    dtype: str = "fp32"
    """Model precision: "fp32", "tf32" (fp32 storage, TF32 matmuls) or "bf16"."""
    batch: int = 0
    """Independent problems per call; 0 is an unbatched call."""
    samples: int = 512
    """Population per iteration."""
    horizon: int = 3
    """Planning horizon H."""
    iterations: int = 6
    """Planner iterations."""
    shape: ShapeConfig = ShapeConfig()
    """Model sizes."""


def _mppi(samples: int, iterations: int, device, seed: int) -> Planner:
    """MPPI set like TD-MPC2 (64 of 512 elites, temperature 0.5 on returns, std 2 .. 0.05)."""
    return MPPI(num_samples=samples, iterations=iterations, num_elites=max(1, samples // 8),
                temperature=2.0, normalize=False, init_std=2.0, min_std=0.05, device=device,
                seed=seed)


def _factories() -> dict[str, Callable[..., Planner]]:
    from planners import CEM, ICEM, CEMGradient, GradientPlanner

    return {
        "mppi": _mppi,
        "cem": lambda n, i, device, seed: CEM(num_samples=n, iterations=i, device=device,
                                              seed=seed),
        "icem": lambda n, i, device, seed: ICEM(num_samples=n, iterations=i, device=device,
                                                seed=seed),
        "gradient": lambda n, i, device, seed: GradientPlanner(num_samples=n, iterations=i,
                                                               device=device, seed=seed),
        "cem-gradient": lambda n, i, device, seed: CEMGradient(num_samples=n, iterations=i,
                                                               device=device, seed=seed),
    }


PLANNER_FACTORIES = _factories()
"""name -> (num_samples, iterations, device, seed) -> Planner."""


def latent(shape: ShapeConfig, batch: int, device, seed: int = 0) -> torch.Tensor:
    """A SimNorm-valid start latent, (D,) or (B, D)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(max(batch, 1), shape.latent_dim, generator=gen)
    z = torch.softmax(z.view(z.shape[0], -1, shape.simnorm_dim), dim=-1).view_as(z)
    return (z if batch else z[0]).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(call: Callable[[], object], repeats: int, device: torch.device) -> dict:
    """Time the first call (warm-up: allocation, cuBLAS set-up, graph capture) and `repeats` more.

    Returns warmup_s, median_ms, p10_ms, p90_ms. Each call is synchronised with the device.
    """
    _sync(device)
    start = time.perf_counter()
    call()
    _sync(device)
    warmup = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return {
        "warmup_s": round(warmup, 4),
        "median_ms": round(statistics.median(times), 4),
        "p10_ms": round(times[len(times) // 10], 4),
        "p90_ms": round(times[(len(times) * 9) // 10], 4),
    }


def make_call(case: Case, device, seed: int = 0) -> tuple[Callable[[], object], Callable[[], str]]:
    """Build the model and the planner of `case`: returns `call()` (one plan, the first action
    copied to the host, as an agent would) and `check()`: for graphs, the largest action difference
    between the first graphed plan and the first eager plan of the same seed ("" otherwise)."""
    device = torch.device(device)
    model = TDMPC2Shape(case.shape, device=device, seed=seed).requires_grad_(False)
    if case.dtype == "bf16":
        model = model.to(torch.bfloat16)
    z0 = latent(case.shape, case.batch, device, seed)
    a = case.shape.action_dim
    init = torch.zeros(*((case.batch,) if case.batch else ()), case.horizon, a, device=device)
    if case.planner == "reference":
        reference = ReferenceTDMPC2(model)
        gen = torch.Generator(device=device).manual_seed(seed)

        def call_reference():
            return reference_mppi(lambda x: reference.cost(z0, x), case.horizon, a,
                                  num_samples=case.samples, iterations=case.iterations,
                                  num_elites=max(1, case.samples // 8), generator=gen,
                                  device=device)

        return call_reference, str

    def cost_fn(actions):
        return model.cost(z0, actions)

    make = PLANNER_FACTORIES[case.planner]
    planner = make(case.samples, case.iterations, device, seed)
    plan = planner.graphed(cost_fn, init) if case.mode == "graph" else (
        lambda x: planner.plan(cost_fn, x)
    )
    first = []

    def call():
        result = plan(init)
        if not first:
            first.append(result.actions)
        return result.actions[..., 0, :].cpu()

    def check() -> str:
        if case.mode != "graph" or not first:
            return ""
        eager = make(case.samples, case.iterations, device, seed).plan(cost_fn, init)
        return f"{(eager.actions - first[0]).abs().max().item():.3g}"

    return call, check


def run_case(case: Case, device, repeats: int, seed: int = 0) -> dict:
    """Time the first call and `repeats` more of `case` (see `make_call`, `time_calls`), with
    TF32 matmuls on only for dtype "tf32"; adds "max_diff_vs_eager"."""
    device = torch.device(device)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = case.dtype == "tf32"
    try:
        call, check = make_call(case, device, seed)
        row = time_calls(call, repeats, device)
        row["max_diff_vs_eager"] = check()
        return row
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


def time_interleaved(calls: dict[str, Callable[[], object]], repeats: int, device) -> dict:
    """Median ms per call of each entry, timed in alternating rounds (one warm-up call each
    first), so load changes on a shared machine hit every entry alike. name -> median_ms."""
    device = torch.device(device)
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            _sync(device)
            start = time.perf_counter()
            call()
            _sync(device)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: round(statistics.median(t), 4) for name, t in times.items()}
