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
