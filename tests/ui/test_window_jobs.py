"""Regression tests for the window's job handling, each driven through the real widgets.

A fake function with ``engine.train``'s signature sits beneath the job runner, so data
loading, run-folder writing and the job sequence run as in production.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QSpinBox

from tests.ui.conftest import ready
from tests.ui.fakes import fake_trainer, start_training


def error_boxes(window):
    return [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox"]


def small(window, epochs=3):
    """A quick preset for fake runs (60 samples: data loading takes milliseconds)."""
    window.document.set_project(window.document.project.with_training(epochs=epochs))


def test_train_is_enabled_again_in_the_finished_slot_every_time(make_window, qtbot):
    """The finished slot once read is_alive() of the thread that emitted it: sometimes True."""
    window = make_window("small-data", trainer=fake_trainer())
    small(window)
    for _ in range(10):
        job = start_training(window)
        seen = []
        job.finished.connect(
            lambda seen=seen: seen.append(
                (window.train_action.isEnabled(), window.stop_action.isEnabled())
            )
        )
        with qtbot.waitSignal(job.finished, timeout=10_000):
            pass
        assert seen == [(True, False)]


def test_a_failure_ends_with_finished_stop_off_and_progress_idle(make_window, qtbot, caplog):
    def broken(project, data, on_event, stop):
        raise ValueError("shapes do not match")

    window = make_window("small-data", trainer=broken)
    job = start_training(window)
    order = []
    job.errored.connect(lambda *a: order.append("errored"))
    job.finished.connect(lambda: order.append("finished"))
    with caplog.at_level(logging.ERROR, logger="dropout_studio"):
        with qtbot.waitSignal(job.finished, timeout=10_000):
            pass
    assert order == ["errored", "finished"]
    assert not window.stop_action.isEnabled()
    assert window.train_action.isEnabled()
    assert window.progress.maximum() == 1  # not busy any more
    assert window.progress.format() == "failed"
    box = error_boxes(window)[-1]
    assert "Traceback" in box.detailedText()  # kept in the details...
    assert "Traceback" in caplog.text  # ...and in the log
    assert "ValueError: shapes do not match" in caplog.text


def test_a_run_folder_that_cannot_be_written_is_not_a_training_failure(
    make_window, qtbot, tmp_path
):
    window = make_window("small-data", trainer=fake_trainer())
    small(window, 4)
    assert window.files.save_to(tmp_path / "p.json")
    (tmp_path / "runs").write_text("a file where the runs folder should be")
    with qtbot.waitSignal(window.training.trained, timeout=20_000) as blocker:
        start_training(window)
    assert blocker.args[0].save_error
    assert len(window.loss_plot.rows) == 4  # the history is shown
    assert window.progress.format() == "finished"
    text = error_boxes(window)[-1].text()
    assert "could not be saved" in text
    assert "Training failed" not in text


def blocking_job(window, kind):
    """An exclusive job that runs until Stop (stands in for a compare or a sweep)."""
    started = threading.Event()

    def work(ctx):
        started.set()
        ctx.stop.wait(20)
        return []

    job = window.runner.start(kind, work)
    assert started.wait(5)
    return job


@pytest.mark.parametrize("kind", ["compare", "sweep", "twin"])
def test_nothing_else_starts_while_an_experiment_runs(make_window, qtbot, kind):
    window = make_window("small-data", trainer=fake_trainer())
    job = blocking_job(window, kind)
    window.document.set_project(window.document.project.with_training(epochs=9))  # an edit
    assert not window.train_action.isEnabled()
    assert not window.experiments.compare_action.isEnabled()
    assert not window.experiments.sweep_action.isEnabled()
    assert window.stop_action.isEnabled()  # one Stop for every job
    window.train()
    assert window.training.job is None
    with qtbot.waitSignal(job.finished, timeout=5_000):
        window.stop_action.trigger()
    assert window.train_action.isEnabled()
    assert not window.stop_action.isEnabled()


def test_quitting_asks_first_then_stops_without_blocking(make_window, qtbot):
    window = make_window("small-data", trainer=fake_trainer(0.01, until_stopped=True))
    job = start_training(window)
    qtbot.waitUntil(lambda: len(window.loss_plot.rows) >= 2, timeout=10_000)
    window.files.confirm_stop = lambda what: False
    window.close()  # Cancel: the run goes on
    assert window.isVisible()
    assert not job.stopping
    window.files.confirm_stop = lambda what: True
    begin = time.perf_counter()
    window.close()
    assert time.perf_counter() - begin < 0.05  # never waits for the thread
    assert job.stopping
    with qtbot.waitSignal(job.finished, timeout=5_000):
        pass
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2_000)


def test_new_asks_before_stopping_a_run_and_replaces_after_it_ended(make_window, qtbot):
    window = make_window("small-data", trainer=fake_trainer(0.01, until_stopped=True))
    job = start_training(window)
    window.files.confirm_stop = lambda what: False
    assert not window.files.new_project()
    assert not job.stopping
    assert window.document.project.name != "untitled"
    window.files.confirm_stop = lambda what: True
    with qtbot.waitSignal(job.finished, timeout=5_000):
        assert window.files.new_project()
    assert window.document.project.name == "untitled"
    assert window.train_action.isEnabled()


def test_preview_only_on_a_dataset_change_and_one_at_a_time(make_window, qtbot):
    window = make_window("small-data", engine_ready=False)
    previews = []
    running = []

    def on_started(job):
        if job.kind == "preview":
            previews.append(job)
            running.append(sum(j.running for j in previews))

    window.runner.started.connect(on_started)
    window.state.engine_info = {"devices": ["cpu"]}
    window.engine._on_engine_returned({"devices": ["cpu"]})  # what the engine job returns
    qtbot.waitUntil(lambda: window.engine.preview_job is None, timeout=10_000)
    assert len(previews) == 1
    window.document.set_project(window.document.project.with_training(epochs=7))
    window.stack_editor.select(1)
    assert len(previews) == 1  # no dataset change, no preview
    for size in (20, 30, 40):
        project = window.document.project
        window.edit(replace(project, dataset=replace(project.dataset, train_size=size)), "size")
    qtbot.waitUntil(lambda: window.engine.preview_job is None, timeout=10_000)
    assert max(running) == 1  # never two at once
    assert len(previews) <= 3  # the middle request was replaced by the newest
    assert window.engine.previewed[0].train_size == 40  # the newest spec is the one shown


def test_queued_train_runs_the_project_as_it_was_when_pressed(make_window, qtbot):
    seen = []
    trainer = fake_trainer()

    def recording(project, data, on_event, stop):
        seen.append(project.training.epochs)
        return trainer(project, data, on_event, stop)

    window = make_window("small-data", trainer=recording, engine_ready=False)
    small(window, 3)
    window.train_action.trigger()
    assert not window.train_action.isEnabled()
    assert window.stop_action.isEnabled()
    assert window.progress.maximum() == 0  # busy while queued
    small(window, 5)  # an edit after pressing Train
    with qtbot.waitSignal(window.training.trained, timeout=10_000):
        ready(window)
    assert seen == [3]


def test_stop_cancels_a_queued_run_at_once(make_window):
    window = make_window("small-data", trainer=fake_trainer(), engine_ready=False)
    window.train_action.trigger()
    assert window.state.job == "queued"
    window.stop_action.trigger()
    assert window.state.job is None
    assert not window.stop_action.isEnabled()
    ready(window)
    assert window.training.job is None  # nothing started later


def test_views_clear_when_another_project_comes(make_window, qtbot, tmp_path):
    from tests.core.test_runs import make_run

    window = make_window("small-data", trainer=fake_trainer())
    small(window)
    with qtbot.waitSignal(window.runs_panel.refreshed):
        assert window.files.save_to(tmp_path / "p.json")
    make_run(tmp_path / "runs", "old", [0.9, 0.4])
    with qtbot.waitSignal(window.runs_panel.refreshed):
        window.runs_panel.refresh()
    window.runs_panel.set_checked("old", True)
    assert window.loss_plot.overlay_curves
    with qtbot.waitSignal(window.training.trained, timeout=10_000):
        start_training(window)
    window.evaluate_action.setChecked(True)
    assert window.diagram.inference
    with qtbot.waitSignal(window.runs_panel.refreshed):
        assert window.files.load_preset("mlp-classic")
    assert window.runs_panel.records == {}
    assert not window.loss_plot.overlay_curves
    assert window.loss_plot.rows == []
    assert not window.evaluate_action.isChecked()
    assert not window.diagram.inference
    assert window.diagram.masks == {}  # no masks of the old run on the new project's diagram
    assert window.statusBar().currentMessage() == ""
    assert window.training.last is None
    assert window.inside.outcome is None
    assert not window.inside_view.analyse.isEnabled()


def test_evaluate_mode_turns_off_when_training_starts(make_window, qtbot):
    window = make_window("small-data", trainer=fake_trainer())
    small(window)
    window.evaluate_action.trigger()
    assert window.diagram.inference
    with qtbot.waitSignal(window.training.trained, timeout=10_000):
        start_training(window)
    assert not window.evaluate_action.isChecked()
    assert not window.diagram.inference


def test_runs_are_read_by_a_job(make_window, qtbot, tmp_path):
    window = make_window("small-data")
    kinds = []
    window.runner.started.connect(lambda job: kinds.append(job.kind))
    with qtbot.waitSignal(window.runs_panel.refreshed):
        assert window.files.save_to(tmp_path / "p.json")
    assert "runs" in kinds


def test_redo_has_no_ambiguous_shortcut_and_works(make_window, qtbot):
    window = make_window("small-data")
    keys = [k.toString() for k in window.redo_action.shortcuts()]
    assert len(keys) == len(set(keys))
    assert "Ctrl+Shift+Z" in keys
    before = window.document.project
    small(window, 11)
    window.edit(window.document.project.with_training(epochs=12), "x")
    window.undo_action.trigger()
    assert window.document.project.training.epochs == 11
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    QTest.keyClick(
        window.stack_editor.tree,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert window.document.project.training.epochs == 12
    assert before != window.document.project


def test_ctrl_z_in_a_property_field_undoes_the_project_edit(make_window, qtbot):
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    window.stack_editor.select(2)
    units = window.properties.option_widgets["units"]
    assert isinstance(units, QSpinBox)
    units.setValue(100)
    units.editingFinished.emit()
    assert window.document.project.network.layers[2].option("units") == 100
    units = window.properties.option_widgets["units"]
    units.setFocus()
    qtbot.waitUntil(units.hasFocus, timeout=2_000)  # as a user's click on the field
    QTest.keyClick(units, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.project.network.layers[2].option("units") == 64


def test_twenty_train_stop_cycles_through_the_visible_actions(make_window, qtbot):
    rng = random.Random(7)
    window = make_window("small-data", trainer=fake_trainer(0.005))
    small(window, 40)
    with qtbot.waitSignal(window.training.trained, timeout=20_000):
        start_training(window)  # warm-up: the engine job imports sklearn in the app
    begin = time.perf_counter()
    for cycle in range(20):
        assert window.train_action.isEnabled(), cycle
        job = start_training(window)
        assert window.stop_action.isEnabled()
        if cycle % 4 != 3:  # most are stopped at a random moment, some run to the end
            qtbot.wait(rng.randint(0, 60))
            stop_pressed = time.perf_counter()
            window.stop_action.trigger()
        qtbot.waitUntil(lambda job=job: not job.running, timeout=10_000)  # set by finished
        if cycle % 4 != 3 and job.stopping:
            assert time.perf_counter() - stop_pressed <= 1.0
        qtbot.waitUntil(window.train_action.isEnabled, timeout=2_000)
        assert not window.stop_action.isEnabled()
        assert not error_boxes(window)
    assert time.perf_counter() - begin < 60


@pytest.mark.slow
def test_train_pressed_while_tensorflow_loads_runs_with_the_real_engine(make_window, qtbot):
    """The queued run starts right after the import, possibly on the importing thread (a
    QThreadPool thread once crashed there: TensorFlow's per-thread state did not survive)."""
    window = make_window("small-data", engine_ready=False)
    small(window, 5)
    window.start_engine_loading()
    window.train_action.trigger()
    assert window.state.job == "queued"
    with qtbot.waitSignal(window.training.trained, timeout=180_000) as blocker:
        pass
    assert blocker.args[0].result.status == "finished"
    assert len(window.loss_plot.rows) == 5


@pytest.mark.slow
def test_twenty_train_stop_cycles_with_the_real_engine(make_window, qtbot):
    rng = random.Random(11)
    window = make_window("small-data", engine_ready=False)
    small(window, 600)  # over 500 epochs: the speculative full-batch loop, stopped mid-run too
    window.start_engine_loading()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=120_000)
    begin = time.perf_counter()
    for cycle in range(20):
        qtbot.waitUntil(window.train_action.isEnabled, timeout=2_000)
        job = start_training(window)
        stopped = cycle % 5 != 4  # some runs are left to finish
        if stopped:
            qtbot.wait(rng.randint(0, 1500))
            if job.running:
                pressed = time.perf_counter()
                window.stop_action.trigger()
        qtbot.waitUntil(lambda job=job: not job.running, timeout=120_000)  # set by finished
        if stopped and job.stopping:
            assert time.perf_counter() - pressed <= 1.0, cycle
        assert job.error is None, job.error
        assert not window.stop_action.isEnabled()
        assert not error_boxes(window), [b.text() for b in error_boxes(window)]
        result = window.training.last.result
        assert [row["epoch"] for row in result.history] == list(range(len(result.history)))
    assert time.perf_counter() - begin < 120
    assert [step.speculative for step in window.training.steps.steps.values()] == [True]


def test_at_launch_the_preview_is_built_before_the_engine_loads(make_window, qtbot, monkeypatch):
    """Side by side they held the GIL in turns: the import took ~0.5 s longer."""
    from dropout_studio.ui import engine_status

    monkeypatch.setattr(engine_status, "PREVIEW_FIRST_S", 60.0)  # however slow this machine
    window = make_window("mlp-classic", engine_ready=False)
    order = []
    window.runner.started.connect(lambda job: order.append(("started", job.kind)))
    window.runner.started.connect(
        lambda job: job.finished.connect(lambda: order.append(("finished", job.kind)))
    )
    window.start_engine_loading()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=60_000)
    assert order[:3] == [("started", "preview"), ("finished", "preview"), ("started", "engine")]


def test_the_engine_waits_at_most_half_a_second_for_a_slow_preview(make_window, qtbot, monkeypatch):
    from dropout_studio.ui import engine_status

    release = threading.Event()
    build = engine_status.EngineController._build

    def slow_preview(self, spec, seed, path, ctx):
        release.wait(30)  # a large file's sample, say
        return build(self, spec, seed, path, ctx)

    monkeypatch.setattr(engine_status.EngineController, "_build", slow_preview)
    window = make_window("small-data", engine_ready=False)
    begun = time.perf_counter()
    window.start_engine_loading()
    assert window.engine.engine_job is None  # the preview first
    qtbot.waitUntil(lambda: window.engine.engine_job is not None, timeout=5_000)
    waited = time.perf_counter() - begun
    assert window.engine.preview_job is not None  # still building: the engine did not wait
    assert 0.4 <= waited < 10.0
    release.set()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=60_000)
