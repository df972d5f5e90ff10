"""Presentation mode on a 1366×768 laptop, the whole window laid out by Qt: the frame is the
screen, no side-panel page is cut sideways, and the short metric pane keeps its title whole.

Qt's platform is chosen once per process: the probe runs in a subprocess with the offscreen
platform's ``configfile`` (see ``test_window_fits``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QFontMetricsF
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    from dropout_studio.core.document import ProjectDocument
    from dropout_studio.core.project import load_preset
    from dropout_studio.ui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp())
    settings = QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(ProjectDocument(load_preset("small-data")), settings=settings,
                   autosave_folder=folder / "autosave")
    w.files.confirm_discard = lambda: True
    w.show()

    def settle():
        for _ in range(8):
            app.processEvents()

    settle()
    w.demos.presentation_action.trigger(); settle()
    w.loss_plot.set_history([{"epoch": e, "loss": 1 / (e + 1), "val_loss": 1.2 / (e + 1),
                              "accuracy": 0.5, "val_accuracy": 0.5} for e in range(30)])
    settle()
    pages = []
    tabs = w.side_tabs
    for i in range(tabs.count()):
        tabs.setCurrentIndex(i); settle()
        area = tabs.widget(i)
        view = area.widget()
        pages.append({"tab": tabs.tabText(i), "min": view.minimumSizeHint().width(),
                      "viewport": area.viewport().width()})
    metric = w.loss_plot.metric_plot
    left = metric.getAxis("left")
    title = metric.getPlotItem().titleLabel
    label_room = metric.getViewBox().sceneBoundingRect().height()
    label_need = QFontMetricsF(left.label.font()).horizontalAdvance(left.labelText)
    out = {
        "screen": w.screen().geometry().getRect(),
        "frame": w.frameGeometry().getRect(),
        "fits": w.screen().geometry().contains(w.frameGeometry()),
        "pages": pages,
        "metric": left.labelText,
        "rotated_shown": left.label.isVisible(),
        "title_shown": title.isVisible(),
        "title": title.text,
        "label_room": label_room,
        "label_need": label_need,
        "loss_data": w.loss_plot.loss_plot.getViewBox().sceneBoundingRect().height(),
        "progress_one_line": w.progress.width() >= w.progress.fontMetrics().horizontalAdvance(
            "epoch 200/200 · batch 999 · 999 s left"),
    }
    w.demos.start_demo(0); settle()  # five side tabs, in presentation mode's font
    bar = w.side_tabs.tabBar()
    out["demo_tabs"] = [bar.width(), bar.sizeHint().width()]
    out["demo_diagram"] = list(w.diagram.size().toTuple())
    w.close()
    print("RESULT " + json.dumps(out))
    """
)


def test_presentation_mode_on_a_laptop_cuts_nothing(tmp_path):
    config = tmp_path / "screen.json"
    screen = {"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768}
    screen |= {"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(
        json.dumps(
            {"synchronousWindowSystemEvents": True, "windowFrameMargins": True, "screens": [screen]}
        )
    )
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert tuple(result["screen"][2:]) == (1366, 768)
    assert result["fits"], result
    assert tuple(result["frame"]) == (0, 0, 1366, 768)
    for page in result["pages"]:
        assert page["min"] <= page["viewport"], page  # nothing cut or scrolled sideways
    assert result["metric"] == "accuracy"
    if result["rotated_shown"]:  # the rotated axis title fits the pane's data height
        assert result["label_need"] <= result["label_room"], result
    else:  # or it stands above the data, whole
        assert result["title_shown"], result
        assert result["title"] == "accuracy"
    assert result["progress_one_line"]
    assert result["label_room"] >= 40, result  # room for a curve in both panes
    assert result["loss_data"] >= 80, result
    bar, wanted = result["demo_tabs"]
    assert bar >= wanted, result  # every side tab's title shows, no scroll arrows
    assert result["demo_diagram"][0] >= 500, result
    assert result["demo_diagram"][1] >= 300, result
