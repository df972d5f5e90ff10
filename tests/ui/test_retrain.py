"""Train again: the window keeps the engine's compiled step, so a run after a rate, seed or
epoch change starts without tracing, and trains exactly as a fresh run would."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

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

    changed = _with_hidden_rate(window.document.project, 0.2).with_training(seed=5, epochs=4)
    window.document.set_project(changed)
    with qtbot.waitSignal(window.training.trained, timeout=120_000) as blocker:
        start_training(window)
        # The step's model is the last run's: it retires as the run starts.
        assert window.training.last is None
        assert not window.exports.model_actions["keras"].isEnabled()
    second = blocker.args[0]

    assert window.training.steps is steps
    assert steps.traces == 1
    assert step.run_steps.experimental_get_tracing_count() == 1
    assert second.result.model is step.model
    fresh = train(changed, load_dataset(changed.dataset, 5), None, threading.Event())
    assert second.result.history == fresh.history  # bitwise: floats compared exactly
    assert window.exports.model_actions["keras"].isEnabled()


def test_an_export_still_reading_the_last_model_keeps_it(make_window, qtbot):
    window = _engine_window(make_window, qtbot)
    first = _train(window, qtbot)
    before = [np.array(w) for w in first.result.model.get_weights()]
    old_steps = window.training.steps

    reading = threading.Event()
    release = threading.Event()

    def slow_export(_ctx):
        reading.set()
        release.wait(60)

    export = window.runner.start("export", slow_export)
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
