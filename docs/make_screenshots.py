"""Launch the app, load each preset, train briefly, and save a screenshot of the window.

Usage: ``python docs/make_screenshots.py [PRESET ...]``. Runs on a real display (e.g. under
``xvfb-run``) when DISPLAY is set, otherwise with Qt's offscreen platform. Writes
``docs/screenshots/<preset>.png``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from dropout_studio.core.document import ProjectDocument  # noqa: E402
from dropout_studio.core.project import load_preset, preset_names  # noqa: E402
from dropout_studio.ui.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).resolve().parent / "screenshots"
EPOCHS = {
    "mlp-classic": 12,
    "cnn-classic": 4,
    "lstm-sequence": 6,
    "digits-mlp": 40,
    "small-data": 2000,
}


def wait(app: QApplication, condition, timeout: float) -> None:
    end = time.time() + timeout
    while time.time() < end and not condition():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def run_job(app: QApplication, job, timeout: float) -> None:
    wait(app, lambda: job is None or not job.running, timeout)


def experiments(app: QApplication, window: MainWindow) -> None:
    """The Inside and Compare tabs on the small-data preset."""
    run_job(app, window.inside.analyse_model(), 120)
    run_job(app, window.inside.train_twin(), 300)
    wait(app, lambda: False, 1.0)
    window.centre_tabs.setCurrentWidget(window.inside_view)
    wait(app, lambda: False, 0.5)
    window.grab().save(str(OUT / "inside.png"))
    window.document.set_project(window.document.project.with_training(epochs=800))
    run_job(app, window.experiments.run_compare(3, ("dropout", "no dropout")), 600)
    wait(app, lambda: False, 1.0)
    window.grab().save(str(OUT / "compare.png"))
    print(f"{OUT / 'inside.png'}, {OUT / 'compare.png'}")


def after_new_project(app: QApplication, window: MainWindow) -> None:
    """Train → Stop → New: every tab must describe the new project, not the old run."""
    window.train_action.trigger()
    wait(app, lambda: len(window.loss_plot.rows) >= 2, 120)
    window.stop_action.trigger()
    wait(app, lambda: not window.stop_action.isEnabled(), 60)
    window.files.new_project()
    wait(app, lambda: False, 1.0)
    for tabs in (window.centre_tabs, window.side_tabs):
        for index in range(tabs.count()):
            tabs.setCurrentIndex(index)
            wait(app, lambda: False, 0.3)
            name = tabs.tabText(index).lower()
            window.grab().save(str(OUT / f"after-new-{name}.png"))
    print(f"{OUT}/after-new-*.png")


def main(names: list[str]) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    OUT.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(OUT / ".screenshot-settings.ini"), QSettings.Format.IniFormat)
    for name in names:
        project = load_preset(name)
        project = project.with_training(epochs=EPOCHS.get(name, project.training.epochs))
        window = MainWindow(
            ProjectDocument(project), settings=settings, autosave_folder=OUT / ".autosave"
        )
        window.files.confirm_discard = lambda: True
        window.resize(1600, 960)
        window.show()
        window.start_engine_loading()
        wait(app, lambda w=window: w.engine_info is not None, 120)
        window.stack_editor.select(2 if len(project.network.layers) > 2 else 1)
        window.train_action.trigger()
        wait(app, lambda w=window: w.stop_action.isEnabled(), 10)
        wait(app, lambda w=window: not w.stop_action.isEnabled(), 600)
        wait(app, lambda: False, 1.0)  # let the throttled plot and preview catch up
        path = OUT / f"{name}.png"
        window.grab().save(str(path))
        print(f"{path}: {window.statusBar().currentMessage()}")
        if name == "small-data":
            experiments(app, window)
        if name == "mlp-classic":
            after_new_project(app, window)
        window.close()
        window.runner.wait(60_000)
    settings.clear()
    (OUT / ".screenshot-settings.ini").unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1:] or preset_names())
