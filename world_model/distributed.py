"""Data-parallel training under torchrun (PyTorch DDP: gloo on the CPU, nccl on CUDA).

`torchrun --nproc-per-node N "$(which wmpc)" train ...` starts N processes; each draws the same
N x batch windows from the shared batch generator and trains on its own shard of them, DDP averages
the gradients, and the VICReg terms, which depend on the whole batch, see every rank's latents
(`gather_rows`). N ranks with `--batch-size B` therefore take the same steps as one process with
batch N x B. Only rank 0 writes the run folder. A plain `wmpc train` (no torchrun) is unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from world_model.errors import user_error


@dataclass(frozen=True)
class Ranks:
    """This process's place in the torchrun world: `rank` of `world` processes."""

    rank: int = 0
    world: int = 1

    @property
    def writer(self) -> bool:
        """True for the one process that writes checkpoints, logs and output."""
        return self.rank == 0

    def shard(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This rank's rows of a batch of `world` x B windows (rows rank*B .. rank*B + B - 1)."""
        if self.world == 1:
            return batch
        size = next(iter(batch.values())).shape[0] // self.world
        return {k: v[self.rank * size:(self.rank + 1) * size] for k, v in batch.items()}


def start(device: str) -> tuple[Ranks, str]:
    """Join the process group torchrun describes in the environment (WORLD_SIZE > 1), and the
    device this rank trains on (its own GPU, `cuda:LOCAL_RANK`, when `device` is CUDA); outside
    torchrun, `Ranks()` and `device` unchanged."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks(), device
    cuda = torch.device(device).type == "cuda"
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size()), device


def agree(ranks: Ranks, **values: str) -> None:
    """A one-line error on every rank when the ranks were started with different `values`
    (e.g. data paths): each rank would train on something else."""
    if ranks.world == 1:
        return
    seen: list[dict[str, str] | None] = [None] * ranks.world
    dist.all_gather_object(seen, values)
    for name in values:
        found = sorted({str(v[name]) for v in seen if v is not None})
        if len(found) > 1:
            raise user_error(f"the torchrun ranks disagree on {name}: {', '.join(found)}")


def stop(ranks: Ranks) -> None:
    """Wait for every rank, then leave the process group (nothing outside torchrun)."""
    if ranks.world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class _GatherRows(torch.autograd.Function):
    """All ranks' rows (world x N, D) of each rank's (N, D), differentiable: the gradient of
    this rank's rows is the sum over ranks of the gradients they computed for them."""

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(z) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, z.contiguous())
        ctx.rows = (dist.get_rank() * z.shape[0], (dist.get_rank() + 1) * z.shape[0])
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rows[0]:ctx.rows[1]]


def gather_rows(z: torch.Tensor) -> torch.Tensor:
    """`z` (N, D) of every rank, stacked (world x N, D), when training data-parallel; else `z`.

    DDP averages the ranks' gradients, and each rank's copy of a whole-batch term sends its rows
    the gradient of the whole batch; summed over ranks and averaged by DDP, that is exactly the
    gradient of the term on the union of the ranks' batches."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return z
    return _GatherRows.apply(z)
