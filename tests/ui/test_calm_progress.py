"""The status bar's progress bar repaints at most 10 times a second, yet answers at once."""

from __future__ import annotations

from dropout_studio.ui.window_layout import CalmProgressBar
from tests.ui.qt_events import EventCounter


def test_the_latest_value_and_text_are_answered_at_once_and_painted_within_a_frame(qtbot):
    bar = CalmProgressBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.setRange(0, 500)
    for epoch in range(1, 501):  # an epoch every 2 ms, as small data trains
        bar.setValue(epoch)
        bar.setFormat(f"epoch {epoch}/500")
    assert bar.value() == 500
    assert bar.format() == "epoch 500/500"
    assert bar.text() != "epoch 500/500"  # not painted 500 times over
    qtbot.waitUntil(lambda: bar.text() == "epoch 500/500", timeout=1_000)
    assert bar.value() == 500


def test_a_range_change_shows_at_once(qtbot):
    bar = CalmProgressBar()
    qtbot.addWidget(bar)
    bar.setRange(0, 10)
    bar.setValue(4)
    bar.setRange(0, 0)  # busy: preparing the next run
    assert (bar.minimum(), bar.maximum()) == (0, 0)
    bar.setRange(0, 1)
    bar.setValue(1)
    bar.setFormat("finished")
    assert (bar.value(), bar.format()) == (1, "finished")


def test_a_new_value_and_text_are_painted_once_together(qtbot):
    """QProgressBar.setValue repaints at once and setFormat later: apart, two paints a frame
    (each with the status bar behind the bar) while a run trains."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QStyleFactory

    bar = CalmProgressBar()
    bar.setStyle(QStyleFactory.create("Fusion"))  # no style animation of a determinate bar
    qtbot.addWidget(bar)
    bar.setRange(0, 100)
    bar.show()
    qtbot.waitExposed(bar)
    paints = EventCounter(bar, QEvent.Type.Paint)
    qtbot.wait(50)
    paints.count = 0
    bar.setValue(40)
    bar.setFormat("epoch 40/100")
    bar.apply()  # the frame: as its timer does
    assert paints.count == 0  # nothing painted synchronously
    qtbot.waitUntil(lambda: paints.count >= 1, timeout=1_000)
    qtbot.wait(50)
    assert paints.count == 1
    assert (bar.text(), bar.value()) == ("epoch 40/100", 40)
