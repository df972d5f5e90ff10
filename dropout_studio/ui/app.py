"""Start the desktop app: the window first, TensorFlow in the background."""

from __future__ import annotations

import sys
from pathlib import Path

# PySide6 before pyqtgraph, so pyqtgraph binds to it.
from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import ProjectError, load_preset, load_project
from dropout_studio.ui.errors import setup_logging


def run_app(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    app.setApplicationName("Dropout Studio")
    app.setOrganizationName("Dropout Studio")
    app.setDesktopFileName("io.github.dropoutstudio.DropoutStudio")
    app.setWindowIcon(app_icon())
    setup_logging()
    from PySide6.QtCore import QSettings

    from dropout_studio.ui.backend_setting import apply_backend_setting
    from dropout_studio.ui.main_window import MainWindow

    apply_backend_setting(QSettings("Dropout Studio", "Dropout Studio"))  # before Keras loads
    document = ProjectDocument(load_preset("mlp-classic"))
    problem = None
    if len(argv) > 1 and argv[1].endswith(".json"):
        try:
            document = ProjectDocument(load_project(argv[1]), Path(argv[1]))
        except ProjectError as exc:
            problem = str(exc)
    window = MainWindow(document)
    if document.path is None and problem is None:
        window.start.offer()  # the first launch without a project: the start page
    window.show()
    QTimer.singleShot(0, window.recover_autosave)
    QTimer.singleShot(0, window.start_engine_loading)  # after the first paint
    if problem:
        from dropout_studio.ui.errors import error_box

        error_box(window, problem).show()
    return app.exec()


def app_icon() -> QIcon:
    """The application icon: the SVG, with the PNG sizes for small renderings."""
    from importlib import resources

    icons = resources.files("dropout_studio.resources") / "icons"
    icon = QIcon(str(icons / "dropout-studio.svg"))
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        icon.addFile(str(icons / f"dropout-studio-{size}.png"))
    return icon


def self_test(timeout: float = 300.0) -> int:
    """Open the window offscreen, load the engine, train one short epoch, exit 0 on success.

    Used after building the desktop bundle to prove it runs without a Python beside it.
    """
    import os
    import tempfile
    import time
    from dataclasses import replace

    from PySide6.QtCore import QEventLoop, QSettings

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setWindowIcon(app_icon())
    from dropout_studio.ui.main_window import MainWindow

    project = load_preset("mlp-classic").with_training(epochs=1)
    project = replace(project, dataset=project.dataset.with_options(samples=200))
    folder = Path(tempfile.mkdtemp(prefix="dropout-studio-selftest-"))
    window = MainWindow(
        ProjectDocument(project),
        settings=QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat),
        autosave_folder=folder / "autosave",
    )
    window.files.confirm_discard = lambda: True  # type: ignore[method-assign]
    window.show()
    failures: list[str] = []
    outcomes: list[object] = []
    window.engine.failed.connect(lambda message, details: failures.append(message))
    window.runner.started.connect(
        lambda job: job.errored.connect(lambda message, details: failures.append(message))
    )
    window.training.trained.connect(outcomes.append)
    window.start_engine_loading()
    end = time.time() + timeout

    def spin(condition: object) -> None:
        while time.time() < end and not failures and not condition():  # type: ignore[operator]
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    spin(lambda: window.engine_info is not None)
    if window.engine_info is not None:
        window.train()
        spin(lambda: bool(outcomes) and window.runner.current is None)
    result = window.training.last.result if window.training.last else None
    window.close()
    window.runner.wait(30_000)
    if failures or result is None or result.status != "finished":
        sys.stdout.write(
            f"self-test FAILED: {failures or (result.status if result else 'timed out')}\n"
        )
        return 1
    sys.stdout.write(
        f"self-test passed: window, engine {window.engine_info}, one epoch trained "
        f"(val_loss {result.history[-1]['val_loss']:.4f})\n"
    )
    return 0
