"""Why some reacher-easy episodes score about 0: at one decision of each episode, search or model?

    python benchmarks/reacher_probe.py --run RUN --seeds 100,101,102 --at 250

Plays one episode per env seed with the run's agent (no noise) and, at decision `--at`, compares
the plan the agent executes with `--samples` uniform random sequences from the same state, all
scored twice: by the model's energy (predicted rewards + critic at the horizon's end) and by the
true simulator's rewards over the horizon. If many random sequences truly enter the target while
the model's energy prefers the executed plan, which does not, the model is wrong there (reward
head or critic), not the search. Writes NAME.csv and the `## Reacher probe: NAME` section of
RESULTS.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.provenance import ROOT, commit, machine, replace_section, today, write_csv

FIELDS = ["seed", "return", "distance", "radius", "shoulder", "executed_true", "executed_pred",
          "executed_value", "executed_energy", "reach_fraction", "reach_best_energy",
          "reach_best_value"]


def probe_episode(run: Path, seed: int, at: int, samples: int) -> dict:
    """One episode of env seed `seed`; the comparison at decision `at` (see the module doc)."""
    from agent.loading import load_agent
    from envs import make_env
    from envs.oracle import SimulatorOracle

    env = make_env("dm_control/reacher-easy-v0", seed=seed)
    agent = load_agent(run, env, seed=seed, env_id="dm_control/reacher-easy-v0")
    physics = env.unwrapped._env.physics
    obs, _ = env.reset(seed=seed)
    agent.reset()
    total, row = 0.0, {"seed": seed}
    for t in range(500):
        action = agent.act(obs)
        if t == at:
            row.update(_compare(agent, obs, SimulatorOracle(env, num_threads=1), samples, seed))
            row.update(distance=physics.finger_to_target_dist(), shoulder=float(obs[0]),
                       radius=float(physics.named.model.geom_size[["target", "finger"], 0].sum()))
        obs, reward, terminated, truncated, _ = env.step(action)
        total += reward
        if terminated or truncated:
            break
    row["return"] = total
    env.close()
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def _compare(agent, obs, oracle, samples: int, seed: int) -> dict:
    import torch

    oracle.sync()
    imagination = agent.imagine(obs)
    executed = agent._mean.unsqueeze(0)
    generator = torch.Generator().manual_seed(seed)
    random = torch.rand(samples, *executed.shape[1:], generator=generator) * 2 - 1
    sequences = torch.cat([executed, random])
    with torch.no_grad():
        imagined = imagination(sequences)
        energy = agent.energy(imagined)
        value = imagination.model.value(imagined.latents[:, -1])
    true_rewards, _ = oracle.rollout(sequences.numpy())
    reach = torch.as_tensor(true_rewards.sum(1) > 0)
    reach[0] = False
    best = int(torch.where(reach, energy, torch.inf).argmin()) if reach.any() else None
    return {"executed_true": float(true_rewards[0].sum()),
            "executed_pred": float(imagined.rewards[0].sum()),
            "executed_value": float(value[0]), "executed_energy": float(energy[0]),
            "reach_fraction": float(reach[1:].float().mean()),
            "reach_best_energy": float(energy[best]) if best is not None else float("nan"),
            "reach_best_value": float(value[best]) if best is not None else float("nan")}


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", type=Path, required=True, help="a reacher-easy run folder")
    p.add_argument("--seeds", default="100,101,102,103,104,105,106,107,108,109",
                   help="env seeds, one episode each")
    p.add_argument("--at", type=int, default=250, help="the decision probed")
    p.add_argument("--samples", type=int, default=4096, help="random sequences compared")
    p.add_argument("--name", default="reacher_probe")
    p.add_argument("--note", default="", help="text under the table")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    rows = [probe_episode(args.run, int(s), args.at, args.samples) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows, FIELDS)
    header = "| " + " | ".join(FIELDS) + " |\n|" + "---|" * len(FIELDS) + "\n"
    table = header + "".join("| " + " | ".join(str(r[f]) for f in FIELDS) + " |\n" for r in rows)
    command = "python benchmarks/reacher_probe.py " + shlex.join(argv)
    body = (f"Written {today()} at commit {commit()}; run {args.run} (started at "
            f"{_run_commit(args.run)}); machine: {machine()}.\n\nCommand: `{command}`\n\n"
            f"At decision {args.at} of each episode (distance: fingertip to target, radius: the "
            f"reward radius; executed_*: the executed plan's true and predicted rewards over the "
            f"horizon, critic value at its end and model energy; reach_*: of {args.samples} "
            f"uniform random sequences from the same state, the fraction whose true rewards are "
            f"above 0, and the lowest model energy among those with its critic value).\n\n"
            f"{table}\n{args.note}\n")
    replace_section(args.out / "RESULTS.md", f"Reacher probe: {args.name}", body)
    print(table)


def _run_commit(run: Path) -> str:
    from agent.runs import load_config

    return load_config(run).get("commit", "unknown")


if __name__ == "__main__":
    main(sys.argv[1:])
