"""Undo: the one undoable edit (:class:`EditCommand`), and undo/redo keys that reach the
project from inside a property field.

A line edit or spin box takes Ctrl+Z / Ctrl+Shift+Z for its own undo even when it has nothing
to undo (its text was just set from the project), so the window's Undo never fired while the
cursor sat in a field. This filter lets the key through to the window's actions whenever the
field itself has nothing to undo or redo.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QUndoCommand
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QWidget

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import Project


class EditCommand(QUndoCommand):
    """One undoable edit: swaps whole immutable projects."""

    def __init__(
        self, document: ProjectDocument, before: Project, after: Project, text: str
    ) -> None:
        super().__init__(text)
        self.document, self.before, self.after = document, before, after

    def redo(self) -> None:
        self.document.set_project(self.after)

    def undo(self) -> None:
        self.document.set_project(self.before)


def unique_shortcuts(*keys: QKeySequence | str) -> list[QKeySequence]:
    """Each key once: binding the same sequence twice makes Qt call it ambiguous."""
    out: list[QKeySequence] = []
    for key in keys:
        sequence = QKeySequence(key)
        if not sequence.isEmpty() and sequence not in out:
            out.append(sequence)
    return out


def _line_edit(widget: QObject) -> QLineEdit | None:
    if isinstance(widget, QLineEdit):
        return widget
    if isinstance(widget, QAbstractSpinBox):
        return widget.findChild(QLineEdit)
    return None


class ProjectUndoKeys(QObject):
    """Ctrl+Z in a field of ``window`` undoes the field's own edit while it has one, and the
    project's edit otherwise.

    It filters only the focused field's events (installed on each field as it takes the
    focus): a filter on the whole application ran Python for every event of the window,
    and while a training thread held the GIL each of those waited for it (the window's
    longest stalls during tracing)."""

    def __init__(self, window: QWidget, undo: QAction, redo: QAction) -> None:
        super().__init__(window)
        self.window, self.undo, self.redo = window, undo, redo
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._watch)

    def _watch(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and _line_edit(new) is not None and self.window.isAncestorOf(new):
            new.removeEventFilter(self)  # once, however often it takes the focus
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        edit = _line_edit(watched)
        if (
            edit is None
            or not isinstance(watched, QWidget)
            or not self.window.isAncestorOf(watched)
        ):
            return False
        combo = QKeySequence(event.keyCombination())
        if combo in self.undo.shortcuts():
            local = edit.isUndoAvailable()
        elif combo in self.redo.shortcuts():
            local = edit.isRedoAvailable()
        else:
            return False
        # Consumed without being accepted: Qt then runs the window's shortcut instead.
        return not local
