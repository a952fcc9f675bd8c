"""Turn a run folder (or the true simulator) into a policy for an env, with the user's checks."""

from __future__ import annotations

from pathlib import Path

from agent.build import RandomAgent, learned_agent, oracle_agent
from agent.config import AgentConfig, config_from_dict
from agent.runs import load_config
from envs.errors import UserError


def obs_mode(pixels: bool, state_dim: int) -> str:
    """The `--obs` value of observations with or without images and a state beside them."""
    return "state" if not pixels else "pixels+state" if state_dim else "pixels"


def load_run_model(run: Path, env_id: str | None, env, device: str):
    """The run's world model, refused when it was trained on another env (when `env_id` is given)
    or for other observation/action sizes."""
    from world_model import load_world_model

    if not Path(run).is_dir():
        raise UserError(f"run folder not found: {run}")
    model = load_world_model(run, device=device)
    pixels = env.has_wrapper_attr("image_shape")
    given = obs_mode(pixels, env.get_wrapper_attr("state_dim") if pixels else 0)
    trained = obs_mode(model.cfg.image_shape is not None, model.cfg.state_dim)
    if trained != given:
        raise UserError(f"{run} was trained on {trained} observations; this env gives {given} "
                        f"(--obs {trained})")
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    if (model.cfg.obs_dim, model.cfg.act_dim) != (obs_dim, act_dim):
        raise UserError(
            f"{run} was trained for observations {model.cfg.obs_dim} / actions "
            f"{model.cfg.act_dim}, but {env_id or 'this env'} has {obs_dim} / {act_dim}")
    if env_id and model.env_id and model.env_id != env_id:
        raise UserError(f"{run} was trained on {model.env_id}, not {env_id}")
    return model


def load_agent(run_dir: Path, env, device: str = "cpu", seed: int = 0,
               env_id: str | None = None):
    """The MPC agent of a run, for one env (act(obs) -> action, reset()); refused when the run
    was trained on another env than `env_id` (when given) or for other sizes."""
    agent_cfg = config_from_dict(AgentConfig, load_config(Path(run_dir)).get("agent", {}))
    model = load_run_model(Path(run_dir), env_id, env, device)
    return learned_agent(model, agent_cfg, env.action_space.shape[0], device, seed)


def make_eval_policy(kind: str, envs: list, agent_cfg: AgentConfig, run: Path | None, env_id: str,
                     device: str, seed: int):
    """The batch policy `run_episodes` plays: kind is model, oracle or random."""
    action_dim = envs[0].action_space.shape[0]
    if kind == "random":
        return RandomAgent(action_dim, seed)
    if kind == "oracle":
        from envs.oracle import SimulatorOracle

        oracles = [SimulatorOracle(e) for e in envs]
        return oracle_agent(oracles, agent_cfg, action_dim, seed)
    model = load_run_model(run, env_id, envs[0], device)
    return learned_agent(model, agent_cfg, action_dim, device, seed)
