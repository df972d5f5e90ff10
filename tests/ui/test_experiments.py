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
    with qtbot.waitSignal(window.experiments.finished, timeout=120_000):
        window.run_compare(2, ("dropout", "no dropout"))
    qtbot.waitUntil(lambda: window.compare_view.table.rowCount() == 2)
    assert set(window.compare_view.runs) == {"dropout", "no dropout"}
    assert all(len(v) == 2 for v in window.compare_view.runs.values())
    table = window.compare_view.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["dropout", "no dropout"]
    assert "±" in table.item(0, 1).text()
    assert window.train_action.isEnabled()


def test_sweep_reports_points_as_they_finish(window, qtbot):
    with qtbot.waitSignal(window.experiments.finished, timeout=120_000):
        window.run_sweep((0.0, 0.5), (0,), 1, False)
    qtbot.waitUntil(lambda: "best rate" in window.sweep_view.status.text())
    assert sorted(r["rate"] for r in window.sweep_view.rows) == [0.0, 0.5]
    assert "best rate" in window.sweep_view.status.text()


def test_analyse_and_twin(window, qtbot):
    with qtbot.waitSignal(window.controller.evaluated, timeout=60_000):
        window.train()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert window.last_data is not None
    window.analyse_model()
    qtbot.waitUntil(lambda: window.inside_view.report is not None, timeout=60_000)
    report = window.inside_view.report
    assert report.mc_mean.shape == (2,)
    assert report.grid is not None  # moons are 2-D: an uncertainty map
    assert report.coadaptation is not None
    errors = []
    window.experiments.failed.connect(lambda message, details: errors.append(details))
    with qtbot.waitSignal(window.experiments.finished, timeout=60_000):
        window.train_twin()
    assert not errors, errors
    # The window's slot runs after qtbot's blocker, which connected first.
    qtbot.waitUntil(lambda: window.inside_view.report.twin_coadaptation is not None)
    assert "without" in window.inside_view.summary.text()


def test_code_export_tells_where_pytorch_differs(make_window, tmp_path):
    win = make_window("lstm-sequence")
    notes = win.write_code("pytorch", tmp_path / "net.py")
    assert any("no PyTorch equivalent" in n for n in notes)
    assert "class Net" in (tmp_path / "net.py").read_text()
    boxes = [b for b in win.findChildren(QMessageBox) if b.objectName() == "codeNotes"]
    assert "recurrent dropout" in boxes[-1].text()
    assert win.write_code("keras", tmp_path / "k.py") == []


def test_demos_load_a_project_and_explain_the_next_step(make_window):
    win = make_window()
    for index, demo in enumerate(DEMOS):
        win.start_demo(index)
        assert demo.title in win.demo_panel.text()
        assert "Next:" in win.demo_panel.text()
    win.start_demo(1)
    rates = [layer.dropout.rate for layer in win.document.project.network.layers[1:-1]]
    assert rates == [0.85, 0.85]


def test_presentation_mode_enlarges_fonts(make_window, qapp):
    win = make_window()
    size = qapp.font().pointSizeF()
    win.presentation_action.trigger()
    assert qapp.font().pointSizeF() == pytest.approx(size * 1.5)
    win.presentation_action.trigger()
    assert qapp.font().pointSizeF() == pytest.approx(size)
