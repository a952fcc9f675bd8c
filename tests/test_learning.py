"""The online loop improves return on a real MuJoCo task (slow: a few minutes on a laptop CPU).

InvertedPendulum-v5 terminates as soon as the pole leaves +-0.2 rad. Uniform random actions
average about 5 (they fall within a handful of steps; 3.4 over 5 episodes here), and holding the
pole for 100 steps by chance needs a long run of lucky actions, so a mean eval return above 100
is a level random actions essentially never reach; a learned model with MPC keeps the pole up.
"""

from __future__ import annotations

import numpy as np
import pytest

from agent.build import RandomAgent
from agent.config import AgentConfig, RunConfig, online_train_config
from agent.evaluate import run_episodes
from agent.online import OnlineRun
from envs import make_env


@pytest.mark.slow
def test_online_mpc_learns_to_balance_the_inverted_pendulum(tmp_path):
    cfg = RunConfig(env_id="InvertedPendulum-v5", steps=2_000, seed=0, seed_steps=666,
                    pretrain_updates=500, eval_every=2_000, eval_episodes=3)
    summary = OnlineRun(tmp_path, cfg, AgentConfig(), online_train_config()).run(False, False)
    envs = [make_env("InvertedPendulum-v5", seed=i) for i in range(3)]
    random = run_episodes(envs, RandomAgent(1, 0), seeds=[1, 2, 3])
    assert np.mean(random.returns) < 30
    assert summary["eval_return"] > 100
