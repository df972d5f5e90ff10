"""UI fixtures: a window over a preset with an injectable training runner, no leaked threads."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QSettings

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import load_preset
from dropout_studio.ui.controller import TrainingController
from dropout_studio.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _no_leaked_worker_threads():
    """Like napari's conftest: a test that leaves a training thread running fails."""
    yield
    leaked = [t for t in threading.enumerate() if t.name == "training" and t.is_alive()]
    for thread in leaked:
        thread.join(10)
    assert not [t for t in leaked if t.is_alive()], "a training thread outlived its test"


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows = []

    def make(preset: str = "mlp-classic", runner=None, engine_ready: bool = True) -> MainWindow:
        settings = QSettings(
            str(tmp_path / f"settings{len(windows)}.ini"), QSettings.Format.IniFormat
        )
        window = MainWindow(
            ProjectDocument(load_preset(preset)),
            TrainingController(runner),
            settings,
            autosave_file=tmp_path / "autosave.json",
        )
        window.confirm_discard = lambda: True  # no modal questions in tests
        qtbot.addWidget(window)
        window.show()
        if engine_ready:
            window.engine_info = {"keras": "test", "tensorflow": "test", "devices": ["cpu"]}
            window._update_train_enabled()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.controller.stop()
        window.controller.wait(10)
        window.background.wait(10)
