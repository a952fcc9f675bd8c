"""A learned temporal distance in latent space, from reward-free trajectories (hindsight goals).

How many decisions does it take from state s to goal-space point g? Random data answers it with
hindsight: a state k decisions later on the same trajectory is reachable in k decisions. Chaining
such answers across trajectories gives shorter routes than any one random trajectory takes, and
routes around walls (a maze's geodesic, in decisions), never through them:

1. `graph_distances`: nodes are every `stride`-th state of every episode; an edge follows each
   trajectory forward (cost `stride`), and an edge joins any two nodes whose goal-space points lie
   within `radius` of each other (cost 1: about what one decision moves). All-pairs shortest paths
   on this graph are the fixed point of the Bellman min-backup d(s, g) = min(1 + d(s', g)) on
   the data, with hindsight goals (every node's own goal-space point).
2. `fit_temporal_distance`: an MLP d(z, g) regresses log(1 + distance) of node pairs from the
   frozen embedding z = encode(obs) of the start and the goal-space point g of the goal, so the
   planner can score imagined latents against any target.
No reward is read anywhere.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial import cKDTree
from torch import nn

from world_model.errors import user_error
from world_model.mish import Mish


def graph_distances(episodes: list[np.ndarray], stride: int, radius: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Shortest data-graph distances between nodes, in decisions.

    `episodes`: per episode its goal-space points (T_e + 1, G). Returns `nodes` (M, 2) int, the
    (episode, step) of each node, and `dist` (M, M) float32 with dist[i, j] from node i to node
    j (inf where the data never connects them).
    """
    nodes = [(e, t) for e, pts in enumerate(episodes) for t in range(0, len(pts), stride)]
    nodes = np.asarray(nodes, dtype=np.int64).reshape(-1, 2)
    if len(nodes) < 2:
        raise user_error("a temporal distance needs at least two graph nodes")
    points = np.stack([episodes[e][t] for e, t in nodes]).astype(np.float64)
    same = nodes[1:, 0] == nodes[:-1, 0]
    src, dst = np.flatnonzero(same), np.flatnonzero(same) + 1
    cost = (nodes[dst, 1] - nodes[src, 1]).astype(np.float64)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    rows = np.concatenate([src, pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([dst, pairs[:, 1], pairs[:, 0]])
    weights = np.concatenate([cost, np.ones(2 * len(pairs))])
    graph = coo_matrix((weights, (rows, cols)), shape=(len(nodes), len(nodes))).tocsr()
    dist = shortest_path(graph, method="D", directed=True)
    return nodes, dist.astype(np.float32)


class TemporalDistance(nn.Module):
    """MLP d: latents (..., D) and goal-space points (..., G) -> decisions (...,), >= 0."""

    def __init__(self, latent_dim: int, goal_dim: int, hidden: int = 256, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Linear(latent_dim + goal_dim, hidden), Mish(),
                                     nn.Linear(hidden, hidden), Mish(),
                                     nn.Linear(hidden, hidden), Mish(), nn.Linear(hidden, 1))
        self.register_buffer("goal_mean", torch.zeros(goal_dim))
        self.register_buffer("goal_std", torch.ones(goal_dim))
        self.register_buffer("r2", torch.tensor(float("nan")))
        self.radius = float("nan")
        """The merge radius of the graph it was fitted on (goal-space units)."""

    def log_distance(self, z: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """log(1 + d) (...,) for z (..., D) and goal (..., G) (broadcast against each other)."""
        goal = (goal.to(z.dtype) - self.goal_mean) / self.goal_std
        shape = torch.broadcast_shapes(z.shape[:-1], goal.shape[:-1])
        x = torch.cat([z.expand(*shape, z.shape[-1]), goal.expand(*shape, goal.shape[-1])], -1)
        return self.net(x).squeeze(-1)

    def forward(self, z: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """Decisions (...,) from each latent (..., D) to its goal-space point (..., G)."""
        return torch.expm1(self.log_distance(z, goal).clamp_min(0.0))


def fit_temporal_distance(model: nn.Module, episodes: list[np.ndarray], goal_slice: slice, *,
                          stride: int = 5, radius: float | None = None, steps: int = 3000,
                          batch: int = 512, lr: float = 1e-3, seed: int = 0,
                          max_nodes: int = 8000) -> TemporalDistance:
    """Fit d(z, g) on the data's graph distances (`graph_distances`).

    `episodes`: per episode its observations (T_e + 1, O); goal-space points are
    `obs[:, goal_slice]`. `radius` None: the median goal-space move of one decision in the data.
    The distance table holds M^2 floats for M graph nodes: `stride` grows so that M is at most
    `max_nodes` plus one per episode.
    Pairs whose start node belongs to every tenth episode are held out; the
    head's `r2` is the share of log(1 + distance) variance it explains there. Deterministic for a
    given seed and device.
    """
    points = [np.asarray(obs[:, goal_slice], np.float64) for obs in episodes]
    if radius is None:
        radius = float(np.median(np.concatenate(
            [np.linalg.norm(np.diff(p, axis=0), axis=1) for p in points])))
    stride = max(stride, -(-sum(len(p) for p in points) // max_nodes))
    nodes, dist = graph_distances(points, stride, radius)
    device = next(model.parameters()).device
    obs = np.stack([episodes[e][t] for e, t in nodes]).astype(np.float32)
    with torch.no_grad():
        z = torch.cat([model.encode(torch.from_numpy(obs[i:i + 8192]).to(device))
                       for i in range(0, len(obs), 8192)])
    goals = torch.from_numpy(obs[:, goal_slice]).to(device)
    target = torch.from_numpy(np.log1p(dist)).to(device)
    held = torch.from_numpy(nodes[:, 0] % 10 == 9).to(device)
    head = TemporalDistance(z.shape[1], goals.shape[1], seed=seed).to(device)
    head.radius = radius
    head.goal_mean.copy_(goals.mean(0))
    head.goal_std.copy_(goals.std(0).clamp_min(1e-6))
    fit_rows = torch.nonzero(~held).squeeze(1)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(head.net.parameters(), lr=lr)
    for _ in range(steps):
        i = fit_rows[torch.randint(0, len(fit_rows), (batch,), generator=gen).to(device)]
        j = torch.randint(0, len(nodes), (batch,), generator=gen).to(device)
        t = target[i, j]
        ok = torch.isfinite(t)
        if not ok.any():
            continue
        loss = (head.log_distance(z[i[ok]], goals[j[ok]]) - t[ok]).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        i = torch.nonzero(held).squeeze(1)
        if len(i):
            j = torch.randint(0, len(nodes), (len(i),), generator=gen).to(device)
            t = target[i, j]
            ok = torch.isfinite(t)
            pred = head.log_distance(z[i[ok]], goals[j[ok]])
            head.r2.fill_(1.0 - float((pred - t[ok]).pow(2).sum()
                                      / (t[ok] - t[ok].mean()).pow(2).sum()))
    return head.requires_grad_(False)
