"""The `wmpc` command line: one sub-command per module in `agent/commands/`.

Bad input ends with one line on stderr and exit code 2; set WMPC_DEBUG=1 for the traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from envs.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="wmpc: model-predictive planning with a latent world model.",
)


def _register() -> None:
    from agent.commands import bench, collect, demo, envs_list, evaluate, run, train

    app.command("envs")(envs_list.command)
    app.command("collect")(collect.command)
    app.command("train")(train.command)
    app.command("run")(run.command)
    app.command("eval")(evaluate.command)
    app.add_typer(bench.app, name="bench")
    app.command("demo")(demo.command)


def main() -> None:
    """Entry point of the console script."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    # More than one thread is often many times slower for these small models on a shared CPU.
    torch.set_num_threads(int(os.environ.get("WMPC_TORCH_THREADS", "1")))
    try:
        _register()
        app()
    except (UserError, ValueError, OSError) as err:
        if os.environ.get("WMPC_DEBUG"):
            raise
        print(f"wmpc: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("wmpc: interrupted", file=sys.stderr)
        sys.exit(130)
