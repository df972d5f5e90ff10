"""Start the desktop app: the window first, TensorFlow in the background."""

from __future__ import annotations

import sys
from pathlib import Path

# PySide6 before pyqtgraph, so pyqtgraph binds to it.
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import ProjectError, load_preset, load_project
from dropout_studio.ui.errors import setup_logging


def run_app(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Dropout Studio")
    app.setOrganizationName("Dropout Studio")
    setup_logging()
    from dropout_studio.ui.main_window import MainWindow

    document = ProjectDocument(load_preset("mlp-classic"))
    problem = None
    if len(argv) > 1 and argv[1].endswith(".json"):
        try:
            document = ProjectDocument(load_project(argv[1]), Path(argv[1]))
        except ProjectError as exc:
            problem = str(exc)
    window = MainWindow(document)
    window.show()
    QTimer.singleShot(0, window.recover_autosave)
    QTimer.singleShot(0, window.start_engine_loading)  # after the first paint
    if problem:
        from dropout_studio.ui.errors import error_box

        error_box(window, problem).show()
    return app.exec()
