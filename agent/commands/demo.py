"""`wmpc demo`: the README's main job — learn a task from scratch on a laptop CPU in minutes,
compare its return with random actions, and save a video."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.commands import check_device
from envs.errors import UserError


def command(
    out: Path = typer.Option(Path("runs/demo"), help="Run folder (must not hold a run yet)."),
    env: str = typer.Option("InvertedPendulum-v5", help="Environment id."),
    steps: int = typer.Option(2_000, help="Agent decisions to learn from."),
    episodes: int = typer.Option(3, help="Evaluation episodes for the learned agent and random."),
    seed: int = typer.Option(0, help="Seed of everything."),
    device: str = typer.Option("cpu", help="torch device."),
) -> None:
    """Learn `env` online, then print the learned agent's return against random actions."""
    import numpy as np

    from agent.build import RandomAgent, learned_agent
    from agent.config import AgentConfig, RunConfig
    from agent.evaluate import run_episodes
    from agent.online import OnlineRun
    from agent.video import VideoRecorder, disable_shadows
    from envs import make_env
    from world_model.train import TrainConfig

    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} already holds a run: remove it or pass another --out")
    check_device(device)
    cfg = RunConfig(env_id=env, steps=steps, seed=seed, seed_steps=min(1_000, steps // 3),
                    pretrain_updates=500, eval_every=steps, eval_episodes=episodes)
    # a few thousand decisions do not pay back torch.compile's first compile (about 90 s)
    agent_cfg, train_cfg = AgentConfig(compile=False), TrainConfig(compile=False)
    run = OnlineRun(out, cfg, agent_cfg, train_cfg, device=device)
    typer.echo(f"learning {env} for {steps} decisions on {device} ...")
    summary = run.run(resume=False)
    envs = [make_env(env, seed=seed + 500 + i) for i in range(episodes)]
    seeds = [seed * 1000 + 500 + i for i in range(episodes)]
    random = run_episodes(envs, RandomAgent(envs[0].action_space.shape[0], seed), seeds=seeds)
    video_env = make_env(env, seed=seed, render_mode="rgb_array")
    disable_shadows(video_env)
    agent = learned_agent(run.model, agent_cfg, video_env.action_space.shape[0], device, seed)
    recorder = VideoRecorder(out / "videos" / "demo.mp4")
    run_episodes([video_env], agent, seeds=[seed * 1000 + 999], frame_sink=recorder)
    path = recorder.close()
    recorder.add_to_tensorboard(out / "tb", "eval/demo", step=steps)
    typer.echo(f"learned agent: mean return {summary['eval_return']:.1f} "
               f"({episodes} episodes)   random actions: {np.mean(random.returns):.1f}   "
               f"wall {summary['wall_seconds']:.0f}s")
    typer.echo(f"video: {path}    TensorBoard: tensorboard --logdir {out / 'tb'}")
