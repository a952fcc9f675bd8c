"""`wmpc run`: learn a task online (collect, learn the world model, plan) from scratch."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.commands import check_device
from agent.commands.options import CONFIG, OBS, SET, option, with_obs
from envs.errors import UserError


def command(
    env: str = typer.Option("dm_control/cartpole-swingup-v0", help="Environment id."),
    out: Path = typer.Option(..., help="Run folder (checkpoints, config, TensorBoard, dataset)."),
    steps: int | None = option("run", "steps"),
    seed: int | None = option("run", "seed"),
    planner: str | None = option("agent", "planner"),
    horizon: int | None = option("agent", "horizon"),
    samples: int | None = option("agent", "num_samples", "--samples"),
    iterations: int | None = option("agent", "iterations"),
    eval_every: int | None = option("run", "eval_every"),
    eval_episodes: int | None = option("run", "eval_episodes"),
    num_envs: int | None = option("run", "num_envs"),
    device: str | None = typer.Option(
        None, help="torch device, e.g. cpu or cuda (default: cpu; on --resume the run's)."),
    resume: bool = typer.Option(
        False, help="Continue the run in --out exactly where it stopped, with its own settings "
        "(only --steps is read)."),
    env_kwargs: str | None = typer.Option(None, help="JSON keyword arguments for the env."),
    obs: str | None = OBS,
    config: Path | None = CONFIG,
    set_: list[str] | None = SET,
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Learn a task online: random seed steps, then plan with the learned model as it learns.

    Settings: the defaults, then the env's family file (`wmpc envs ID` names it), then --config,
    --set and the flags; the resolved settings are saved in OUT/config.json with the commit and
    machine the run started on."""
    from agent.cpu_load import thread_share
    from agent.online import OnlineRun
    from agent.provenance import commit, machine
    from agent.runs import load_config, resumed_configs
    from agent.settings import resolve
    from envs.make import parse_env_kwargs

    saved = {}
    if resume:
        cfg, agent_cfg, train_cfg, overrides, saved_device = resumed_configs(out, steps)
        device = device or saved_device
        saved = load_config(out)
    else:
        if out.exists() and any(out.iterdir()):
            raise UserError(f"{out} already holds a run: use --resume or another --out")
        flags = {"run": {"steps": steps, "seed": seed, "eval_every": eval_every,
                         "eval_episodes": eval_episodes, "num_envs": num_envs,
                         "env_kwargs": with_obs(parse_env_kwargs(env_kwargs), obs) or None},
                 "agent": {"planner": planner, "horizon": horizon, "num_samples": samples,
                           "iterations": iterations}}
        settings = resolve(env, config_file=config, sets=set_, flags=flags)
        cfg, agent_cfg, train_cfg = settings.run, settings.agent, settings.train
        overrides = settings.model
        device = device or "cpu"
    check_device(device)
    threads = thread_share()  # before anything compiles
    run = OnlineRun(out, cfg, agent_cfg, train_cfg, overrides, device=device)
    meta = ({"commit": saved.get("commit", "not recorded"),
             "machine": saved.get("machine", "not recorded")} if resume else
            {"commit": commit(), "machine": machine(device)})
    summary = run.run(resume=resume, progress=progress, threads=threads, meta=meta)
    last = summary["eval_return"]
    typer.echo(f"steps {summary['step']}  eval return "
               f"{'none yet' if last is None else f'{last:.1f}'}  "
               f"wall {summary['wall_seconds']:.0f}s  -> {out}")
