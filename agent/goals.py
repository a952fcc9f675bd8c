"""Goal reaching: goal specifications and goal energy terms composable with `agent.cost.Energy`.

A goal is a point of a *goal space*, a slice of the flat observation:
- a whole goal observation (`--goal [..O numbers..]`, a `.npy` file, or a dataset frame
  `dataset:PATH:EPISODE:STEP`): on the learned model the energy is the distance of imagined latents
  to the goal observation's embedding `encode(goal)`;
- a goal-space target of a goal-conditioned env (PointMaze's `desired_goal`, G numbers, or the
  env's own goal of each episode): on the learned model a `world_model.goal_map.GoalMap` maps
  imagined latents to the `achieved_goal` slice (fitted reward-free on the run's data) and the
  energy is the distance of the mapped points to the target.
On the true simulator (`GoalPoints` over `envs.oracle.SimulatorOracle`) the same distance is
measured on the true goal-space points, so learned model and oracle minimise the same energy.

`GoalCost.mode` aggregates the distances d_1..d_H along the horizon: `end` (d_H), `min` (closest
approach) or `sum`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from agent.cost import Energy, Imagined, LatentImagination
from agent.mpc import MPCAgent
from envs.errors import UserError
from envs.oracle import SimulatorOracle

GOAL_MODES = ("end", "min", "sum")
"""How goal distances along the horizon become one energy."""


@dataclass(frozen=True)
class GoalSpec:
    """What to reach, resolved against an env's observation layout."""

    kind: str
    """`observation` (a whole goal observation), `goal_space` (a fixed target), `task` (the
    fixed target of the task's own goal, `envs.targets`), `env` (the env's own goal of each
    episode, read from the `desired_goal` slice of every observation) or `episode` (the env's
    own goal observation of each episode, given at reset: OGBench's)."""
    goal_slice: slice
    """Slice of the flat observation (O,) that is compared with the target."""
    values: np.ndarray | None = None
    """The target: (O,) for `observation`, (G,) for `goal_space` and `task`, None for `env` and
    `episode`."""
    target_slice: slice | None = None
    """For `env`: the slice of the observation holding the env's goal (`desired_goal`)."""
    episode_goals: Callable[[], np.ndarray] | None = None
    """For `episode`: the goal observations (B, O) of the B envs' current episodes."""

    def targets(self, obs: np.ndarray) -> np.ndarray:
        """Targets for observations (O,) or (B, O): (G,) or (B, G) (or (O,)/(B, O))."""
        if self.kind == "env":
            return np.asarray(obs[..., self.target_slice], dtype=np.float32)
        if self.kind == "episode":
            goals = self.episode_goals()
            return goals if obs.ndim == 2 else goals[0]
        return np.broadcast_to(self.values, (*obs.shape[:-1], self.values.shape[-1])).copy()

    @property
    def env_judges_success(self) -> bool:
        """True when the goal is the env's own, so its own `info["success"]` is the test."""
        return self.kind in ("env", "episode", "task")

    @property
    def whole_observation(self) -> bool:
        """True when the target is a whole observation (compared in latent space)."""
        return self.kind in ("observation", "episode")


def goal_layout(env: gym.Env) -> dict[str, slice] | None:
    """The env's goal slices (`achieved_goal`, `desired_goal`, `observation`), or None."""
    try:
        return env.get_wrapper_attr("goal_layout")
    except AttributeError:
        return None


def parse_goal(text: str) -> np.ndarray | str:
    """`--goal` text -> a float32 vector, an (H, W, 3) uint8 image, `"env"` for the env's own
    goals or `"none"` for none.

    Accepted: `env`, `none` (plan on the task's reward even where the env has goals), a JSON
    list of numbers, a `.png` goal image (for pixel observations), a path to a `.npy` array,
    `dataset:PATH:EPISODE:STEP`
    (observation STEP of episode EPISODE of a dataset `world_model.data.load_trajectories` reads).
    """
    text = text.strip()
    if text in ("env", "none"):
        return text
    if text.startswith("dataset:"):
        return _dataset_frame(text)
    if text.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise UserError(f"--goal is not a valid JSON list ({err.msg} at char "
                            f"{err.pos})") from err
        if not values or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                  for v in values):
            raise UserError(f"--goal must be a non-empty JSON list of numbers, got {text!r}")
        return _finite(np.asarray(values, dtype=np.float32), "--goal")
    if text.lower().endswith(".png"):
        return _read_image(Path(text))
    if text.endswith(".npy"):
        try:
            values = np.load(Path(text), allow_pickle=False)
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read the goal file {text}: {err}") from err
        return _finite(np.asarray(values, dtype=np.float32).ravel(), text)
    raise UserError(f"--goal {text!r} is not env, none, a JSON list of numbers, a .png image, "
                    "a .npy file or dataset:PATH:EPISODE:STEP")


def _read_image(path: Path) -> np.ndarray:
    """A goal image: (H, W, 3) uint8 RGB (an opaque alpha channel is dropped)."""
    import imageio.v3 as iio

    try:
        image = np.asarray(iio.imread(path))
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read the goal image {path}: {err}") from err
    if image.ndim == 3 and image.shape[2] == 4 and (image[..., 3] == 255).all():
        image = image[..., :3]
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise UserError(f"the goal image {path} is {image.dtype} of shape {image.shape}; it "
                        "must be 8-bit RGB (height, width, 3)")
    return image


def _finite(values: np.ndarray, what: str) -> np.ndarray:
    if values.size == 0 or not np.isfinite(values).all():
        raise UserError(f"{what}: the goal must be a non-empty vector of finite numbers")
    return values


def _dataset_frame(text: str) -> np.ndarray:
    from world_model.data import load_trajectories

    path, sep, rest = text[len("dataset:"):].rpartition(":")
    path, sep2, episode = path.rpartition(":")
    try:
        index, step = int(episode), int(rest)
    except ValueError:
        sep = ""
    if not (sep and sep2 and path):
        raise UserError(f"--goal {text!r}: write dataset:PATH:EPISODE:STEP with integer "
                        "EPISODE and STEP")
    buffer = load_trajectories(path)
    if not 0 <= index < buffer.num_episodes:
        raise UserError(f"--goal: episode {index} is not in {path} "
                        f"({buffer.num_episodes} episodes)")
    obs = buffer.episode(index)["obs"]
    if not 0 <= step < len(obs):
        raise UserError(f"--goal: step {step} is not in episode {index} of {path} "
                        f"(observations 0..{len(obs) - 1})")
    return obs[step].astype(np.float32)


def resolve_goal(goal: np.ndarray | str | None, envs: list[gym.Env],
                 env_id: str) -> GoalSpec | None:
    """The `GoalSpec` of a parsed `--goal` on `envs` (one per problem of a batch); None when
    there is no goal to reach.

    With no `--goal`, an env with goals of its own (a goal observation at each reset, a
    `desired_goal`, or a target its task spec defines, `envs.targets`) gives the `episode`, `env`
    or `task` spec; `--goal none` gives None. With pixel observations the env's own goal is its
    rendered goal image (`envs.goal_images`), and a goal image (H, W, 3) is tiled as a frame stack.
    """
    env = envs[0]
    obs_dim = int(env.observation_space.shape[0])
    pixels = env.has_wrapper_attr("image_shape")
    layout = None if pixels else goal_layout(env)
    if isinstance(goal, str) and goal == "none":
        return None
    if pixels and env.get_wrapper_attr("state_dim"):
        if goal is None:
            return None
        raise UserError(f"{env_id} with --obs pixels+state cannot plan to a goal (a goal "
                        "image has no state beside it): use --obs pixels, or --goal none")
    if goal is None or (isinstance(goal, str) and goal == "env"):
        if has_episode_goals(env) and (not pixels or env.has_wrapper_attr("goal_is_image")):
            def episode_goals() -> np.ndarray:
                return np.stack([e.get_wrapper_attr("episode_goal") for e in envs])

            return GoalSpec("episode", slice(0, obs_dim), episode_goals=episode_goals)
        if layout is not None:
            return GoalSpec("env", layout["achieved_goal"], None, layout["desired_goal"])
        task_goal = task_goal_of(env)
        if task_goal is not None:
            return GoalSpec("task", env.get_wrapper_attr("goal_slice"),
                            np.asarray(task_goal.target, dtype=np.float32))
        if goal is None:
            return None
        raise UserError(f"{env_id} has no goals of its own (no desired_goal in its "
                        "observation, no goal at reset, no target in its task spec); give "
                        "--goal as a JSON list, a .npy file or dataset:PATH:EPISODE:STEP")
    if goal.ndim == 3:
        return GoalSpec("observation", slice(0, obs_dim), _image_goal(goal, env, env_id))
    if goal.size == obs_dim:
        return GoalSpec("observation", slice(0, obs_dim), goal)
    if layout is not None:
        size = layout["desired_goal"].stop - layout["desired_goal"].start
        if goal.size == size:
            return GoalSpec("goal_space", layout["achieved_goal"], goal)
        raise UserError(f"--goal has {goal.size} numbers; {env_id} needs {obs_dim} (an "
                        f"observation) or {size} (a goal-space target)")
    raise UserError(f"--goal has {goal.size} numbers; {env_id} needs {obs_dim} (an observation)")


def _image_goal(image: np.ndarray, env: gym.Env, env_id: str) -> np.ndarray:
    """A goal image (H, W, 3) as a pixel observation of `env`: channel-first, tiled over the
    frame stack, float32."""
    if not env.has_wrapper_attr("image_shape"):
        raise UserError(f"a goal image needs pixel observations: evaluate {env_id} with "
                        "--obs pixels (a run trained on pixels has them)")
    channels, height, width = env.get_wrapper_attr("image_shape")
    if image.shape != (height, width, 3):
        raise UserError(f"the goal image is {'x'.join(map(str, image.shape))} (height x width "
                        f"x channels); {env_id} observes {height}x{width}x3 RGB frames")
    frame = image.transpose(2, 0, 1).ravel().astype(np.float32)
    return np.tile(frame, channels // 3)


class Unjudged(gym.Wrapper):
    """Drops the env's success flags: a goal image has no true test to judge it by (the env's
    own success is about its own goal)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = {k: v for k, v in info.items() if k not in ("success", "is_success")}
        return obs, reward, terminated, truncated, info


def task_goal_of(env: gym.Env):
    """The `envs.targets.TaskGoal` of a state-observation env, or None."""
    if env.has_wrapper_attr("image_shape") or not env.has_wrapper_attr("task_goal"):
        return None
    return env.get_wrapper_attr("task_goal")


def has_episode_goals(env: gym.Env) -> bool:
    """True when `env` gives a goal observation at each reset (`envs.wrappers.EpisodeGoal`)."""
    try:
        env.get_wrapper_attr("episode_goal")
    except AttributeError:
        return False
    return True


class GoalCost:
    """Distance of imagined points to the current target, aggregated over the horizon.

    The points are `im.latents[..., 1:, :]` (N, H, D) (or (B, N, H, D)), mapped by `project`
    when given (latents -> goal space (..., G)). The target, (G,) or (B, G) in the same space,
    is set before each plan with `aim`. Energy (..., N) = weight * mode(d_1..d_H), where d is
    the Euclidean distance.
    """

    def __init__(self, mode: str = "min", weight: float = 1.0,
                 project: Callable[[Tensor], Tensor] | None = None):
        if mode not in GOAL_MODES:
            raise ValueError(f"goal mode must be one of {', '.join(GOAL_MODES)}, got {mode!r}")
        self.mode, self.weight, self.project = mode, weight, project
        self.target: Tensor | None = None

    def aim(self, target: Tensor) -> None:
        """Set the target: (G,) for one problem or (B, G) for a batch."""
        self.target = target

    def __call__(self, im: Imagined) -> Tensor:
        if im.latents is None or self.target is None:
            raise ValueError("the goal term needs imagined points and a target (call aim first)")
        points = im.latents[..., 1:, :]
        if self.project is not None:
            points = self.project(points)
        target = self.target.to(points.device).unsqueeze(-2).unsqueeze(-2)
        dist = torch.linalg.vector_norm(points - target, dim=-1)
        if self.mode == "end":
            agg = dist[..., -1]
        elif self.mode == "min":
            agg = dist.min(dim=-1).values
        else:
            agg = dist.sum(dim=-1)
        return self.weight * agg


def learned_goal_agent(model, goal_map, spec: GoalSpec, planner, *, horizon: int,
                       action_dim: int, mode: str = "min", seed: int = 0) -> MPCAgent:
    """MPC towards `spec` in the latent space of `model`.

    Observation goals compare latents with `encode(goal)`; goal-space targets compare
    `goal_map(latents)` with the target (`goal_map` is needed then).
    """
    device = model.device
    if spec.whole_observation:
        costs = [GoalCost(mode)]
    else:
        if goal_map is None:
            raise ValueError("goal-space targets need a goal map")
        costs = [GoalCost(mode, project=goal_map)]

    def imagine(obs: np.ndarray) -> LatentImagination:
        z0 = model.encode(torch.as_tensor(obs, device=device))
        if spec.whole_observation:
            with torch.no_grad():
                goal_z = model.encode(torch.as_tensor(spec.targets(obs), device=device))
            costs[0].aim(goal_z.expand(*z0.shape[:-1], goal_z.shape[-1]))
        else:
            for cost in costs:
                cost.aim(torch.as_tensor(spec.targets(obs), device=device))
        return LatentImagination(model, z0)

    return MPCAgent(planner, Energy(costs), imagine, horizon=horizon, action_dim=action_dim,
                    device=device, seed=seed)


def oracle_goal_agent(envs: list[gym.Env], spec: GoalSpec, planner, *, horizon: int,
                      action_dim: int, mode: str = "min", seed: int = 0) -> MPCAgent:
    """MPC towards `spec` on the true simulator: the same distance on true goal-space points."""
    cost = GoalCost(mode)
    oracles = [SimulatorOracle(env) for env in envs]
    sims = [GoalPoints(oracle, spec.goal_slice) for oracle in oracles]

    def imagine(obs: np.ndarray):
        cost.aim(torch.as_tensor(spec.targets(obs)))
        for oracle in oracles:
            oracle.sync()
        return sims[0] if obs.ndim == 1 else _Batched(sims)

    return MPCAgent(planner, Energy([cost]), imagine, horizon=horizon, action_dim=action_dim,
                    device="cpu", seed=seed)


class GoalPoints:
    """The true simulator as imagination of goal-space points: an `envs.oracle.SimulatorOracle`
    (synced by the caller) rolls actions (N, H, A) out, and the `Imagined` it gives has as
    `latents` the true points `obs[goal_slice]` (N, H + 1, G) after each decision (index 0
    repeats index 1: the goal terms skip it), with zero rewards."""

    def __init__(self, oracle, goal_slice: slice):
        self.oracle, self.goal_slice = oracle, goal_slice

    def __call__(self, actions: Tensor) -> Imagined:
        obs = self.oracle.observations(actions)[..., self.goal_slice]
        points = torch.as_tensor(obs, dtype=torch.float32)
        n, horizon = actions.shape[:2]
        latents = torch.cat([points[:, :1], points], dim=1)
        zeros, ones = torch.zeros(n, horizon), torch.ones(n, horizon)
        return Imagined(actions, zeros, ones, torch.ones(n), latents.to(actions.device))


class _Batched:
    """Several `GoalPoints` as one imagination of (B, N, H, A) actions."""

    def __init__(self, sims: list[GoalPoints]):
        self.sims = sims

    def __call__(self, actions: Tensor) -> Imagined:
        parts = [sim(a) for sim, a in zip(self.sims, actions, strict=True)]
        stack = lambda name: torch.stack([getattr(p, name) for p in parts])  # noqa: E731
        return Imagined(actions, stack("rewards"), stack("alive"), stack("survive_end"),
                        stack("latents"))


class GoalSuccess(gym.Wrapper):
    """Reports `info["success"]` as: the goal-space point `obs[spec.goal_slice]` is within
    `tolerance` of the spec's fixed target (for goals given by the user, not the env's own)."""

    def __init__(self, env: gym.Env, spec: GoalSpec, tolerance: float):
        super().__init__(env)
        self.goal_spec, self.tolerance = spec, tolerance

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        goal = self.goal_spec
        dist = float(np.linalg.norm(obs[goal.goal_slice] - goal.targets(obs)))
        return obs, reward, terminated, truncated, {**info, "success": dist < self.tolerance}


def goal_map_for_run(run: Path, model, goal_slice: slice):
    """The run's latent -> goal-space map for `goal_slice`: read from `RUN/goal_map.pt`, or fitted
    on the run's training data (named in its config.json, or a `wmpc run`'s own `RUN/dataset/`)
    and saved there."""
    from agent.runs import load_config
    from world_model.data import load_trajectories
    from world_model.goal_map import GOAL_MAP_NAME, fit_goal_map, load_goal_map, save_goal_map

    path = Path(run) / GOAL_MAP_NAME
    if path.is_file():
        goal_map = load_goal_map(path, model.device)
        if goal_map.goal_slice == goal_slice:
            return goal_map
    data = load_config(Path(run)).get("data")
    if not data or data == "<buffer>":
        data = str(Path(run) / "dataset")  # a `wmpc run` folder's own trajectories
        if not Path(data).is_dir():
            raise UserError(f"{run} names no training data to fit its latent-to-goal map on "
                            "and holds no dataset/; give the goal as a whole observation instead")
    buffer = load_trajectories(data)
    if buffer.obs_dim != model.cfg.obs_dim:
        raise UserError(f"the data {data} of {run} has observations of size {buffer.obs_dim}, "
                        f"the model {model.cfg.obs_dim}")
    goal_map = fit_goal_map(model, buffer.observations(), goal_slice).to(model.device)
    save_goal_map(path, goal_map)
    return goal_map
