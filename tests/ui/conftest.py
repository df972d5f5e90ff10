"""UI fixtures: a window over a preset with an injectable trainer, and no job left running."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import load_preset
from dropout_studio.ui.jobs import RUNNERS
from dropout_studio.ui.main_window import MainWindow

ENGINE_INFO = {"keras": "test", "tensorflow": "test", "devices": ["cpu"]}


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test(qapp):
    """Like napari's conftest: a test that leaves a job running in any job pool fails."""
    yield
    busy = []
    for runner in list(RUNNERS):
        runner.stop_all()
        if not runner.wait(20_000):
            busy.append(runner)
    assert not busy, "a job outlived its test"


def ready(window: MainWindow) -> None:
    """Pretend TensorFlow has loaded (tests with a fake trainer need no engine)."""
    window.state.engine_info = ENGINE_INFO
    window.state.set(engine="ready")
    window.training.on_engine_ready()


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows = []

    def make(preset: str = "mlp-classic", trainer=None, engine_ready: bool = True) -> MainWindow:
        settings = QSettings(
            str(tmp_path / f"settings{len(windows)}.ini"), QSettings.Format.IniFormat
        )
        window = MainWindow(
            ProjectDocument(load_preset(preset)),
            trainer,
            settings,
            autosave_folder=tmp_path / "autosave",
        )
        window.files.confirm_discard = lambda: True  # no modal questions in tests
        window.files.confirm_stop = lambda what: True
        qtbot.addWidget(window)
        window.show()
        if engine_ready:
            ready(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.runner.stop_all()
        window.runner.wait(20_000)
