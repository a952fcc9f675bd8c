"""`wmpc run`: learn a task online (collect, learn the world model, plan) from scratch."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.commands import check_device
from envs.errors import UserError
from world_model.config import CRITICS


def command(
    env: str = typer.Option("dm_control/cartpole-swingup-v0", help="Environment id."),
    steps: int | None = typer.Option(
        None, help="Agent decisions in the environment [default: 10000; on --resume the run's]."),
    out: Path = typer.Option(..., help="Run folder (checkpoints, config, TensorBoard, dataset)."),
    planner: str = typer.Option("mppi", help="cem, icem, mppi, gradient or cem-gradient."),
    device: str | None = typer.Option(
        None, help="torch device, e.g. cpu or cuda [default: cpu; on --resume the run's]."),
    seed: int = typer.Option(0, help="Seed of everything."),
    resume: bool = typer.Option(False, help="Continue the run in --out exactly where it stopped."),
    seed_steps: int = typer.Option(1_000, help="Random decisions before planning starts."),
    eval_every: int = typer.Option(5_000, help="Decisions between evaluations."),
    eval_episodes: int = typer.Option(5, help="Episodes per evaluation."),
    horizon: int = typer.Option(3, help="Planning horizon in decisions."),
    samples: int = typer.Option(256, help="Candidate sequences per planner iteration."),
    iterations: int = typer.Option(4, help="Planner iterations per decision."),
    updates_per_step: float = typer.Option(0.5, help="Model updates per decision."),
    prior_samples: int = typer.Option(
        0, help="Rollouts of the q critic's actor added to each plan (0: none)."),
    init_std: float | None = typer.Option(
        None, help="Planner std at the start of each plan [default: the planner's own, 0.5 for "
        "the sampling planners]."),
    eval_init_std: float | None = typer.Option(
        2.0, help="Planner std at the start of each evaluation plan (AgentConfig.eval_init_std)."),
    explore_std: float = typer.Option(0.3, help="Training action-noise std at decision 0."),
    explore_final: float = typer.Option(
        0.15, help="Noise std reached after --explore-decay decisions (linear in between)."),
    explore_decay: int = typer.Option(25_000, help="Decisions of the noise std's linear decay."),
    critic: str = typer.Option(
        "v", help="v: state value of the replay's behaviour; q: TD-MPC2's two action values "
        "bootstrapped through an actor that maximises them."),
    env_kwargs: str | None = typer.Option(None, help="JSON keyword arguments for the env."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Learn a task online: random seed steps, then plan with the learned model as it learns."""
    from agent.config import AgentConfig, RunConfig, online_train_config
    from agent.online import OnlineRun
    from agent.runs import resumed_configs
    from envs.make import parse_env_kwargs

    if critic not in CRITICS:
        raise UserError(f"--critic must be one of {', '.join(CRITICS)}, got {critic!r}")
    if resume:
        cfg, agent_cfg, train_cfg, overrides, saved_device = resumed_configs(out, steps)
        device = device or saved_device
    else:
        if out.exists() and any(out.iterdir()):
            raise UserError(f"{out} already holds a run: use --resume or another --out")
        cfg = RunConfig(env_id=env, steps=steps or 10_000, seed=seed, seed_steps=seed_steps,
                        eval_every=eval_every, eval_episodes=eval_episodes,
                        updates_per_step=updates_per_step, env_kwargs=parse_env_kwargs(env_kwargs))
        agent_cfg = AgentConfig(planner=planner, horizon=horizon, num_samples=samples,
                                iterations=iterations, prior_samples=prior_samples,
                                explore_std=explore_std, explore_std_final=explore_final,
                                explore_decay_steps=explore_decay, init_std=init_std,
                                eval_init_std=eval_init_std)
        train_cfg = online_train_config()
        overrides = {"critic": critic}
        device = device or "cpu"
    check_device(device)
    run = OnlineRun(out, cfg, agent_cfg, train_cfg, overrides, device=device)
    summary = run.run(resume=resume, progress=progress)
    last = summary["eval_return"]
    typer.echo(f"steps {summary['step']}  eval return "
               f"{'none yet' if last is None else f'{last:.1f}'}  "
               f"wall {summary['wall_seconds']:.0f}s  -> {out}")
