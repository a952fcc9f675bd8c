"""`wmpc eval`: evaluate a run (or the oracle, or random actions) on an env; JSON, videos."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from envs.errors import UserError


def command(
    env: str = typer.Option(..., help="Environment id to evaluate on."),
    run: Path | None = typer.Option(None, help="Run folder (from wmpc run or wmpc train)."),
    episodes: int = typer.Option(5, help="Episodes, planned as one batch."),
    planner: str | None = typer.Option(
        None, help="cem, icem, mppi, gradient, cem-gradient, or random for random actions."),
    oracle: bool = typer.Option(False, help="Plan on the true simulator instead of a model."),
    horizon: int | None = typer.Option(None, help="Planning horizon (default: the run's)."),
    samples: int | None = typer.Option(None, help="Samples per iteration (default: the run's)."),
    iterations: int | None = typer.Option(None, help="Planner iterations (default: the run's)."),
    video: bool = typer.Option(False, help="Write an mp4 of the first episode (and TensorBoard)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON here."),
    seed: int = typer.Option(0, help="Seed of the episodes and the planner."),
    device: str = typer.Option("cpu", help="torch device."),
    env_kwargs: str | None = typer.Option(None, help="JSON keyword arguments for the env."),
) -> None:
    """Evaluate planning with a learned model (or the oracle, or random actions) on an env."""
    from agent.config import AgentConfig, config_from_dict
    from agent.evaluate import run_episodes, write_video
    from agent.loading import make_eval_policy
    from agent.runs import load_config, write_atomic
    from agent.video import add_to_tensorboard, disable_shadows
    from envs import make_env
    from envs.make import parse_env_kwargs

    if episodes < 1:
        raise UserError("--episodes must be at least 1")
    if run is None and not oracle and planner != "random":
        raise UserError("give --run RUN, or --oracle, or --planner random")
    saved = load_config(run).get("agent", {}) if run is not None and not oracle else {}
    agent_cfg = config_from_dict(AgentConfig, saved)
    overrides = {"planner": planner if planner not in (None, "random") else None,
                 "horizon": horizon, "num_samples": samples, "iterations": iterations}
    agent_cfg = dataclasses.replace(agent_cfg, **{k: v for k, v in overrides.items() if v})
    kwargs = parse_env_kwargs(env_kwargs)
    envs = [make_env(env, seed=seed + i, **kwargs, **({"render_mode": "rgb_array"}
                                                      if video and i == 0 else {}))
            for i in range(episodes)]
    if video:
        disable_shadows(envs[0])
    kind = "random" if planner == "random" else "oracle" if oracle else "model"
    policy = make_eval_policy(kind, envs, agent_cfg, run, env, device, seed)
    result = run_episodes(envs, policy, seeds=[seed * 1000 + i for i in range(episodes)],
                          record_first=video)
    for e in envs:
        e.close()
    name = "random" if kind == "random" else agent_cfg.planner + ("+oracle" if oracle else "")
    summary = result.summary(env, name)
    typer.echo(f"{env}  {name}: mean return {summary['mean_return']:.1f} over {episodes} episodes"
               + ("" if summary["success_rate"] is None else
                  f", success {summary['success_rate']:.2f}"))
    if video:
        folder = (run or Path(".")) / "videos"
        path = write_video(result.frames, folder / f"{env.replace('/', '_')}_{name}_seed{seed}.mp4")
        add_to_tensorboard((run or Path(".")) / "tb", f"eval/{name}", result.frames)
        typer.echo(f"video: {path}")
    if json_out is not None:
        write_atomic(json_out, (json.dumps(summary, indent=2) + "\n").encode())
