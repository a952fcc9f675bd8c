"""`wmpc collect`: record episodes of a random policy or a trained agent as a Minari dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.commands.options import OBS, with_obs
from envs.errors import UserError


def _policy(name: str, env_id: str, env_kwargs: dict, beta: float, seed: int, num_envs: int):
    """The policy `--policy` names: random, colored, or the folder of a trained run; for
    `num_envs` > 1 a batch policy (`envs.record.collect`): one random policy per env (seeded
    `seed + i`); the run's agent is always one, planning for all envs in one batch."""
    from agent.policies import ColoredNoisePolicy, UniformPolicy
    from envs import convention_for, make_env
    from envs.record import PerEnvPolicies

    env = make_env(env_id, seed=seed, **env_kwargs)
    action_dim = int(env.action_space.shape[0])
    try:
        if name in ("random", "colored"):
            if beta < 0:
                raise UserError(f"--beta must be >= 0, got {beta}")
            steps = convention_for(env_id).episode_steps or 1000
            policies = [UniformPolicy(action_dim, seed=seed + i) if name == "random" else
                        ColoredNoisePolicy(action_dim, episode_steps=steps, beta=beta,
                                           seed=seed + i) for i in range(num_envs)]
            return policies[0] if num_envs == 1 else PerEnvPolicies(policies)
        run_dir = Path(name)
        if not run_dir.is_dir():
            raise UserError(
                f"--policy {name!r} is neither random, colored nor an existing run folder"
            )
        from agent.loading import load_agent

        agent = load_agent(run_dir, env, device="cpu", seed=seed, env_id=env_id)

        class _AgentBatch:
            """The agent planning for every env in one batch: `act(obs (N, O))`."""

            name = f"agent:{run_dir}"

            def reset(self, index: int | None = None) -> None:
                agent.reset(index)

            def act(self, obs):
                return agent.act(obs)

        return _AgentBatch()
    finally:
        env.close()


def command(
    steps: Annotated[int, typer.Option(help="Agent decisions to record (last episode cut).")],
    out: Annotated[Path, typer.Option(help="Dataset folder to create (a Minari dataset).")],
    env: Annotated[str | None, typer.Option(
        "--env", help="Environment id (see `wmpc envs`); with --policy RUN, the run's.")] = None,
    policy: Annotated[str, typer.Option(help="random, colored, or a run folder.")] = "random",
    beta: Annotated[float, typer.Option(help="Colour of --policy colored: 0 white, 1 pink.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the env and the policy.")] = 0,
    append: Annotated[bool, typer.Option(help="Add episodes to an existing --out.")] = False,
    env_kwargs: Annotated[str | None, typer.Option(
        help="JSON keyword arguments; with --policy RUN and no --env, the run's.")] = None,
    obs: str | None = OBS,
    num_envs: Annotated[int, typer.Option(
        help="Envs stepped at once (Gymnasium's AsyncVectorEnv for more than one, env i seeded "
        "seed + i); every env's decisions count towards --steps, a multiple of it.")] = 1,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Record whole episodes as a Minari dataset readable by plain `minari`."""
    from envs.make import parse_env_kwargs
    from envs.record import check_steps, collect

    kwargs = parse_env_kwargs(env_kwargs)
    if env is None:
        if policy in ("random", "colored"):
            raise UserError("give --env ID (or --policy RUN, whose env is used)")
        from agent.runs import run_env

        if not Path(policy).is_dir():
            raise UserError(f"--policy {policy!r} is neither random, colored nor an existing "
                            "run folder")
        env, saved_kwargs = run_env(Path(policy))
        kwargs = kwargs or saved_kwargs
    kwargs = with_obs(kwargs, obs)
    if out.exists() and not append:
        raise UserError(f"{out} already exists; pass --append to add episodes to it")
    check_steps(steps, num_envs)
    chosen = _policy(policy, env, kwargs, beta, seed, num_envs)
    written = collect(env, steps, out, policy=chosen, seed=seed, append=append,
                      env_kwargs=kwargs, progress=progress, num_envs=num_envs)
    typer.echo(f"{steps} steps of {env} -> {written}")
