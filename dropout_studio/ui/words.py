"""Small pieces of wording shared by the views: counts with the right plural, and messages with
a standard Qt icon (emoji such as ⛔ render as an empty box with many common fonts)."""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QVBoxLayout, QWidget

Severity = Literal["error", "warning", "info"]
ICONS = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
}


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 run', '2 runs', '0 runs' (``plural`` for nouns that do not just take an s)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def severity_icon(widget: QWidget, severity: Severity) -> QIcon:
    return widget.style().standardIcon(ICONS[severity])


class IconMessage(QWidget):
    """A line of text with the style's error, warning or information icon in front of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.severity: Severity | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.icon)
        row.addWidget(self.label, 1)
        self.set_message("", None)

    def set_message(self, text: str, severity: Severity | None = "error") -> None:
        """Show ``text`` with the icon of ``severity``; no severity shows the text alone."""
        self.severity = severity
        self.label.setText(text)
        if severity is None:
            self.icon.clear()
            self.icon.setVisible(False)
        else:
            size = self.label.fontMetrics().height()
            self.icon.setPixmap(severity_icon(self, severity).pixmap(size, size))
            self.icon.setVisible(True)

    def text(self) -> str:
        return self.label.text()


class OutdatedNote(IconMessage):
    """Shown over the results of a model trained before the stack or dataset was edited: they
    still describe that model (Analyse analyses it), not the stack the diagram now shows."""

    TEXT = (
        "The stack or dataset has changed since this model was trained: these results are the "
        "trained model's. Train again to see the current one."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setVisible(False)

    def set_outdated(self, outdated: bool) -> None:
        self.set_message(self.TEXT if outdated else "", "warning" if outdated else None)
        self.setVisible(outdated)


class MessageList(QWidget):
    """Several icon messages, one per problem (the stack editor's errors and warnings)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[IconMessage] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def set_messages(self, messages: list[tuple[Severity, str]]) -> None:
        while len(self.rows) < len(messages):
            row = IconMessage(self)
            self._layout.addWidget(row)
            self.rows.append(row)
        for row, (severity, text) in zip(self.rows, messages):
            row.set_message(text, severity)
            row.setVisible(True)
        for row in self.rows[len(messages) :]:
            row.setVisible(False)

    def texts(self) -> list[str]:
        return [row.text() for row in self.rows if not row.isHidden()]

    def text(self) -> str:
        """All messages, one a line (as a single label would hold them)."""
        return "\n".join(self.texts())
