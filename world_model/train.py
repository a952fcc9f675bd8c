"""Training: `TrainConfig`, `Trainer` (one gradient step + EMA; optional CUDA-graph fast path)
and `train_offline` (what `wmpc train` runs: split, progress, TensorBoard, checkpoints, resume).

Nothing here touches global state (no global seeds, default dtypes or devices); under torchrun
the same code trains data-parallel (`world_model.distributed`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from world_model.checkpoint import (
    CHECKPOINT_NAME,
    atomic_write_json,
    model_from_payload,
    read_checkpoint,
    save_checkpoint,
)
from world_model.compiled import compiled
from world_model.config import ModelConfig
from world_model.data import ReplayBuffer
from world_model.distributed import Ranks, agree, start, stop
from world_model.errors import user_error
from world_model.losses import world_model_loss
from world_model.metrics import evaluate_model
from world_model.model import WorldModel
from world_model.pixels import random_shift

STATS = ("total", "prediction", "variance", "covariance", "reward", "termination", "value", "actor",
         "latent_std", "grad_norm")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, logging and evaluation settings of world-model training."""

    steps: int = 20_000
    """Total gradient updates (a resumed run continues up to this number)."""
    batch_size: int = 256
    """Windows per update."""
    horizon: int = 3
    """Steps T per training window (T + 1 observations)."""
    lr: float = 3e-4
    """Adam learning rate."""
    grad_clip: float = 20.0
    """Largest global gradient norm; larger gradients are scaled down."""
    shift_pad: int = 4
    """Random-shift augmentation of image observations (DrQ's, which pixel methods rely on): each
    image padded by this many pixels and cropped back at a random offset; 0 turns it off. No
    effect on state observations."""
    val_fraction: float = 0.1
    """Share of episodes held out for validation (split by episode, fixed by the seed)."""
    log_every: int = 100
    """Updates between TensorBoard loss scalars."""
    eval_every: int = 1000
    """Updates between validation metrics (the collapse detectors)."""
    checkpoint_every: int = 1000
    """Updates between checkpoints (one is always written at the end)."""
    checkpoint_seconds: float = 300.0
    """Seconds between checkpoints as well, so a kill loses at most this much work."""
    eval_windows: int = 1024
    """Held-out windows scored per evaluation."""
    eval_horizon: int = 5
    """Prediction depth k of the evaluation metrics (k = 1..eval_horizon)."""
    cuda_graph: bool = True
    """On CUDA, capture the whole update (forward, backward, Adam, EMA) in a CUDA graph after
    `graph_warmup` eager updates, and replay it."""
    graph_warmup: int = 3
    """Eager updates (on a side stream) before the CUDA graph is captured."""
    bf16: bool = False
    """On CUDA, run the forward pass under bfloat16 autocast."""
    tf32: bool = True
    """On CUDA, let float32 matmuls use TF32 tensor cores (switched on for the duration of each
    update and the graph capture, then restored: no lasting global change)."""
    fused_adam: bool = True
    """On CUDA, use the fused Adam kernel."""
    compile: bool = True
    """On a CPU, compile the loss (forward and backward) with torch.compile when a C++ compiler is
    there (`world_model.compiled`); no effect on CUDA."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "horizon", "log_every", "eval_every",
                     "checkpoint_every", "eval_windows", "eval_horizon"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ValueError("TrainConfig.batch_size must be >= 2 (latent statistics need it)")
        if self.checkpoint_seconds < 0:
            raise ValueError("TrainConfig.checkpoint_seconds must be >= 0")
        if self.shift_pad < 0:
            raise ValueError(f"TrainConfig.shift_pad must be >= 0, got {self.shift_pad}")
        if self.lr <= 0 or self.grad_clip <= 0 or self.graph_warmup < 1:
            raise ValueError("TrainConfig.lr and grad_clip must be > 0, graph_warmup >= 1")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-able dict."""
        return dataclasses.asdict(self)


class Trainer:
    """Updates a `WorldModel` from batches of windows (see `ReplayBuffer.sample`).

    `generator` (numpy) is the trainer's own source of randomness for drawing batches; it is part
    of the state, so `state_dict()`/`load_state_dict()` resume exactly. With `ranks` of a torchrun
    world, the loss runs under DDP (uncompiled), which averages the gradients over the ranks.
    """

    def __init__(self, model: WorldModel, cfg: TrainConfig, device: torch.device | str = "cpu",
                 seed: int = 0, ranks: Ranks = Ranks()):
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.cfg = cfg
        self.step = 0
        self.generator = np.random.default_rng(seed)
        cuda = self.device.type == "cuda"
        self._graphed = cuda and cfg.cuda_graph and ranks.world == 1  # DDP: eager
        options: dict[str, Any] = {}
        if cuda and (cfg.fused_adam or self._graphed):
            options["fused"] = True
        if self._graphed:
            options["capturable"] = True
        self._params = model.trainable_parameters()
        self.optimizer = torch.optim.Adam(self._params, lr=cfg.lr, **options)
        self._ema_online, self._ema_target = model.ema_pairs()
        if ranks.world > 1:
            ddp = torch.nn.parallel.DistributedDataParallel(_Loss(model),
                                                            find_unused_parameters=True)
            self._loss = lambda _, batch: ddp(batch)
        elif cfg.compile:
            self._loss = compiled(world_model_loss, self.device)
        else:
            self._loss = world_model_loss
        self._reset_graph()

    def update(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """One gradient step + EMA update on a batch; returns every loss term and the grad norm."""
        return dict(zip(STATS, self.update_async(batch).tolist(), strict=True))

    def update_async(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """As `update`, without waiting for the device: a tensor (len(STATS),) in STATS order.

        On CUDA with `cfg.cuda_graph` the first `graph_warmup` updates run eagerly, then the update
        is captured once and replayed; a batch of another shape starts that over.
        """
        batch = {k: batch[k].to(self.device, non_blocking=True)
                 for k in ("obs", "act", "rew", "term")}
        if self.model.cfg.image_shape is not None:
            batch["obs"] = random_shift(batch["obs"], self.model.cfg.image_shape,
                                        self.cfg.shift_pad, self.generator)
        if self._graph is not None and any(self._static[k].shape != v.shape
                                           for k, v in batch.items()):
            self._reset_graph()
        if not self._graphed:
            out = self._compute(batch)
        elif self._warm < self.cfg.graph_warmup:
            self._side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(self._side):
                out = self._compute(batch)
            torch.cuda.current_stream(self.device).wait_stream(self._side)
            self._warm += 1
        else:
            if self._graph is None:
                self._capture(batch)
            for k, v in batch.items():
                self._static[k].copy_(v, non_blocking=True)
            self._graph.replay()
            out = self._static_out.clone()
        self.step += 1
        return out

    @torch.no_grad()
    def evaluate(self, buffer: ReplayBuffer, probe_buffer: ReplayBuffer | None = None,
                 horizon: int | None = None) -> dict[str, float]:
        """The collapse detectors on held-out `buffer` (see `world_model.metrics.evaluate_model`)
        at depths 1..horizon (default `cfg.eval_horizon`)."""
        return evaluate_model(self.model, buffer, horizon=horizon or self.cfg.eval_horizon,
                              windows=self.cfg.eval_windows, probe_buffer=probe_buffer)

    def state_dict(self, with_model: bool = True) -> dict[str, Any]:
        """Optimiser, step and generator state (and the model's, with its EMA targets)."""
        state = {"optimizer": self.optimizer.state_dict(), "step": self.step,
                 "generator": json.dumps(self.generator.bit_generator.state)}
        if with_model:
            state["model"] = self.model.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved (the model too, when it is in `state`)."""
        if "model" in state:
            self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.generator.bit_generator.state = json.loads(state["generator"])
        self._reset_graph()

    # --- internals ----------------------------------------------------------------------------

    def _compute(self, batch: dict[str, torch.Tensor], zero_grad: bool = True) -> torch.Tensor:
        if zero_grad:
            self.optimizer.zero_grad(set_to_none=True)
        cuda = self.device.type == "cuda"
        with _matmul_precision("high" if cuda and self.cfg.tf32 else None):
            with torch.autocast(self.device.type, dtype=torch.bfloat16,
                                enabled=self.cfg.bf16 and cuda, cache_enabled=False):
                loss, terms = self._loss(self.model, batch)
            loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self._params, self.cfg.grad_clip, foreach=True)
        self.optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(self._ema_target, self._ema_online, self.model.cfg.ema_tau)
        return torch.stack([terms[k] for k in STATS[:-1]] + [grad_norm.float()])

    def _capture(self, batch: dict[str, torch.Tensor]) -> None:
        self._static = {k: v.clone() for k, v in batch.items()}
        self.optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._static_out = self._compute(self._static, zero_grad=False)
        self._graph = graph

    def _reset_graph(self) -> None:
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static: dict[str, torch.Tensor] = {}
        self._static_out = torch.zeros(len(STATS))
        self._warm = 0
        self._side = torch.cuda.Stream(self.device) if self._graphed else None


class _Loss(torch.nn.Module):
    """`world_model_loss` of `model` as a module, for DDP to wrap."""

    def __init__(self, model: WorldModel):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]):
        return world_model_loss(self.model, batch)


@contextlib.contextmanager
def _matmul_precision(precision: str | None) -> Iterator[None]:
    """Set torch's float32 matmul precision for the block, then restore it (None: leave it)."""
    if precision is None:
        yield
        return
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def train_offline(data: str | ReplayBuffer, out: str | Path, cfg: TrainConfig = TrainConfig(),
                  model_cfg: ModelConfig | Mapping[str, Any] | None = None,
                  device: torch.device | str = "cpu", seed: int = 0, resume: bool = False,
                  progress: bool = True, source: str | None = None,
                  agent: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Train a world model on logged trajectories; what `wmpc train` runs.

    data: a dataset (see `world_model.data.load_trajectories`) or a ReplayBuffer. out: the run
    folder (checkpoint.pt, config.json, TensorBoard events). model_cfg: a full ModelConfig, or
    field overrides on top of the sizes read from the data. With `resume` the run continues from
    its checkpoint with the saved configs and seed (only `cfg.steps` is taken from the caller),
    giving the same losses as an uninterrupted run. source: where a ReplayBuffer `data` was
    read from (saved as the run's data, for the goal map). agent: the planning settings saved
    in config.json for `wmpc eval`. Returns the last validation metrics. Under torchrun each rank
    trains on its shard of `world` x `cfg.batch_size` windows and only rank 0 writes or
    evaluates (the other ranks return {}).
    """
    out = Path(out)
    ckpt = out / CHECKPOINT_NAME
    source = source or ("<buffer>" if isinstance(data, ReplayBuffer) else str(data))
    ranks, device = start(str(device))
    where = Path(source).resolve() if Path(source).exists() else source
    agree(ranks, data=str(where), out=str(out.resolve()))
    try:
        return _train(data, out, ckpt, source, cfg, model_cfg, device, seed, resume, progress,
                      agent, ranks)
    finally:
        stop(ranks)


def _fingerprint(buffer: ReplayBuffer) -> str:
    """What the data holds, in a line: sizes and a CRC-32 of its observations (ranks that read
    different data under one path, or the same data under two, are told apart)."""
    obs = np.ascontiguousarray(buffer.observations())
    return (f"{buffer.num_episodes} episodes, {buffer.num_steps} steps, observations crc32 "
            f"{zlib.crc32(obs.view(np.uint8)):08x}")


def _train(data, out: Path, ckpt: Path, source: str, cfg: TrainConfig, model_cfg, device: str,
           seed: int, resume: bool, progress: bool, agent, ranks: Ranks) -> dict[str, float]:
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    from world_model.data import load_trajectories

    buffer = data if isinstance(data, ReplayBuffer) else load_trajectories(data)
    agree(ranks, data_content=_fingerprint(buffer))
    env_id = buffer.metadata.get("env_id")
    payload = None
    if resume:
        payload = read_checkpoint(ckpt)
        model = _resumed_model(payload, buffer, out, device)
        saved = payload["extra"]
        if int(saved.get("ranks", 1)) != ranks.world:
            raise user_error(f"{out} was trained by {saved.get('ranks', 1)} process(es); resume "
                             f"it with as many (this is {ranks.world}), or the batches differ")
        cfg = TrainConfig(**{**saved["train"], "steps": cfg.steps})
        agent = saved.get("agent")
        seed = int(saved["seed"])
    else:
        if ckpt.exists():
            raise user_error(f"{out} already holds a run; pass --resume to continue it or choose "
                             "another --out")
        model = WorldModel(_model_config(model_cfg, buffer), device=device, seed=seed,
                           env_id=env_id)
    train_buf, val_buf = buffer.split_episodes(cfg.val_fraction, seed)
    if int(train_buf.episode_lengths().max()) < cfg.horizon:
        raise user_error(f"no training episode has {cfg.horizon} steps; use a shorter --horizon")
    trainer = Trainer(model, cfg, device, seed, ranks)
    eval_horizon = min(cfg.eval_horizon, int(val_buf.episode_lengths().max()))
    if payload is not None:
        trainer.load_state_dict(payload["trainer"])
    else:
        model.update_normaliser(train_buf.observations())
    extra = {"train": cfg.to_dict(), "seed": seed, "data": source, "dataset": buffer.metadata,
             **({"agent": dict(agent)} if agent is not None else {}),
             **({"ranks": ranks.world} if ranks.world > 1 else {})}
    metrics: dict[str, float] = {}
    if not ranks.writer:
        while trainer.step < cfg.steps:
            batch = train_buf.sample(cfg.batch_size * ranks.world, cfg.horizon, trainer.generator)
            trainer.update_async(ranks.shard(batch))
        return metrics
    atomic_write_json(out / "config.json", {"model": model.cfg.to_dict(), "device": str(device),
                                            "train_episodes": train_buf.num_episodes,
                                            "val_episodes": val_buf.num_episodes, **extra})
    writer = SummaryWriter(str(out), purge_step=trainer.step if resume else None)
    bar = tqdm(total=cfg.steps, initial=trainer.step, disable=not progress, desc="train",
               dynamic_ncols=True)
    saved_at = time.monotonic()
    try:
        while trainer.step < cfg.steps:
            batch = train_buf.sample(cfg.batch_size * ranks.world, cfg.horizon, trainer.generator)
            stats = trainer.update_async(ranks.shard(batch))
            step, last = trainer.step, trainer.step == cfg.steps
            bar.update(1)
            if step % cfg.log_every == 0 or last:
                values = dict(zip(STATS, stats.tolist(), strict=True))
                for name, value in values.items():
                    group = "train" if name in ("grad_norm", "latent_std") else "loss"
                    writer.add_scalar(f"{group}/{name}", value, step)
                bar.set_postfix(loss=f"{values['total']:.3f}")
            if step % cfg.eval_every == 0 or last:
                metrics = trainer.evaluate(val_buf, train_buf, eval_horizon)
                for name, value in metrics.items():
                    writer.add_scalar(f"eval/{name}", value, step)
            if (step % cfg.checkpoint_every == 0 or last
                    or time.monotonic() - saved_at >= cfg.checkpoint_seconds):
                save_checkpoint(ckpt, model, trainer.state_dict(with_model=False), extra)
                saved_at = time.monotonic()
    finally:
        bar.close()
        writer.close()
    if not metrics:
        metrics = trainer.evaluate(val_buf, train_buf, eval_horizon)
    return metrics


def _model_config(model_cfg: ModelConfig | Mapping[str, Any] | None,
                  buffer: ReplayBuffer) -> ModelConfig:
    episodic = buffer.has_terminations()
    if isinstance(model_cfg, ModelConfig):
        if (model_cfg.obs_dim, model_cfg.act_dim) != (buffer.obs_dim, buffer.act_dim):
            raise user_error(f"model config sizes obs {model_cfg.obs_dim}, act "
                             f"{model_cfg.act_dim} do not match the data's obs {buffer.obs_dim}, "
                             f"act {buffer.act_dim}")
        return model_cfg
    fields = {"obs_dim": buffer.obs_dim, "act_dim": buffer.act_dim, "episodic": episodic,
              "image_shape": buffer.image_shape, **dict(model_cfg or {})}
    try:
        return ModelConfig(**fields)
    except (TypeError, ValueError) as err:
        raise user_error(f"bad model setting: {err}") from err


def _resumed_model(payload: dict[str, Any], buffer: ReplayBuffer, out: Path,
                   device: torch.device | str) -> WorldModel:
    saved = payload["model_config"]
    if (saved.get("obs_dim"), saved.get("act_dim")) != (buffer.obs_dim, buffer.act_dim):
        raise user_error(f"the checkpoint in {out} has obs {saved.get('obs_dim')}, act "
                         f"{saved.get('act_dim')} but the data has obs {buffer.obs_dim}, act "
                         f"{buffer.act_dim}")
    trained_on, env_id = payload.get("env_id"), buffer.metadata.get("env_id")
    if trained_on and env_id and trained_on != env_id:
        raise user_error(f"the checkpoint in {out} was trained on {trained_on}; the data is "
                         f"from {env_id}")
    if not payload.get("trainer"):
        raise user_error(f"the checkpoint in {out} holds no trainer state to resume from")
    return model_from_payload(payload, device)
