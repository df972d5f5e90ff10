"""The window's live views draw in the training's frames, and an idle window sleeps.

Each wake-up of the GUI thread takes a core from a training's compute threads in the middle
of an operation: ~130 wake-ups a second (masks, curves, progress bar and the job's reports
each on their own clock) cost a 2-core machine's training ~5 % of its speed."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from tests.ui.fakes import fake_trainer, start_training


def _waking_timers(window) -> list[QTimer]:
    """Timers that would wake the window more than once a second."""
    return [t for t in window.findChildren(QTimer) if t.isActive() and t.interval() < 1_000]


def test_an_idle_window_runs_no_frame_timer(make_window, qtbot):
    window = make_window(trainer=fake_trainer())
    window.document.set_project(window.document.project.with_training(epochs=3))
    start_training(window)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    qtbot.waitUntil(lambda: not _waking_timers(window), timeout=3_000)
    assert len(window.loss_plot.rows) == 3  # drawn, and then nothing more to draw


def test_masks_curves_and_progress_are_drawn_once_per_batch_of_reports(make_window, qtbot):
    window = make_window(trainer=fake_trainer(0.002, until_stopped=True))  # ~1,500 reports/s
    binder, diagram, plot = window.training, window.diagram, window.loss_plot
    draws = {"masks": 0, "curves": 0, "batches": 0}
    set_masks, redraw = diagram.set_masks, plot._redraw

    def count_masks(*args):
        draws["masks"] += 1
        set_masks(*args)

    def count_curves():
        draws["curves"] += 1 if plot._dirty else 0
        redraw()

    diagram.set_masks, plot._redraw = count_masks, count_curves
    job = start_training(window)
    job.delivered.connect(lambda: draws.__setitem__("batches", draws["batches"] + 1))
    # drawn while the run trains, not only from the result at its end
    qtbot.waitUntil(lambda: draws["batches"] >= 6 and draws["masks"] >= 3, timeout=10_000)
    with qtbot.waitSignal(job.finished, timeout=5_000):
        window.stop_action.trigger()
    epochs = len(plot.rows)
    assert epochs > 3 * draws["batches"]  # many epochs in each batch...
    assert draws["masks"] <= draws["batches"] + 1  # ...and one drawing of the masks
    assert draws["curves"] <= draws["batches"] + 2  # the curves at most once a batch
    assert binder._pending_masks is None  # the latest masks were drawn, none left waiting
    assert diagram.step is not None


def test_the_progress_text_keeps_up_with_the_finished_epochs(make_window, qtbot):
    """The engine reports progress every 50 ms and ends an epoch every 2 ms on small data:
    the text showed the last report's epoch ("epoch 270/600") beside a bar at 298."""
    import re
    import time

    from tests.ui.fakes import FakeResult, TrainingEvent

    def train(project, data, emit, stop):
        emit(TrainingEvent("started", metrics={"epochs": project.training.epochs}))
        history = []
        for epoch in range(project.training.epochs):
            if epoch % 25 == 0:  # a progress report now and then, as time allows
                emit(TrainingEvent("progress", epoch=epoch, batch=1, metrics={"loss": 1.0}))
            row = {"epoch": epoch, "loss": 1.0, "val_loss": 1.0}
            history.append(row)
            emit(TrainingEvent("epoch_ended", epoch=epoch, metrics=row))
            time.sleep(0.001)
        return FakeResult("finished", history, {})

    window = make_window(trainer=train)
    window.document.set_project(window.document.project.with_training(epochs=600))
    seen = []

    def look():  # after the window's frame: what the bar shows
        match = re.match(r"epoch (\d+)/600", window.progress.format())
        if match:
            seen.append((int(match[1]), window.progress.value()))

    job = start_training(window)
    job.delivered.connect(look)
    with qtbot.waitSignal(job.finished, timeout=20_000):
        pass
    assert seen
    for epoch, finished in seen:
        assert finished <= epoch <= finished + 1  # the epoch in progress, never one long done
