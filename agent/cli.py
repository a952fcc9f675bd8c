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
# Click's error type (a bad flag, a bad value), found through typer's public BadParameter: typer
# has vendored click, so the class is not importable from one place across versions.
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _register() -> None:
    from agent.commands import bench, collect, demo, envs_list, evaluate, run, train

    app.command("envs")(envs_list.command)
    app.command("collect")(collect.command)
    app.command("train")(train.command)
    app.command("run")(run.command)
    app.command("eval")(evaluate.command)
    app.add_typer(bench.app, name="bench")
    app.command("demo")(demo.command)


def torch_threads() -> int:
    """`WMPC_TORCH_THREADS`, else the cores this process may use that other processes are not
    keeping busy as it starts (`agent.cpu_load`): all of them on an idle machine, where one run is
    fastest with every core; fewer beside busy processes, which would otherwise slow it and them
    several times over. `wmpc run` looks again as it goes (`agent.cpu_load.ThreadShare`)."""
    from agent.cpu_load import busy_cores_of_others, fixed_threads, threads_for, usable_cpus

    fixed = fixed_threads()
    if fixed is not None:
        return fixed
    cores = len(usable_cpus())
    return threads_for(cores, busy_cores_of_others()) if cores > 1 else 1


def one_line(message: str, limit: int = 600) -> str:
    """A message on one line (an env's or a library's text can hold many), at most `limit`
    characters."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def main() -> None:
    """Entry point of the console script."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    try:
        torch.set_num_threads(torch_threads())
        _register()
        code = app(standalone_mode=False)  # click's errors come here, to be one line
    except _CLICK_ERROR as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # `wmpc` or `wmpc bench` alone: the help
            print(err.format_message())
            sys.exit(2)
        ctx = getattr(err, "ctx", None)
        hint = f" ({ctx.command_path} --help lists the options)" if ctx is not None else ""
        print(f"wmpc: error: {' '.join(err.format_message().split())}{hint}", file=sys.stderr)
        sys.exit(err.exit_code)
    except typer.Abort:
        print("wmpc: aborted", file=sys.stderr)
        sys.exit(1)
    except (UserError, ValueError, OSError) as err:
        if os.environ.get("WMPC_DEBUG"):
            raise
        print(f"wmpc: error: {one_line(str(err))}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("wmpc: interrupted", file=sys.stderr)
        sys.exit(130)
    if isinstance(code, int) and not isinstance(code, bool) and code:  # typer's own exits
        if code == 130:
            print("wmpc: interrupted", file=sys.stderr)
        sys.exit(code)
