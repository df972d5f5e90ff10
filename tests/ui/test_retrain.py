"""Train again: the window keeps the engine's compiled step, so a run after a rate, seed or
epoch change starts without tracing, and trains exactly as a fresh run would."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from dropout_studio.core.spec import DropoutSpec
from tests.ui.fakes import start_training


def _engine_window(make_window, qtbot):
    window = make_window("small-data", engine_ready=False)
    window.start_engine_loading()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=60_000)
    window.document.set_project(window.document.project.with_training(epochs=3))
    return window


def _train(window, qtbot):
    with qtbot.waitSignal(window.training.trained, timeout=120_000) as blocker:
        start_training(window)
    return blocker.args[0]


def _with_hidden_rate(project, rate):
    layers = list(project.network.layers)
    layers[1] = replace(layers[1], dropout=DropoutSpec("dropout", rate))
    return replace(project, network=replace(project.network, layers=tuple(layers)))


def test_a_second_train_reuses_the_trace_and_trains_as_a_fresh_run(make_window, qtbot):
    from dropout_studio.engine.data import load_dataset
    from dropout_studio.engine.train import train

    window = _engine_window(make_window, qtbot)
    first = _train(window, qtbot)
    assert first.result.status == "finished"
    steps = window.training.steps
    (step,) = steps.steps.values()
    assert window.exports.model_actions["keras"].isEnabled()

    analysis = window.inside.analyse_model()
    with qtbot.waitSignal(analysis.finished, timeout=60_000):
        pass
    assert window.inside.view.report is not None

    changed = _with_hidden_rate(window.document.project, 0.2).with_training(seed=5, epochs=4)
    window.document.set_project(changed)
    with qtbot.waitSignal(window.training.trained, timeout=120_000) as blocker:
        start_training(window)
        # The run may train the last model in place: nothing exports it meanwhile, and no
        # report of it stays on the Inside tab.
        assert not window.exports.model_actions["keras"].isEnabled()
        assert window.inside.view.report is None
        assert "once the run has ended" in window.inside.view.summary.text()
    second = blocker.args[0]

    assert window.training.steps is steps
    assert steps.traces == 1
    assert step.run_steps.experimental_get_tracing_count() == 1
    assert second.result.model is step.model
    fresh = train(changed, load_dataset(changed.dataset, 5), None, threading.Event())
    assert second.result.history == fresh.history  # bitwise: floats compared exactly
    assert window.exports.model_actions["keras"].isEnabled()


@pytest.mark.parametrize("reader", ["export", "analysis"])
def test_an_export_or_analysis_still_reading_the_last_model_keeps_it(make_window, qtbot, reader):
    window = _engine_window(make_window, qtbot)
    first = _train(window, qtbot)
    before = [np.array(w) for w in first.result.model.get_weights()]
    old_steps = window.training.steps

    reading = threading.Event()
    release = threading.Event()

    def slow_export(_ctx):
        reading.set()
        release.wait(60)

    export = window.runner.start(reader, slow_export)
    qtbot.waitUntil(reading.is_set, timeout=10_000)
    try:
        second = _train(window, qtbot)
    finally:
        release.set()
    with qtbot.waitSignal(export.finished, timeout=60_000, raising=False):
        pass
    assert window.training.steps is not old_steps  # the run built a step of its own
    assert second.result.model is not first.result.model
    after = first.result.model.get_weights()
    for kept, now in zip(before, after):
        np.testing.assert_array_equal(kept, now)


def test_a_run_that_fails_before_reusing_the_step_keeps_the_last_model(make_window, qtbot):
    window = _engine_window(make_window, qtbot)
    first = _train(window, qtbot)
    window.document.set_project(window.document.project.with_training(device="gpu:7"))
    job = start_training(window)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert window.training.last is first  # the device check failed before any step was used
    assert window.exports.model_actions["keras"].isEnabled()


def test_a_run_that_fails_after_resetting_the_last_model_retires_it(
    make_window, qtbot, monkeypatch
):
    from dropout_studio.engine import train as train_module

    window = _engine_window(make_window, qtbot)
    _train(window, qtbot)

    def broken(self):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(train_module._CompiledLoop, "run", broken)
    job = start_training(window)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert window.training.last is None  # its weights were reset for the failed run
    assert not window.exports.model_actions["keras"].isEnabled()
    assert not window.inside.view.analyse.isEnabled()


def test_another_project_lets_the_old_step_go(make_window, qtbot):
    window = _engine_window(make_window, qtbot)
    _train(window, qtbot)
    old_steps = window.training.steps
    window.document.reset(window.document.project.with_training(epochs=2))  # as New/Open do
    assert window.training.last is None
    _train(window, qtbot)
    assert window.training.steps is not old_steps
