"""Each tab page fits the room a 1366×768 laptop gives it: its minimum size, not its preferred
size, decides whether it scrolls (``window_layout.Page``)."""

from __future__ import annotations

import pytest

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import load_preset
from dropout_studio.ui.experiments import CompareView, SweepView
from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.panels import DatasetPanel
from dropout_studio.ui.runs_panel import RunsPanel
from dropout_studio.ui.window_layout import scrolled

CENTRE_TAB = (717, 296)  # what the centre tabs' page gets at 1366×768
SIDE_TAB = (293, 625)


@pytest.mark.parametrize(
    ("make", "room"),
    [
        (CompareView, CENTRE_TAB),
        (SweepView, CENTRE_TAB),
        (LossPlot, CENTRE_TAB),
        (
            lambda: DatasetPanel(ProjectDocument(load_preset("mlp-classic")), lambda *a: None),
            SIDE_TAB,
        ),
        (lambda: RunsPanel(lambda: None), SIDE_TAB),
    ],
)
def test_page_fits_without_scrolling(qtbot, make, room):
    view = make()
    area = scrolled(view)
    qtbot.addWidget(area)
    area.resize(*room)
    area.show()
    qtbot.waitExposed(area)
    qtbot.waitUntil(lambda: view.height() > 0)
    hint = area.widget().minimumSizeHint()
    assert hint.width() <= room[0], hint
    assert hint.height() <= room[1], hint
    assert not area.verticalScrollBar().isVisible()
    assert not area.horizontalScrollBar().isVisible()


def test_compare_chart_keeps_its_height_beside_the_table(qtbot):
    view = CompareView()
    area = scrolled(view)
    qtbot.addWidget(area)
    area.resize(*CENTRE_TAB)
    area.show()
    qtbot.waitExposed(area)
    qtbot.waitUntil(lambda: view.plot.height() > 200)
    assert view.plot.geometry().right() < view.table.geometry().left()  # side by side


def test_ten_class_confusion_matrix_fits_the_side_panel(qtbot):
    from types import SimpleNamespace

    import numpy as np

    from dropout_studio.ui.evaluate import EvaluatePanel

    panel = EvaluatePanel()
    area = scrolled(panel)
    qtbot.addWidget(area)
    area.resize(*SIDE_TAB)
    area.show()
    qtbot.waitExposed(area)
    rng = np.random.default_rng(0)
    data = SimpleNamespace(
        x_test=rng.random((359, 8, 8)),
        y_test=rng.integers(0, 10, 359),
        class_names=[str(k) for k in range(10)],
    )
    confusion = np.diag(np.full(10, 35)) + rng.integers(0, 7, (10, 10))
    evaluation = SimpleNamespace(
        metrics={"accuracy": 0.89}, confusion=confusion, predictions=rng.random((359, 10))
    )
    panel.show_evaluation(data, evaluation)
    table = panel.matrix
    qtbot.waitUntil(lambda: not area.verticalScrollBar().isVisible())
    columns = sum(table.columnWidth(c) for c in range(10))
    rows = sum(table.rowHeight(r) for r in range(10))
    qtbot.waitUntil(lambda: table.viewport().width() >= columns)  # columns 7–9 too
    qtbot.waitUntil(lambda: table.viewport().height() >= rows)  # row 9 too
    assert not area.horizontalScrollBar().isVisible()
    assert panel.picture.geometry().bottom() <= panel.height()


def test_a_long_status_message_is_cut_before_the_permanent_widgets(qtbot):
    from PySide6.QtWidgets import QLabel

    from dropout_studio.ui.window_layout import MessageBar

    bar = MessageBar()
    qtbot.addWidget(bar)
    engine = QLabel("TensorFlow 2.21.0 · Keras 3.15.1 · CPU only")
    bar.addPermanentWidget(engine)
    bar.resize(700, 30)
    bar.show()
    qtbot.waitExposed(bar)
    text = "Compare stopped: only finished runs are shown " * 6
    with qtbot.waitSignal(bar.messageChanged):
        bar.showMessage(text, 10_000)
    assert bar.currentMessage() == text
    qtbot.waitUntil(lambda: bar.message.width() > 0)
    assert bar.message.geometry().right() < engine.geometry().left()
    assert bar.message.toolTip() == text
    bar.clearMessage()
    assert bar.currentMessage() == ""
