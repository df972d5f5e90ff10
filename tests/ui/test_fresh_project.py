"""A new project forgets the old one in every view, and the dataset panel shows only what it
knows: no stale ranges, empty legend boxes, layer names or slider ends."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import load_preset
from dropout_studio.ui.experiments import COMPARE_INTRO, SWEEP_INTRO
from dropout_studio.ui.inside import TITLES
from dropout_studio.ui.panels import DatasetPanel
from tests.ui.test_inside_view import _report


@dataclass
class _Result:
    history: list


class _Data:
    """Shaped like ``engine.data.Dataset``: ``train`` training samples of 64 features."""

    def __init__(self, train: int) -> None:
        self.x_train = np.zeros((train, 64), dtype="float32")
        self.y_train = np.arange(train) % 10
        self.x_val = np.zeros((359, 64), dtype="float32")
        self.x_test = np.zeros((359, 64), dtype="float32")
        self.class_names = [str(k) for k in range(10)]

    def summary(self) -> str:
        return f"train {len(self.x_train)}"


def _fill_experiments(window) -> None:
    for arm in ("dropout", "no dropout"):
        history = [{"val_loss": 2 / (e + 1)} for e in range(150)]
        window.compare_view.add_run(arm, 0, _Result(history))
    window.sweep_view.finish(
        [
            {"rate": r, "train_size": None, "val_loss": 0.3 + r, "test_loss": 0.4}
            for r in (0.0, 0.3, 0.6)
        ]
    )


def test_a_new_project_resets_sweep_compare_and_inside(make_window, qtbot):
    window = make_window()
    _fill_experiments(window)
    window.inside_view.show_report(_report(np.random.default_rng(1).random((64, 32, 32))))
    assert window.compare_view.plot.getPlotItem().legend.isVisible()
    assert "layer 3" in window.inside_view.corr_panel.toolTip()

    window.files.new_project()
    qtbot.waitUntil(lambda: window.compare_view.status.text() == COMPARE_INTRO)
    assert window.sweep_view.status.text() == SWEEP_INTRO
    for view in (window.compare_view, window.sweep_view):
        item = view.plot.getPlotItem()
        assert not item.legend.items
        assert not item.legend.isVisible()  # no empty box above the chart
        assert not [i for i in item.items if hasattr(i, "setData")]
        assert view.table.rowCount() == 0
    (x0, x1), _ = window.compare_view.plot.getViewBox().viewRange()
    assert x1 < 20  # not the old run's 150 epochs
    (x0, x1), _ = window.sweep_view.plot.getViewBox().viewRange()
    assert x0 < 0.05
    assert x1 > 0.95
    inside = window.inside_view
    assert inside.report is None
    titles = (inside.mc_panel, inside.map_panel, inside.corr_panel, inside.feature_panel)
    assert [p.title.text() for p in titles] == list(TITLES.values())
    assert "layer 3" not in inside.corr_panel.toolTip()
    assert inside.mc_plot.getAxis("bottom")._tickLevels == [[], []]  # no old class names


def _panel(qtbot, train_size):
    project = load_preset("small-data")
    project = replace(project, dataset=replace(project.dataset, train_size=train_size))
    document = ProjectDocument(project)
    panel = DatasetPanel(document, lambda new, _text: document.set_project(new))
    qtbot.addWidget(panel)
    return document, panel


def test_train_size_box_follows_the_real_training_set(qtbot):
    _document, panel = _panel(qtbot, None)
    assert panel.train_all.isChecked()
    assert panel.train_size.text() == ""  # "all" of a set not loaded yet: never "2"
    panel.show_data(_Data(1079))
    assert panel.train_size.maximum() == 1079
    assert panel.train_size.value() == 1079  # "all" reads as the real count
    assert panel.train_slider.maximum() == 1079
    assert not panel.train_size.isEnabled()
    panel.show_data(_Data(500))  # another split: the box follows
    assert panel.train_size.maximum() in (500, 1079)
    assert panel.train_size.text() != "2"
    panel.show_error("no such file")  # nothing loaded again: blank, not a made-up number
    assert panel.train_all.isChecked()
    assert panel.train_size.text() == ""


def test_a_failed_load_resets_the_summary_and_the_slider(qtbot):
    document, panel = _panel(qtbot, 60)
    panel.show_data(_Data(60))
    assert panel.train_slider.maximum() > 1000
    assert panel.info.text().startswith("train 60")
    panel.show_error("no such file: data.csv")
    assert panel.info.text() == "no data loaded"
    assert panel.train_available is None
    assert panel.train_slider.maximum() == 2
    assert not panel.train_slider.isEnabled()
    assert document.project.dataset.train_size == 60  # the choice itself stays
    assert panel.train_size.value() == 60
