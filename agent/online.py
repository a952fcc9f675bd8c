"""The online loop: random seed steps, then plan with the learned model while learning it.

A resume point is saved at every episode end and holds everything (model, optimiser, replay, RNGs,
counters), so `--resume` continues exactly: work done after the last episode end is redone, with
the same result, and TensorBoard events and evaluations from that point are replaced. The model
itself is also saved at the end of the run, for `wmpc eval` and `load_world_model`, and as it was
at every evaluation in `checkpoints/step_<step>/` (a folder `wmpc eval --run` takes). Steps in
run folders count decisions; TensorBoard's x axis is environment steps (decisions x the env's
action repeat, the anchors' axis), with `eval/decisions` logged beside.

With `num_envs` N > 1 the run steps N envs at once (Gymnasium's AsyncVectorEnv, one process each)
with one batched plan for all of them, and every env's decisions count. An episode end of env 0
is an episode boundary of all: the others' episodes are cut there (stored as truncated, as a time
limit would), so a resume point never holds half an episode and resume stays exact. Episodes of
envs 1..N-1 that end earlier start again at once.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from agent import runs
from agent.build import learned_agent
from agent.config import AgentConfig, RunConfig, explore_std_at
from agent.cpu_load import ThreadShare
from agent.evaluate import run_episodes
from envs import convention_for, make_env, make_vector_env
from envs.errors import UserError, env_call
from world_model import WorldModel
from world_model.data import ReplayBuffer
from world_model.train import TrainConfig, Trainer


@dataclass
class LoopState:
    """Counters of the loop, saved with every checkpoint."""

    step: int = 0
    episode: int = 0
    evals: int = 0
    update_credit: float = 0.0
    pretrained: bool = False
    wall_seconds: float = 0.0


class OnlineRun:
    """One `wmpc run`: owns the env, the model and its trainer, the replay and the agent."""

    def __init__(self, out: Path, cfg: RunConfig, agent_cfg: AgentConfig, train_cfg: TrainConfig,
                 model_overrides: dict | None = None, device: str = "cpu"):
        self.out, self.cfg, self.agent_cfg, self.train_cfg = out, cfg, agent_cfg, train_cfg
        self.device = torch.device(device)
        self.envs = self._vector_env()
        self.action_repeat = int(cfg.env_kwargs.get("action_repeat")
                                 or convention_for(cfg.env_id).action_repeat)
        obs_dim = self.envs.single_observation_space.shape[0]
        act_dim = self.envs.single_action_space.shape[0]
        image_shape = (self.envs.get_attr("image_shape")[0]
                       if cfg.env_kwargs.get("obs", "state") != "state" else None)
        self.model_cfg = runs.model_config(cfg, obs_dim, act_dim, model_overrides, image_shape)
        self.model = WorldModel(self.model_cfg, device=self.device, seed=cfg.seed,
                                env_id=cfg.env_id)
        self.trainer = Trainer(self.model, train_cfg, device=self.device, seed=cfg.seed)
        self.buffer = ReplayBuffer(obs_dim, act_dim, image_shape=image_shape)
        self.agent = learned_agent(self.model, agent_cfg, act_dim, self.device, seed=cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.state = LoopState()

    def _vector_env(self) -> gym.vector.VectorEnv:
        """The run's `num_envs` envs (env i seeded `seed + i`), reset by the loop itself."""
        cfg = self.cfg
        return make_vector_env(cfg.env_id, cfg.num_envs, cfg.seed, cfg.env_kwargs)

    @property
    def env_steps(self) -> int:
        """Environment steps so far: decisions x the env's action repeat (TensorBoard's x)."""
        return self.state.step * self.action_repeat

    def _env(self, call, *args, at: str = "", **kwargs):
        """`call(*args, **kwargs)` on the env; an exception there becomes one UserError line
        naming the env, the decision (and `at`, where in an evaluation) and how to resume, with
        the full traceback saved in RUN/error.log."""
        where = f"at decision {self.state.step}" + (f" (evaluation, {at})" if at else "")
        return env_call(self.cfg.env_id, call, *args, at=where, log=self.out / "error.log",
                        then=self._resume_hint, **kwargs)

    def _resume_hint(self) -> str:
        if (self.out / "resume.pt").exists():
            saved = runs.load_resume_point(self.out)["loop"]["step"]
            return f"`wmpc run --out {self.out} --resume` continues from decision {saved}"
        return "no resume point yet: start again"

    def _episode_seed(self, episode: int) -> int:
        return self.cfg.seed * 1_000_003 + episode

    def _reset(self, which: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Start new episodes in the envs `which` marks (N,) (each the next episode seed, in env
        order); `obs` (N, O) with their rows replaced by the first observations."""
        seeds = []
        for start in which:
            seeds.append(self._episode_seed(self.state.episode) if start else None)
            self.state.episode += int(start)
        options = None if which.all() else {"reset_mask": which}
        first, _ = self._env(self.envs.reset, seed=seeds, options=options)
        if which.all():
            self.agent.reset()
            return first
        out = obs.copy()
        out[which] = first[which]
        for i in np.flatnonzero(which):
            self.agent.reset(int(i))
        return out

    def state_dict(self) -> dict:
        state = {
            "loop": asdict(self.state),
            "trainer": self.trainer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "agent": self.agent.state_dict(),
            "rng": self.rng.bit_generator.state,
        }
        return state

    def load_state_dict(self, state: dict) -> None:
        self.state = LoopState(**state["loop"])
        self.trainer.load_state_dict(state["trainer"])
        self.buffer = ReplayBuffer.from_state_dict(state["buffer"])
        self.agent.load_state_dict(state["agent"])
        self.rng.bit_generator.state = state["rng"]

    def _update(self, writer: SummaryWriter, count: int) -> None:
        losses: dict[str, float] = {}
        for _ in range(count):
            batch = self.buffer.sample(self.train_cfg.batch_size, self.train_cfg.horizon,
                                       self.trainer.generator)
            losses = self.trainer.update(batch)
        for key, value in losses.items():
            writer.add_scalar(f"train/{key}", value, self.env_steps)

    def _train_after_step(self, writer: SummaryWriter) -> None:
        if self.state.step < self.cfg.seed_steps or self.buffer.num_episodes == 0:
            return
        if not self.state.pretrained:
            self.state.pretrained = True
            self.model.update_normaliser(self.buffer.observations())
            self._update(writer, self.cfg.pretrain_updates)
        self.state.update_credit += self.cfg.updates_per_step * self.cfg.num_envs
        count = int(self.state.update_credit)
        self.state.update_credit -= count
        self._update(writer, count)

    def _save_policy(self) -> None:
        """The model where `wmpc eval` loads it."""
        runs.save_model(self.out, self.model, self.cfg)

    def evaluate(self, writer: SummaryWriter) -> float:
        k = self.cfg.eval_episodes
        envs = [make_env(self.cfg.env_id, seed=self.cfg.seed + 10_000 + i, **self.cfg.env_kwargs)
                for i in range(k)]
        agent = learned_agent(self.model, self.agent_cfg.for_evaluation(),
                              self.envs.single_action_space.shape[0], self.device,
                              seed=self.cfg.seed + 7919 * (self.state.evals + 1))
        seeds = [self._episode_seed(10**6 + self.state.evals * k + i) for i in range(k)]
        try:
            result = run_episodes(envs, agent, seeds=seeds, guard=self._env,
                                  success_at_end=convention_for(self.cfg.env_id).success_at_end)
        finally:
            for env in envs:
                env.close()
        self.state.evals += 1
        mean = float(np.mean(result.returns))
        writer.add_scalar("eval/return", mean, self.env_steps)
        writer.add_scalar("eval/decisions", self.state.step, self.env_steps)
        runs.append_eval(self.out, self.state.step, result.returns, self.state.wall_seconds,
                         result.successes)
        runs.save_snapshot(self.out, self.state.step, self.model, self.cfg)
        return mean

    def configs(self) -> dict:
        """The resolved configs, as `config.json` holds them."""
        return {"run": asdict(self.cfg), "agent": asdict(self.agent_cfg),
                "train": asdict(self.train_cfg), "model": self.model_cfg.to_dict(),
                "device": str(self.device)}

    def run(self, resume: bool, progress: bool = True, meta: dict | None = None,
            threads: ThreadShare | None = None) -> dict:
        """Run to `cfg.steps` decisions; returns the last evaluation and counters. `config.json`
        (the configs, the torch thread counts of each start or resume, and `meta`) is written
        once a resume point has loaded, so a failed resume leaves the folder as it was. With
        `threads`, torch's thread count follows the cores other processes leave free as the run
        goes (logged as `time/torch_threads`)."""
        if resume:
            try:
                self.load_state_dict(runs.load_resume_point(self.out))
            except RuntimeError as err:  # e.g. generator states or shapes of another config
                detail = " ".join(line.strip() for line in str(err).strip().splitlines()[:2])
                raise UserError(f"cannot resume {self.out} on {self.device}: {detail}") from None
            except (KeyError, TypeError, ValueError) as err:
                raise UserError(f"cannot resume {self.out}: its resume.pt is not a resume "
                                f"point of a wmpc run ({type(err).__name__} {err})") from None
            if self.cfg.steps < self.state.step:
                raise UserError(f"{self.out} is at decision {self.state.step} already; "
                                f"--steps {self.cfg.steps} is below it")
        runs.read_evals(self.out)  # a corrupt evals.csv stops the run before anything is written
        counts = runs.load_config(self.out).get("torch_threads", []) if resume else []
        if not counts or counts[-1] != torch.get_num_threads():  # one entry per change
            counts = [*counts, torch.get_num_threads()]
        runs.save_config(self.out, {**self.configs(), "torch_threads": counts, **(meta or {})})
        runs.drop_evals_after(self.out, self.state.step)  # a fresh run starts with none
        # Everything up to the resume point's step was logged before it was saved.
        purge = self.env_steps + 1 if resume else None
        writer = SummaryWriter(str(self.out / "tb"), purge_step=purge)
        last_eval = runs.last_eval(self.out, self.state.step)
        n = self.cfg.num_envs
        obs = self._reset(np.ones(n, dtype=bool), np.zeros((n, 0)))
        episodes = [runs.EpisodeRecorder(o) for o in obs]
        bar = tqdm(total=self.cfg.steps, initial=self.state.step, disable=not progress,
                   desc="wmpc run", unit="step")
        started, plan_seconds = time.perf_counter() - self.state.wall_seconds, 0.0
        try:
            while self.state.step < self.cfg.steps:
                if self.state.step < self.cfg.seed_steps:
                    shape = (n, *self.envs.single_action_space.shape)
                    action = self.rng.uniform(-1.0, 1.0, shape).astype(np.float32)
                else:
                    tick = time.perf_counter()
                    self.agent.explore_std = explore_std_at(self.agent_cfg, self.state.step)
                    action = self.agent.act(obs if n > 1 else obs[0], explore=True).reshape(n, -1)
                    plan_seconds = time.perf_counter() - tick
                next_obs, reward, terminated, truncated, _ = self._env(self.envs.step, action)
                ended = terminated | truncated
                boundary = bool(ended[0])
                for i, episode in enumerate(episodes):
                    cut = boundary and not ended[i]
                    episode.add(action[i], reward[i], terminated[i], truncated[i] or cut,
                                next_obs[i])
                    if ended[i] or cut:
                        self.buffer.add_episode(*episode.arrays())
                        writer.add_scalar("train/episode_return", episode.total, self.env_steps + i)
                self.state.step += n
                bar.update(n)
                self._train_after_step(writer)
                self.state.wall_seconds = time.perf_counter() - started
                if threads is not None:
                    threads.check()
                if self.state.step % 100 < n:
                    writer.add_scalar("time/torch_threads", torch.get_num_threads(),
                                      self.env_steps)
                    writer.add_scalar("time/plan_ms", 1e3 * plan_seconds, self.env_steps)
                    rate = self.state.step / max(self.state.wall_seconds, 1e-9)
                    writer.add_scalar("time/decisions_per_second", rate, self.env_steps)
                if self.state.step % self.cfg.eval_every == 0 or self.state.step == self.cfg.steps:
                    last_eval = self.evaluate(writer)
                    bar.set_postfix(eval_return=f"{last_eval:.1f}")
                restart = np.ones(n, dtype=bool) if boundary else ended
                if boundary:
                    writer.flush()
                    runs.save_resume_point(self.out, self.state_dict())
                    self._save_policy()
                if restart.any():
                    next_obs = self._reset(restart, next_obs)
                    for i in np.flatnonzero(restart):
                        episodes[i] = runs.EpisodeRecorder(next_obs[i])
                obs = next_obs
        finally:
            bar.close()
            writer.close()
            self.envs.close()
        self._save_policy()
        runs.save_dataset(self.out, self.buffer, episodes, self.cfg)
        return {"step": self.state.step, "eval_return": last_eval,
                "wall_seconds": self.state.wall_seconds}
