"""One function decides what may be pressed, from (current job, engine ready, stack valid)."""

from __future__ import annotations

import pytest

from dropout_studio.ui.state import ACTIONS, Situation, action_states

STARTERS = ("compare", "sweep", "twin")


def enabled(situation: Situation) -> set[str]:
    states = action_states(situation)
    assert set(states) == set(ACTIONS)
    return {name for name, state in states.items() if state.enabled}


def test_idle_with_a_valid_stack():
    on = enabled(Situation(None, "ready", None, has_model=True, has_analysis=True))
    assert on == {"train", "compare", "sweep", "twin", "analyse", "export_model"}


@pytest.mark.parametrize("job", ["compare", "sweep", "twin"])
def test_while_an_experiment_runs_only_stop_and_export_are_on(job):
    on = enabled(Situation(job, "ready", None, has_model=True, has_analysis=True))
    assert on == {"stop", "export_model"}


def test_while_a_run_trains_only_stop_is_on():
    """The run may train the last model in place (the window reuses its compiled step)."""
    states = action_states(Situation("train", "ready", None, has_model=True, has_analysis=True))
    assert {name for name, state in states.items() if state.enabled} == {"stop"}
    assert "training" in states["export_model"].tip


def test_train_queues_while_tensorflow_loads():
    assert enabled(Situation(None, "loading", None)) == {"train"}
    assert enabled(Situation("queued", "loading", None)) == {"stop"}
    assert enabled(Situation(None, "loading", "layer 3 needs a 3-D input")) == set()


def test_an_invalid_stack_or_a_failed_engine_says_why():
    states = action_states(Situation(None, "ready", "layer 3 needs a 3-D input"))
    assert not states["train"].enabled
    assert "layer 3 needs a 3-D input" in states["train"].tip
    assert not any(states[name].enabled for name in STARTERS)
    failed = action_states(Situation(None, "failed", None))
    assert not failed["train"].enabled
    assert "failed to load" in failed["train"].tip
