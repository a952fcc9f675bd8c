"""The policy prior: it learns the model's best one-step action, proposes rollouts of the right
shape, and rides through the online loop (exact resume, saved for `wmpc eval`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from agent.config import AgentConfig, RunConfig
from agent.loading import load_agent
from agent.online import OnlineRun
from agent.prior import PolicyPrior, PriorTrainer, prior_candidates
from agent.runs import read_evals
from envs import make_env
from envs.errors import UserError
from world_model import ModelConfig, WorldModel
from world_model.train import TrainConfig


def _model_with_action_dependent_reward(seed: int = 0) -> WorldModel:
    """A random model whose reward head depends on the action (its last layer starts at zero)."""
    model = WorldModel(ModelConfig(obs_dim=4, act_dim=2, latent_dim=8, hidden_dim=32,
                                   ensemble_size=2), seed=seed)
    last = model.reward_head[-1]
    with torch.no_grad():
        last.weight.copy_(torch.randn(last.weight.shape,
                                      generator=torch.Generator().manual_seed(seed)))
    return model


def _one_step_return(model, z, a, gamma=0.99):
    return (model.reward(z, a) + gamma * model.value(model.predict(z, a))).mean().item()


def test_prior_learns_actions_better_than_random_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = _model_with_action_dependent_reward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prior = PolicyPrior(8, 2, hidden=32, seed=0)
    trainer = PriorTrainer(prior, model, lr=3e-3)
    obs = torch.randn(256, 3, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = model.encode(obs.reshape(-1, 4))
        initial = _one_step_return(model, z, prior(z))
        random = _one_step_return(model, z, torch.rand(z.shape[0], 2) * 2 - 1)
    for _ in range(150):
        trainer.update(obs)
    with torch.no_grad():
        learned = _one_step_return(model, z, prior(z))
    assert learned > max(initial, random) + 0.05, (initial, random, learned)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert all(p.grad is None for p in model.parameters())  # the trainer's grads stay untouched


def test_candidates_shapes_bounds_and_a_noiseless_first_rollout():
    model = _model_with_action_dependent_reward()
    prior = PolicyPrior(8, 2, hidden=32, seed=0)
    z0 = torch.randn(8)
    seqs = prior_candidates(prior, model, z0, horizon=4, count=5, noise_std=0.5,
                            generator=torch.Generator().manual_seed(0))
    assert seqs.shape == (5, 4, 2) and seqs.abs().max() <= 1.0
    z, exact = z0, []
    with torch.no_grad():
        for _ in range(4):
            exact.append(prior(z))
            z = model.predict(z, exact[-1])
    torch.testing.assert_close(seqs[0], torch.stack(exact))
    assert not torch.allclose(seqs[1], seqs[0])
    batched = prior_candidates(prior, model, torch.randn(3, 8), horizon=4, count=5,
                               noise_std=0.5, generator=torch.Generator().manual_seed(0))
    assert batched.shape == (3, 5, 4, 2)


ENV = "point_env:PointMass-v0"
CFG = RunConfig(env_id=ENV, steps=130, seed=3, seed_steps=60, pretrain_updates=5,
                updates_per_step=1.0, eval_every=40, eval_episodes=2)
AGENT = AgentConfig(horizon=2, num_samples=16, iterations=2, num_elites=4, prior_samples=4)
TRAIN = TrainConfig(batch_size=8, horizon=2)
SMALL = {"latent_dim": 8, "hidden_dim": 16, "ensemble_size": 2}


def _run(out, steps, resume=False):
    run = OnlineRun(out, dataclasses.replace(CFG, steps=steps), AGENT, TRAIN, SMALL)
    return run, run.run(resume=resume, progress=False)


def test_loop_with_prior_resumes_exactly_and_saves_the_prior_for_eval(tmp_path):
    from agent.runs import save_config

    whole, _ = _run(tmp_path / "whole", 130)
    _run(tmp_path / "split", 75)
    resumed, _ = _run(tmp_path / "split", 130, resume=True)
    def returns(out):
        return [(row["step"], row["returns"]) for row in read_evals(out)]

    assert returns(tmp_path / "split") == returns(tmp_path / "whole")
    for name, value in whole.prior.state_dict().items():
        assert torch.equal(value, resumed.prior.state_dict()[name]), name
    trained = whole.prior.net[0].weight
    assert not torch.equal(trained, PolicyPrior(8, 2, 16, seed=CFG.seed).net[0].weight)

    run_dir = tmp_path / "whole"
    save_config(run_dir, {"agent": dataclasses.asdict(AGENT)})
    env = make_env(ENV, seed=0)
    agent = load_agent(run_dir, env, env_id=ENV)
    assert agent.propose is not None
    obs, _ = env.reset(seed=0)
    assert np.all(np.abs(agent.act(obs)) <= 1.0)
    (run_dir / "prior.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="corrupt policy prior"):
        load_agent(run_dir, env, env_id=ENV)
    (run_dir / "prior.pt").unlink()
    with pytest.raises(UserError, match="no prior.pt"):
        load_agent(run_dir, env, env_id=ENV)
