"""Envs in their own processes (Gymnasium's AsyncVectorEnv): `wmpc collect --num-envs` records
every env's episodes, `wmpc eval --num-envs` runs the episodes in rounds with the same seeds and
results as one batch in this process. (`wmpc run --num-envs`: tests/test_agent_loop.py.)"""

from __future__ import annotations

import functools

import minari
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode

from agent.evaluate import run_episodes, run_vector_episodes
from agent.policies import UniformPolicy
from envs import make_env
from envs.record import PerEnvPolicies, collect


class _Still:
    """A batch policy of zero actions, the same in any batch."""

    def act(self, obs):
        return np.zeros((len(obs), 1), dtype=np.float32)

    def reset(self, index=None):
        pass


def test_rounds_on_a_vector_env_match_one_batch_here():
    seeds = [11, 12, 13, 14]
    envs = [make_env("InvertedPendulum-v5", seed=i) for i in range(4)]
    here = run_episodes(envs, _Still(), seeds=seeds)
    vector = AsyncVectorEnv([functools.partial(make_env, "InvertedPendulum-v5", seed=i)
                             for i in range(2)],
                            autoreset_mode=AutoresetMode.NEXT_STEP, context="spawn")
    try:
        rounds = run_vector_episodes(vector, _Still(), seeds=seeds)
    finally:
        vector.close()
    assert len(set(here.lengths)) > 1  # episodes end at different steps
    assert rounds.lengths == here.lengths
    np.testing.assert_allclose(rounds.returns, here.returns)


def test_collect_records_every_env_and_each_replays(tmp_path):
    policies = PerEnvPolicies([UniformPolicy(3, seed=1), UniformPolicy(3, seed=2)])
    out = collect("Hopper-v5", 120, tmp_path / "hop", policy=policies, seed=5, num_envs=2,
                  progress=False)
    episodes = list(minari.MinariDataset(out / "data").iterate_episodes())
    assert sum(len(e.rewards) for e in episodes) == 120
    assert all(e.truncations[-1] or e.terminations[-1] for e in episodes)
    replayed = 0
    for env_seed in (5, 6):  # each env's first episode, in the env seeded seed + i
        env = make_env("Hopper-v5", seed=env_seed)
        first, _ = env.reset()
        (episode,) = [e for e in episodes if np.array_equal(e.observations[0], first)]
        for t, action in enumerate(episode.actions):
            obs, *_ = env.step(action)
            np.testing.assert_array_equal(obs, episode.observations[t + 1])
        replayed += 1
    assert replayed == 2
