"""`wmpc collect`: record episodes of a random policy or a trained agent as a Minari dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.commands.options import OBS, with_obs
from envs.errors import UserError


def _policy(name: str, env_id: str, env_kwargs: dict, beta: float, seed: int):
    """The policy `--policy` names: random, colored, or the folder of a trained run."""
    from agent.policies import ColoredNoisePolicy, UniformPolicy
    from envs import convention_for, make_env

    env = make_env(env_id, seed=seed, **env_kwargs)
    action_dim = int(env.action_space.shape[0])
    try:
        if name == "random":
            return UniformPolicy(action_dim, seed=seed)
        if name == "colored":
            if beta < 0:
                raise UserError(f"--beta must be >= 0, got {beta}")
            steps = convention_for(env_id).episode_steps or 1000
            return ColoredNoisePolicy(action_dim, episode_steps=steps, beta=beta, seed=seed)
        run_dir = Path(name)
        if not run_dir.is_dir():
            raise UserError(
                f"--policy {name!r} is neither random, colored nor an existing run folder"
            )
        from agent.loading import load_agent

        agent = load_agent(run_dir, env, device="cpu", seed=seed, env_id=env_id)

        class _AgentPolicy:
            """A trained agent as a collection policy."""

            name = f"agent:{run_dir}"

            def reset(self) -> None:
                agent.reset()

            def __call__(self, obs):
                return agent.act(obs)

        return _AgentPolicy()
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
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Record whole episodes as a Minari dataset readable by plain `minari`."""
    from envs.make import parse_env_kwargs
    from envs.record import collect

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
    chosen = _policy(policy, env, kwargs, beta, seed)
    written = collect(env, steps, out, policy=chosen, seed=seed, append=append,
                      env_kwargs=kwargs, progress=progress)
    typer.echo(f"{steps} steps of {env} -> {written}")
