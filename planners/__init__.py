"""Planners over action sequences in [-1, 1]: CEM, iCEM, MPPI, gradient descent, CEM+gradient.

One protocol (see `planners.base.Planner.plan`): `plan(cost_fn, init_mean, candidates=None) ->
PlanResult`, cost_fn (N, H, A) -> (N,) lower is better, or a batch: init_mean (B, H, A) and
cost_fn (B, N, H, A) -> (B, N). Imports torch only.
"""

from planners.base import Planner
from planners.cem import CEM
from planners.gradient import GradientPlanner
from planners.graph import GraphedPlan
from planners.hybrid import CEMGradient
from planners.icem import ICEM
from planners.mppi import MPPI
from planners.noise import colored_noise
from planners.random_shooting import RandomShooting
from planners.result import PlanResult, shift

PLANNERS: dict[str, type[Planner]] = {
    "cem": CEM,
    "icem": ICEM,
    "mppi": MPPI,
    "gradient": GradientPlanner,
    "cem-gradient": CEMGradient,
    "random": RandomShooting,
}
"""Planner classes by the names a command line uses."""

__all__ = [
    "CEM",
    "ICEM",
    "MPPI",
    "PLANNERS",
    "CEMGradient",
    "GradientPlanner",
    "GraphedPlan",
    "PlanResult",
    "Planner",
    "RandomShooting",
    "colored_noise",
    "shift",
]
