"""The Keras backend setting (TensorFlow or JAX), kept in QSettings and applied at the next start.

Keras reads ``KERAS_BACKEND`` once per process, when it is first imported, so a change cannot
take effect in a running window: the menu says so, and :func:`apply_backend_setting` sets the
variable at start-up, before the engine job imports Keras. A ``KERAS_BACKEND`` already in the
environment wins over the setting (the menu shows it and explains why it is locked).
"""

from __future__ import annotations

import importlib.util
import os

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

KEY = "kerasBackend"
BACKENDS = {"tensorflow": "TensorFlow", "jax": "JAX"}
_applied: list[str] = []  # the backend apply_backend_setting put into the environment


def stored_backend(settings: QSettings) -> str:
    value = str(settings.value(KEY, "tensorflow"))
    return value if value in BACKENDS else "tensorflow"


def available(backend: str) -> bool:
    """Whether the backend's package is installed (found, not imported: this is cheap)."""
    return importlib.util.find_spec(backend) is not None


def apply_backend_setting(settings: QSettings) -> str:
    """Set ``KERAS_BACKEND`` from the setting unless the environment already chose; returns the
    backend this process will use. Call before anything imports Keras."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    backend = stored_backend(settings)
    if backend != "tensorflow" and available(backend):
        os.environ["KERAS_BACKEND"] = backend
        _applied.append(backend)
        return backend
    return "tensorflow"


class BackendSetting(QObject):
    """Run ▸ Keras Backend: one checkable action per backend."""

    def __init__(self, settings: QSettings, parent: QWidget) -> None:
        super().__init__(parent)
        self.settings = settings
        self.menu = QMenu("Keras &Backend", parent)
        self.group = QActionGroup(self)
        self.note = QAction("", self)
        self.note.setEnabled(False)
        in_env = os.environ.get("KERAS_BACKEND")
        self.running = in_env or "tensorflow"
        forced = None if in_env in _applied else in_env
        self.actions: dict[str, QAction] = {}
        for backend, label in BACKENDS.items():
            action = QAction(label, self, checkable=True)
            action.setData(backend)
            installed = available(backend)
            action.setEnabled(installed and not forced)
            if not installed:
                action.setText(f'{label} (not installed: pip install "dropout-studio[{backend}]")')
            self.group.addAction(action)
            self.menu.addAction(action)
            self.actions[backend] = action
        self.menu.addSeparator()
        self.menu.addAction(self.note)
        checked = forced if forced in self.actions else stored_backend(settings)
        self.actions[checked].setChecked(True)
        self.group.triggered.connect(self._on_chosen)
        self._show_note(forced)

    def _on_chosen(self, action: QAction) -> None:
        self.settings.setValue(KEY, action.data())
        self._show_note(None)

    def _show_note(self, forced: str | None) -> None:
        if forced:
            text = f"Set to {forced} by KERAS_BACKEND in the environment"
        elif stored_backend(self.settings) != self.running:
            text = "Applies at the next start (Keras picks its backend once per process)"
        else:
            text = f"In use: {BACKENDS.get(self.running, self.running)}"
        self.note.setText(text)
