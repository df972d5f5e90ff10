"""The window's frame fits the screen in every mode, on a laptop and a full-HD screen.

Qt's platform is chosen once per process, so each screen size runs in a subprocess with the
offscreen platform's ``configfile`` (its default screen is 800×800).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import Qt

PROBE = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path
    from PySide6.QtCore import QRect, QSettings
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv)
    from dropout_studio.core.document import ProjectDocument
    from dropout_studio.core.project import load_preset
    from dropout_studio.ui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp())
    settings = QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)

    def window():
        w = MainWindow(ProjectDocument(load_preset("mlp-classic")), settings=settings,
                       autosave_folder=folder / "autosave")
        w.files.confirm_discard = lambda: True
        w.show()
        settle()
        return w

    def settle():
        for _ in range(5):
            app.processEvents()

    def largest(w):
        def visible_area(widget):
            rect = widget.visibleRegion().boundingRect()
            return rect.width() * rect.height()
        leaves = [c for c in w.findChildren(QWidget) if c.isVisible() and not c.isWindow()
                  and not c.inherits("QSplitter") and not c.inherits("QStackedWidget")
                  and not c.inherits("QTabWidget") and not c.inherits("QScrollArea")
                  and c.parent() is not None and not c.parent().inherits("QScrollArea")
                  and c.objectName() != "qt_scrollarea_viewport"]
        leaves = [c for c in leaves if c is not w.centralWidget()]
        return type(max(leaves, key=visible_area)).__name__

    def record(w, mode):
        screen = w.screen().availableGeometry()
        frame = w.frameGeometry()
        return {"mode": mode, "screen": screen.getRect(), "frame": frame.getRect(),
                "fits": screen.contains(frame), "geometry": w.geometry().getRect(),
                "diagram": list(w.diagram.size().toTuple()), "largest": largest(w)}

    out = []
    w = window()
    out.append(record(w, "normal"))
    w.demos.presentation_action.trigger(); settle()
    out.append(record(w, "presentation"))
    w.demos.presentation_action.trigger(); settle()
    out.append(record(w, "presentation off"))
    w.demos.start_demo(0); settle()
    out.append(record(w, "demo"))
    w.demos.presentation_action.trigger(); settle()
    out.append(record(w, "demo presentation"))
    w.close(); settle()  # closed in presentation mode: its geometry must not be saved
    w2 = window()
    out.append(record(w2, "restart"))
    w2.resize(2600, 1700)  # as if saved on a larger monitor
    big = w2.saveGeometry()
    w2.close(); settle()
    settings.setValue("geometry", big)
    w3 = window()
    out.append(record(w3, "restored from a larger screen"))
    w3.close()
    print("RESULT " + json.dumps(out))
    """
)


def run_probe(tmp_path, width: int, height: int) -> list[dict]:
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "synchronousWindowSystemEvents": True,
                "windowFrameMargins": True,
                "screens": [
                    {
                        "name": f"screen{width}",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ],
            }
        )
    )
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0, done.stderr[-3000:]
    assert lines, done.stdout[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_the_window_fits_the_screen_in_every_mode(tmp_path, width, height):
    records = run_probe(tmp_path, width, height)
    modes = {r["mode"]: r for r in records}
    for record in records:
        assert tuple(record["screen"][2:]) == (width, height)
        assert record["fits"], record
        assert record["diagram"][0] >= 500, record
        assert record["diagram"][1] >= 300, record
    for mode in ("normal", "presentation off", "demo", "restart"):
        assert modes[mode]["largest"] == "NetworkDiagram", modes[mode]
    # full screen in presentation mode, and back to the very same geometry afterwards
    assert tuple(modes["presentation"]["frame"]) == (0, 0, width, height)
    assert modes["presentation off"]["geometry"] == modes["normal"]["geometry"]
    # closed in presentation mode: the restarted window has the normal geometry, not the screen
    assert modes["restart"]["geometry"] == modes["normal"]["geometry"]


def test_restored_window_state_brings_back_no_demo_panel(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QDockWidget, QMainWindow

    from dropout_studio.core.document import ProjectDocument
    from dropout_studio.core.project import load_preset
    from dropout_studio.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    # a state saved by the old window, whose demo panel was a bottom dock
    old = QMainWindow()
    dock = QDockWidget("Demo", old)
    dock.setObjectName("demoDock")
    old.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    settings.setValue("state", old.saveState())

    def window() -> MainWindow:
        w = MainWindow(
            ProjectDocument(load_preset("mlp-classic")),
            settings=settings,
            autosave_folder=tmp_path / "autosave",
        )
        w.files.confirm_discard = lambda: True
        qtbot.addWidget(w)
        w.show()
        return w

    first = window()
    assert not [d for d in first.findChildren(QDockWidget) if d.isVisible()]
    assert first.demos.start_demo(0)
    assert first.demos.showing
    first.close()
    second = window()
    assert not second.demos.showing  # a demo's panel is never restored, and never empty
    assert not [d for d in second.findChildren(QDockWidget) if d.isVisible()]
    assert second.diagram.height() >= 300
