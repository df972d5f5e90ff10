"""Failures shown as a short human message, details expandable and copyable, and logged."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger("dropout_studio")


def log_file() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    folder = Path(base or Path.home() / ".dropout-studio") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "dropout-studio.log"


def setup_logging() -> Path:
    path = log_file()
    if not any(isinstance(h, logging.FileHandler) for h in log.handlers):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return path


def error_box(parent: QWidget | None, message: str, details: str = "") -> QMessageBox:
    """A non-modal message box; the caller shows it (tests inspect it without blocking)."""
    log.error("%s\n%s", message, details)
    box = QMessageBox(
        QMessageBox.Icon.Warning, "Dropout Studio", message, QMessageBox.StandardButton.Ok, parent
    )
    if details:
        box.setDetailedText(details)
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()
        copy.clicked.connect(lambda: QApplication.clipboard().setText(f"{message}\n\n{details}"))
    box.setObjectName("errorBox")
    return box
