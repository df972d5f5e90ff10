"""Experiments, analysis, code export and demos, driven from the window with the real engine."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from dropout_studio.ui.demos import DEMOS
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.slow


@pytest.fixture
def window(make_window, qtbot):
    win = make_window(engine_ready=False)
    win.start_engine_loading()
    qtbot.waitUntil(lambda: win.engine_info is not None, timeout=60_000)
    win.document.set_project(tiny_project(epochs=4))
    return win


def test_compare_shows_curves_and_table(window, qtbot):
    job = window.experiments.run_compare(2, ("dropout", "no dropout"))
    with qtbot.waitSignal(job.finished, timeout=120_000):
        pass
    table = window.compare_view.table
    assert table.columnCount() == 2  # one column per arm, beside the chart
    assert set(window.compare_view.runs) == {"dropout", "no dropout"}
    assert all(len(v) == 2 for v in window.compare_view.runs.values())
    arms = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert arms == ["dropout", "no dropout"]
    assert table.verticalHeaderItem(0).text() == "seeds"
    assert table.item(0, 0).text() == "2"
    assert "±" in table.item(1, 0).text()
    assert window.train_action.isEnabled()


def test_a_stopped_compare_shows_only_finished_runs(window, qtbot):
    window.document.set_project(tiny_project(epochs=3000))
    job = window.experiments.run_compare(3, ("dropout", "no dropout"))
    qtbot.waitUntil(lambda: sum(map(len, window.compare_view.runs.values())) >= 1, timeout=120_000)
    assert job.running  # 3,000 epochs per run: far from done
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not job.running, timeout=60_000)  # set by finished
    assert job.error is None
    assert "stopped" in window.compare_view.status.text()
    assert not window.findChildren(QMessageBox)
    table = window.compare_view.table
    seeds = [int(table.item(0, c).text()) for c in range(table.columnCount())]
    assert ".:" not in window.compare_view.status.text()
    assert 1 <= sum(seeds) < 6
    for column, n in enumerate(seeds):  # no "± 0.0000" over a single seed
        assert ("±" in table.item(1, column).text()) == (n > 1) or n == 0


def test_a_stopped_sweep_shows_finished_points_without_an_error(window, qtbot):
    window.document.set_project(tiny_project(epochs=3000))
    job = window.experiments.run_sweep((0.0, 0.3, 0.5), (0,), 1, False)
    qtbot.waitUntil(lambda: len(window.sweep_view.rows) >= 1, timeout=120_000)
    assert job.running  # 3,000 epochs per run: far from done
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not job.running, timeout=60_000)  # set by finished
    assert job.error is None
    assert not window.findChildren(QMessageBox)
    assert 1 <= window.sweep_view.table.rowCount() < 3
    assert "stopped" in window.sweep_view.status.text()


def test_sweep_reports_points_as_they_finish(window, qtbot):
    job = window.experiments.run_sweep((0.0, 0.5), (0,), 1, False)
    with qtbot.waitSignal(job.finished, timeout=120_000):
        pass
    assert sorted(r["rate"] for r in window.sweep_view.rows) == [0.0, 0.5]
    assert "best rate" in window.sweep_view.status.text()


def test_analyse_and_twin(window, qtbot):
    with qtbot.waitSignal(window.training.trained, timeout=60_000):
        window.train_action.trigger()
    qtbot.waitUntil(lambda: window.inside_view.analyse.isEnabled(), timeout=10_000)
    job = window.inside.analyse_model()
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    report = window.inside_view.report
    assert report.mc_mean.shape == (2,)
    assert abs(float(report.mc_mean.sum()) - 1) < 1e-5  # probabilities
    assert report.grid is not None  # moons are 2-D: an uncertainty map
    assert report.coadaptation is not None
    # moons are points, not images: the features panel shows the first layer's weights
    assert report.features is not None
    assert report.features.shape == (16, 2)
    assert window.inside_view.feature_plot.getPlotItem().items
    table = window.inside_view.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == [
        "layer 2 (Dense 16)",
        "layer 3 (Dense 2)",
    ]
    assert "layer 2 (Dense 16)" in window.inside_view.summary.text()
    assert window.inside_view.twin.isEnabled()
    job = window.inside.train_twin()
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert job.error is None, job.error
    assert window.inside_view.report.twin_coadaptation is not None
    assert "without" in window.inside_view.summary.text()


def test_code_export_tells_where_pytorch_differs(make_window, tmp_path):
    win = make_window("lstm-sequence")
    notes = win.exports.write_code("pytorch", tmp_path / "net.py")
    assert any("no PyTorch equivalent" in n for n in notes)
    assert "class Net" in (tmp_path / "net.py").read_text()
    boxes = [b for b in win.findChildren(QMessageBox) if b.objectName() == "codeNotes"]
    assert "recurrent dropout" in boxes[-1].text()
    assert win.exports.write_code("keras", tmp_path / "k.py") == []


def test_demos_load_a_project_and_explain_the_next_step(make_window):
    win = make_window()
    for index, demo in enumerate(DEMOS):
        assert win.demos.start_demo(index)
        assert demo.title in win.demos.panel.text()
        assert "Next:" in win.demos.panel.text()
    win.demos.start_demo(1)
    rates = [layer.dropout.rate for layer in win.document.project.network.layers[1:-1]]
    assert rates == [0.85, 0.85]


def test_presentation_mode_enlarges_fonts(make_window, qapp):
    win = make_window()
    size = qapp.font().pointSizeF()
    win.demos.presentation_action.trigger()
    assert qapp.font().pointSizeF() == pytest.approx(size * 1.5)
    win.demos.presentation_action.trigger()
    assert qapp.font().pointSizeF() == pytest.approx(size)
