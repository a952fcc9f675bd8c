"""torch.compile of the energy and the loss: results as eager ones, per model; a safe fallback."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch._dynamo.exc import TorchDynamoException
from torch._dynamo.utils import counters

from agent.build import learned_agent
from agent.config import AgentConfig
from world_model import ModelConfig, WorldModel, compiled
from world_model.train import TrainConfig, Trainer

needs_compiler = pytest.mark.skipif(not compiled._cpp_compiler(),
                                    reason="torch.compile needs a C++ compiler")
CFG = ModelConfig(obs_dim=5, act_dim=2, latent_dim=16, hidden_dim=32, ensemble_size=2)


def _model(seed: int) -> WorldModel:
    model = WorldModel(CFG, seed=seed)
    with torch.no_grad():  # heads that read the latents, so costs differ between sequences
        for p in (*model.reward_head.parameters(), *model.value_head.parameters()):
            p.normal_(0.0, 0.3)
    return model


def _batch(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {"obs": torch.randn(32, 4, 5, generator=gen),
            "act": torch.rand(32, 3, 2, generator=gen) * 2 - 1,
            "rew": torch.rand(32, 3, generator=gen), "term": torch.zeros(32, 3)}


def test_switched_off_by_the_environment_or_off_the_cpu(monkeypatch):
    def fn(x):
        return x + 1

    monkeypatch.setenv("WMPC_COMPILE", "0")
    assert not compiled.can_compile("cpu") and compiled.compiled(fn, "cpu") is fn
    monkeypatch.setenv("WMPC_COMPILE", "1")
    assert not compiled.can_compile("meta") and compiled.compiled(fn, "meta") is fn


def test_a_compile_error_falls_back_to_eager_with_one_warning(monkeypatch):
    """Only for the function that failed; errors of the function itself pass through."""
    monkeypatch.setenv("WMPC_COMPILE", "1")
    monkeypatch.setattr(compiled, "_cpp_compiler", lambda: True)

    def broken(fn):
        def call(x):
            if x == "own error":
                raise ValueError("the function's own")
            raise TorchDynamoException("no backend here\nsecond line")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    fn = compiled.compiled(lambda x: x * 2, "cpu")
    with pytest.raises(ValueError, match="own"), warnings.catch_warnings():
        warnings.simplefilter("error")
        fn("own error")
    with pytest.warns(UserWarning, match="torch.compile failed, running eagerly: "
                                         "TorchDynamoException: no backend here$"):
        assert fn(3) == 6
    monkeypatch.setattr(torch, "compile", lambda fn: lambda x: -fn(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # eager from then on, without a second warning
        assert fn(4) == 8
        assert compiled.compiled(lambda x: x, "cpu")(5) == -5  # others still compile


@needs_compiler
@pytest.mark.parametrize("planner", ["mppi", "cem-gradient"])
def test_compiled_plans_match_eager_ones_for_each_model(monkeypatch, planner):
    """A second model reuses the first one's compiled code (no new graphs) but not its weights;
    batched problems too; with a gradient planner, through the compiled backward."""
    monkeypatch.setenv("WMPC_COMPILE", "1")
    torch._dynamo.reset()  # graphs of earlier tests do not count
    obs = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    graphs = [counters["stats"]["unique_graphs"]]
    for seed in (0, 1):
        model = _model(seed)
        plans = {}
        for compile_ in (False, True):
            cfg = AgentConfig(planner=planner, num_samples=64, iterations=3, compile=compile_)
            agent = learned_agent(model, cfg, 2, "cpu", seed=7)
            plans[compile_] = [agent.plan(obs[0]), agent.plan(obs)]
        for eager, fast in zip(plans[False], plans[True], strict=True):
            assert torch.allclose(eager.actions, fast.actions, atol=1e-4)
            assert np.allclose(eager.cost, fast.cost, atol=1e-4)
        graphs.append(counters["stats"]["unique_graphs"])
    assert graphs[1] > graphs[0] and graphs[2] == graphs[1]  # compiled once, for both models
    assert abs(plans[True][0].cost - learned_agent(
        _model(0), AgentConfig(planner=planner, num_samples=64, iterations=3, compile=False), 2,
        "cpu", seed=7).plan(obs[0]).cost) > 1e-3  # the second model's costs are not the first's


@needs_compiler
def test_compiled_updates_match_eager_ones(monkeypatch):
    monkeypatch.setenv("WMPC_COMPILE", "1")
    torch._dynamo.reset()
    graphs = counters["stats"]["unique_graphs"]
    trainers = {c: Trainer(WorldModel(CFG, seed=0), TrainConfig(compile=c), seed=0)
                for c in (False, True)}
    for step in range(3):
        losses = {c: t.update(_batch(step)) for c, t in trainers.items()}
        assert losses[True]["total"] == pytest.approx(losses[False]["total"], rel=1e-4)
    for eager, fast in zip(trainers[False].model.parameters(), trainers[True].model.parameters(),
                           strict=True):
        assert torch.allclose(eager, fast, atol=1e-5)
    assert counters["stats"]["unique_graphs"] > graphs


_WRAP_THEN_FILTER = """
import warnings, torch
from world_model import compiled
fn = lambda x: torch.nn.functional.layer_norm(x, (4,)).sin()
{before}
fast = compiled.compiled(fn, "cpu")
{after}
fast(torch.randn(3, 4))
"""


@needs_compiler
@pytest.mark.parametrize("when", ["before", "after"])
def test_torchs_warnings_about_itself_stay_quiet_after_a_library_shows_all(when):
    """dm_control's import shows every DeprecationWarning; torch's own about its compiler must not
    reach the user whether that import comes before or after a function is wrapped. A fresh
    process: torch warns only when it first imports its compiler's modules."""
    show_all = 'warnings.simplefilter("always", DeprecationWarning)'
    code = _WRAP_THEN_FILTER.format(before=show_all if when == "before" else "",
                                    after=show_all if when == "after" else "")
    env = {**os.environ, "WMPC_COMPILE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600, check=True, cwd=Path(__file__).parents[1])
    assert "is deprecated" not in out.stderr

