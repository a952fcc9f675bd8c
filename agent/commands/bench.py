"""`wmpc bench planners|tasks|goals ...`: the benchmark suites.

Each suite is a module in `benchmarks/` with `main(argv: list[str]) -> None` parsing its own flags
(`wmpc bench tasks --help` lists them); each suite writes into its own folder,
`benchmarks/results/<suite>/` (tasks, planners, goals, world_model, threads).
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True,
                  help="Benchmark suites; results in benchmarks/results/<suite>/.")
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _suite(name: str, doc: str) -> None:
    def command(ctx: typer.Context) -> None:
        importlib.import_module(f"benchmarks.{name}").main(list(ctx.args))

    command.__doc__ = doc
    app.command(name.replace("_", "-"), context_settings=_PASS_THROUGH)(command)


_suite("planners", "Planner quality against budget, and latency (CPU; CUDA when present).")
_suite("tasks", "DMC (or, --suite metaworld, Meta-World) tasks in environment steps over report "
       "seeds, against the published curves (TD-MPC2, BRO, SimbaV2, MR.Q, ...), random actions "
       "and the oracle.")
_suite("goals", "Goal reaching from reward-free data: learned model against the oracle.")
_suite("wm_speed", "World-model updates per second (CPU; CUDA eager vs graph when present).")
_suite("threads", "Online-loop speed per torch thread count, alone and two runs side by side.")
