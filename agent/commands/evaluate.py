"""`wmpc eval`: evaluate a run (or the oracle, or random actions) on an env; JSON, videos.

With a goal (`--goal`, or the env's own goals when its observation has a `desired_goal` or its
task spec a target, `envs.targets`) the agent plans to reach it by minimising a goal energy
(`agent.goals`) instead of the task cost; a task target also sets the goal episode's length, its
planning settings and when success is judged.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from agent.commands import check_device
from agent.commands.options import OBS, with_obs
from envs.errors import UserError


def command(
    env: str | None = typer.Option(
        None, help="Environment id to evaluate on (default: the run's own, with its kwargs)."),
    run: Path | None = typer.Option(None, help="Run folder (from wmpc run or wmpc train)."),
    episodes: int = typer.Option(5, help="Episodes, planned as one batch."),
    num_envs: int = typer.Option(
        1, help="Envs in their own processes (Gymnasium's AsyncVectorEnv): the episodes run in "
        "rounds of this many, one batched plan each; on the reward only (no --oracle, --video "
        "or goal)."),
    planner: str | None = typer.Option(
        None, help="cem, icem, mppi, gradient, cem-gradient, or random for random actions."),
    oracle: bool = typer.Option(False, help="Plan on the true simulator instead of a model."),
    horizon: int | None = typer.Option(None, help="Planning horizon (default: the run's)."),
    samples: int | None = typer.Option(None, help="Samples per iteration (default: the run's)."),
    iterations: int | None = typer.Option(None, help="Planner iterations (default: the run's)."),
    init_std: float | None = typer.Option(
        None, help="Planner std at the start of each plan (default: the run's evaluation "
        "setting)."),
    video: bool = typer.Option(False, help="Write an mp4 of the first episode (and TensorBoard)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON here."),
    seed: int = typer.Option(0, help="Seed of the episodes and the planner."),
    device: str = typer.Option("cpu", help="torch device."),
    env_kwargs: str | None = typer.Option(None, help="JSON keyword arguments for the env."),
    obs: str | None = OBS,
    goal: str | None = typer.Option(
        None, help="Goal to reach: env (the env's own goal of each episode, rendered with --obs "
        "pixels; the default for envs with a desired_goal or a task target such as a reacher's), "
        "none (plan on the reward), a .png image (with --obs pixels), a JSON list (a whole "
        "observation, or a goal-space target of a goal env), a .npy observation, or "
        "dataset:PATH:EPISODE:STEP."),
    goal_energy: str | None = typer.Option(
        None, help="Goal distance along the horizon: min (closest approach), end or sum "
        "(default: the run's, else the env family's, else min)."),
    goal_tolerance: float = typer.Option(
        0.1, help="Success radius around a given --goal, in its space (env goals use the env's "
        "own success)."),
) -> None:
    """Evaluate planning with a learned model (or the oracle, or random actions) on an env."""
    from agent.config import AgentConfig, config_from_dict
    from agent.evaluate import run_episodes
    from agent.goals import GOAL_MODES, GoalSuccess, Unjudged, parse_goal, resolve_goal
    from agent.loading import make_eval_policy
    from agent.runs import load_config, run_env, write_atomic
    from agent.settings import resolve
    from agent.video import VideoRecorder, disable_shadows
    from envs import make_env
    from envs.conventions import convention_for
    from envs.make import parse_env_kwargs

    if episodes < 1:
        raise UserError("--episodes must be at least 1")
    if num_envs < 1 or episodes % num_envs:
        raise UserError(f"--num-envs must be positive and divide --episodes ({episodes}), got "
                        f"{num_envs}")
    if num_envs > 1 and (oracle or video):
        raise UserError("--num-envs above 1 steps envs in other processes: the oracle and "
                        "--video need them in this one; use --num-envs 1")
    if not goal_tolerance > 0:
        raise UserError(f"--goal-tolerance must be positive, got {goal_tolerance}")
    parsed_goal = parse_goal(goal) if goal is not None else None
    if run is None and not oracle and planner != "random":
        raise UserError("give --run RUN, or --oracle, or --planner random")
    check_device(device)
    kwargs = parse_env_kwargs(env_kwargs)
    if env is None:
        if run is None:
            raise UserError("give --env ID (or --run RUN, whose env is used)")
        env, saved_kwargs = run_env(run)
        kwargs = kwargs or saved_kwargs
    kwargs = with_obs(kwargs, obs)
    own_goal = ((parsed_goal is None or isinstance(parsed_goal, str) and parsed_goal == "env")
                and kwargs.get("obs") != "pixels+state")  # no goals beside a state there
    convention = convention_for(env)
    task_goal = convention.goal if own_goal else None
    saved = load_config(run).get("agent") if run is not None and not oracle else None
    agent_cfg = resolve(env).agent if saved is None else config_from_dict(AgentConfig, saved)
    if task_goal is not None:
        agent_cfg = dataclasses.replace(agent_cfg, **task_goal.agent)
    overrides = {"planner": planner if planner not in (None, "random") else None,
                 "horizon": horizon, "num_samples": samples, "iterations": iterations,
                 "goal_energy": goal_energy}
    agent_cfg = dataclasses.replace(
        agent_cfg.for_evaluation(), **{k: v for k, v in overrides.items() if v is not None})
    if init_std is not None:
        agent_cfg = dataclasses.replace(agent_cfg, init_std=init_std)
    if agent_cfg.goal_energy not in GOAL_MODES:
        raise UserError(f"--goal-energy must be one of {', '.join(GOAL_MODES)}, "
                        f"got {agent_cfg.goal_energy!r}")
    episode_steps = {"episode_steps": task_goal.episode_steps} if task_goal is not None else {}
    envs = [make_env(env, seed=seed + i, **episode_steps, **kwargs,
                     **({"render_mode": "rgb_array"} if video and i == 0 else {}))
            for i in range(episodes if num_envs == 1 else 1)]
    if video:
        disable_shadows(envs[0])
    kind = "random" if planner == "random" else "oracle" if oracle else "model"
    spec = resolve_goal(parsed_goal, envs, env)
    if spec is not None and num_envs > 1:
        raise UserError("--num-envs above 1 plans on the reward only: add --goal none, or use "
                        "--num-envs 1 to reach goals")
    pixels = envs[0].has_wrapper_attr("image_shape")
    if spec is None:
        policy = make_eval_policy(kind, envs, agent_cfg, run, env, device, seed)
    else:
        if pixels and kind == "oracle":
            raise UserError("the oracle reaches goals on the true state: evaluate it without "
                            "--obs pixels")
        if pixels and spec.kind == "observation":
            envs = [Unjudged(e) for e in envs]
        elif not spec.env_judges_success:
            envs = [GoalSuccess(e, spec, goal_tolerance) for e in envs]
        policy = _goal_policy(kind, spec, envs, agent_cfg, run, env, device, seed,
                              agent_cfg.goal_energy)
    name = "random" if kind == "random" else agent_cfg.planner + ("+oracle" if oracle else "")
    folder = run or Path(".")
    recorder = (VideoRecorder(folder / "videos" / f"{env.replace('/', '_')}_{name}_seed{seed}.mp4")
                if video else None)
    success_at_end = convention.success_at_end and (spec is None or spec.env_judges_success)
    seeds = [seed * 1000 + i for i in range(episodes)]
    try:
        if num_envs == 1:
            result = run_episodes(envs, policy, seeds=seeds, frame_sink=recorder,
                                  success_at_end=success_at_end, env_id=env)
        else:
            result = _vector_episodes(env, num_envs, seed, {**episode_steps, **kwargs}, policy,
                                      seeds, success_at_end)
    finally:
        for e in envs:
            e.close()
    summary = result.summary(env, name)
    if spec is not None:
        summary.update(goal=spec.kind if goal is None else goal,
                       goal_energy=agent_cfg.goal_energy)
    typer.echo(f"{env}  {name}: mean return {summary['mean_return']:.1f} over {episodes} episodes"
               + ("" if summary["success_rate"] is None else
                  f", success {summary['success_rate']:.2f}"))
    if recorder is not None:
        path = recorder.close()
        recorder.add_to_tensorboard(folder / "tb", f"eval/{name}")
        typer.echo(f"video: {path}")
    if json_out is not None:
        write_atomic(json_out, (json.dumps(summary, indent=2) + "\n").encode())


def _vector_episodes(env_id: str, num_envs: int, seed: int, kwargs: dict, policy, seeds: list[int],
                     success_at_end: bool):
    """The episodes of `seeds` in rounds of `num_envs` envs (env i seeded `seed + i`), each in
    its own process."""
    from agent.evaluate import run_vector_episodes
    from envs import make_vector_env

    vector = make_vector_env(env_id, num_envs, seed, kwargs, autoreset=True)
    try:
        return run_vector_episodes(vector, policy, seeds=seeds, success_at_end=success_at_end,
                                   env_id=env_id)
    finally:
        vector.close()


def _goal_policy(kind, spec, envs, agent_cfg, run, env_id, device, seed, mode):
    """Random actions, or MPC towards the goal on the true simulator or the run's model."""
    from agent.build import RandomAgent, make_planner
    from agent.goals import goal_map_for_run, learned_goal_agent, oracle_goal_agent
    from agent.loading import load_run_model

    action_dim = envs[0].action_space.shape[0]
    if kind == "random":
        return RandomAgent(action_dim, seed)
    if kind == "oracle":
        return oracle_goal_agent(envs, spec, make_planner(agent_cfg, "cpu", seed),
                                 horizon=agent_cfg.horizon, action_dim=action_dim, mode=mode,
                                 seed=seed)
    model = load_run_model(run, env_id, envs[0], device)
    goal_map = None if spec.whole_observation else goal_map_for_run(run, model, spec.goal_slice)
    return learned_goal_agent(model, goal_map, spec, make_planner(agent_cfg, device, seed),
                              horizon=agent_cfg.horizon, action_dim=action_dim, mode=mode,
                              seed=seed)
