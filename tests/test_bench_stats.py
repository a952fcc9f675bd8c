"""`wmpc bench tasks`' numbers: environment steps, figures at a budget, anchors, intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import anchors, stats

SHARED_ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"


def test_decisions_become_environment_steps():
    assert stats.env_steps(50_000, 2) == 100_000
    assert stats.env_steps(7, 1) == 7
    assert stats.action_repeat({"env_id": "dm_control/cheetah-run-v0"}) == 2
    assert stats.action_repeat({"env_id": "dm_control/cheetah-run-v0",
                                "env_kwargs": {"action_repeat": 4}}) == 4


def test_a_seed_counts_only_at_exactly_the_budget():
    evals = [{"env_steps": s, "return": s / 100} for s in (10_000, 90_000, 110_000)]
    assert stats.at_budget(evals, 90_000)["return"] == 900
    assert stats.at_budget(evals, 100_000) is None  # last at or below is 90k: not at the budget
    assert stats.at_budget(evals, 200_000) is None  # not reached yet
    assert stats.at_budget([], 100_000) is None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_anchor_lookup_takes_each_seeds_last_evaluation_at_or_below(tmp_path):
    _write(tmp_path / "tdmpc2-results" / "tdmpc2" / "walk.csv",
           "step,reward,seed\n0,0,1\n100000,500,1\n200000,700,1\n"
           "0,0,2\n100000,300,2\n200000,900,2\n")
    _write(tmp_path / "dmc-others" / "bro.csv",
           "task,env_steps,mean_return,n_seeds,source\nwalk,100000,610,5,x\nwalk,200000,820,5,x\n"
           "run,100000,1,5,x\n")
    assert anchors.anchor_at(tmp_path, "tdmpc2", "walk", 100_000) == 400
    assert anchors.anchor_at(tmp_path, "tdmpc2", "walk", 150_000) == 400  # last at or below
    assert anchors.anchor_at(tmp_path, "tdmpc2", "walk", 200_000) == 800
    assert anchors.anchor_at(tmp_path, "tdmpc2", "walk", 300_000) is None  # past the end
    assert anchors.anchor_at(tmp_path, "tdmpc2", "swim", 100_000) is None  # no such task
    assert anchors.anchor_at(tmp_path, "bro", "walk", 200_000) == 820
    assert anchors.anchor_at(tmp_path, "bro", "walk", 1_000_000) is None
    assert anchors.anchor_at(tmp_path, "bro", "swim", 100_000) is None
    assert anchors.anchor_at(tmp_path, "nobody", "walk", 100_000) is None
    steps, means = anchors.anchor_curve(tmp_path, "tdmpc2", "walk")
    assert steps.tolist() == [0, 100_000, 200_000] and means.tolist() == [0, 400, 800]


def test_the_shared_anchors_give_the_readmes_means():
    if not SHARED_ANCHORS.is_dir():
        pytest.skip("the shared anchor curves are not beside this checkout")
    six = [anchors.anchor_at(SHARED_ANCHORS, "tdmpc2", t, 100_000) for t in anchors.SIX_TASKS]
    assert round(np.mean(six)) == 864  # the anchors README's "mean of the 6" at 100k
    assert round(anchors.anchor_at(SHARED_ANCHORS, "mrq", "cheetah-run", 100_000)) == 648


def test_equal_seeds_collapse_the_interval_and_two_seeds_span_it():
    mean, low, high = stats.seed_interval([700, 700, 700], reps=2000)
    assert (mean[0], low[0], high[0]) == (700, 700, 700)
    # Resampled means of {0, 1000} are 0, 500 or 1000 with chances 1/4, 1/2, 1/4.
    mean, low, high = stats.seed_interval([0, 1000], reps=2000)
    assert (mean[0], low[0], high[0]) == (500, 0, 1000)


def test_mean_and_iqm_across_tasks_by_hand():
    # One seed per task: nothing to resample, so the intervals collapse to the values.
    # IQM of 0, 0, 100, 200, 300, 1000, 1000, 1000: the middle four, (100+200+300+1000)/4.
    agg = stats.aggregate([[0], [0], [100], [200], [300], [1000], [1000], [1000]], reps=2000)
    assert agg["mean"] == pytest.approx((450, 450, 450))
    assert agg["iqm"] == pytest.approx((400, 400, 400))
    # Tasks with different seed counts: the mean is of task means, here (500 + 800) / 2.
    agg = stats.aggregate([[400, 600], [800]], reps=2000)
    assert agg["mean"][0] == pytest.approx(650)
    assert agg["mean"][1] < 650 < agg["mean"][2]


def test_the_bootstrap_is_reproducible_and_leaves_numpys_generator_alone():
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    first = stats.aggregate([[100, 900, 500], [300, 700, 800]], reps=2000)
    assert np.random.random() == expected
    assert stats.aggregate([[100, 900, 500], [300, 700, 800]], reps=2000) == first
