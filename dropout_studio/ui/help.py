"""Help ▸ User Guide (the shipped guide, rendered) and Help ▸ Keyboard Shortcuts.

The guide ships once, as package data (``resources/user-guide.md``); ``docs/user-guide.md``
in a source checkout is a link to it. Its pictures point into ``docs/``, which an installed
package lacks: those are left out of the rendered page rather than drawn as broken images.
The shortcut list is generated from the window's actions, so it cannot drift from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QAction, QImage, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

GUIDE = "user-guide.md"
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def guide_path() -> Path:
    return Path(str(resources.files("dropout_studio.resources") / GUIDE))


def guide_markdown() -> str:
    """The guide's text, with pictures that are not installed left out."""
    path = guide_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"# User guide\n\nThe guide could not be read from {path} ({exc})."

    def keep(match: re.Match[str]) -> str:
        return match.group(0) if (path.parent / match.group(2)).exists() else ""

    return _IMAGE.sub(keep, text)


def _ordinary(keys: QKeySequence) -> bool:
    """False for media keys ("Redo", "Back"), which X11 adds to some standard shortcuts."""
    first = keys[0]  # type: ignore[index]
    return bool(first.key().value < Qt.Key.Key_Back.value)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(keys, what) for every action with a shortcut, in menu order, each action once."""
    rows: list[tuple[str, str]] = []
    seen: set[int] = set()
    for action in actions:
        if id(action) in seen or not action.shortcuts():
            continue
        seen.add(id(action))
        keys = ", ".join(
            dict.fromkeys(
                k.toString(QKeySequence.SequenceFormat.NativeText)
                for k in action.shortcuts()
                if k.count() and _ordinary(k)
            )
        )
        if not keys:
            continue
        rows.append((keys, action.text().replace("&", "").rstrip("…").strip()))
    return rows


def button_rows(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what) for every button of the window with a shortcut (the stack's buttons)."""
    rows = []
    for button in window.findChildren(QAbstractButton):
        key = button.shortcut()
        if not key.isEmpty():
            what = (button.text().replace("&", "") or button.toolTip()).strip()
            rows.append((key.toString(QKeySequence.SequenceFormat.NativeText), what))
    return rows


def menu_actions(window: QWidget) -> list[QAction]:
    """Every action of the menu bar's menus (sub-menus included), then the window's own."""
    found: list[QAction] = []

    def visit(actions: Iterable[QAction]) -> None:
        for action in actions:
            menu = action.menu()
            if menu is not None:
                visit(menu.actions())  # type: ignore[attr-defined]
            elif not action.isSeparator():
                found.append(action)

    menu_bar = getattr(window, "menuBar", None)
    if callable(menu_bar):
        visit(menu_bar().actions())
    visit(window.actions())
    return found


def fit_images(browser: QTextBrowser, width: int) -> None:
    """Scale the guide's screenshots down to ``width`` px (they are full-window captures)."""
    cursor = QTextCursor(browser.document())
    block = browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            image = fragment.charFormat().toImageFormat()
            if image.isValid():
                url = browser.document().baseUrl().resolved(QUrl(image.name()))
                picture = QImage(url.toLocalFile())
                if picture.width() > width:
                    image.setWidth(width)
                    image.setHeight(picture.height() * width / picture.width())
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(
                        fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor
                    )
                    cursor.setCharFormat(image)
            it += 1
        block = block.next()


class HelpWindow(QDialog):
    """A non-modal reader for the guide or the shortcut list."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.document().setDocumentMargin(14)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        screen = self.screen().availableGeometry()
        self.resize(min(820, int(screen.width() * 0.8)), min(900, int(screen.height() * 0.85)))


class HelpController(QObject):
    """Help ▸ User Guide (F1), Keyboard Shortcuts and About."""

    def __init__(self, window: QWidget, engine_info: Callable[[], dict[str, Any] | None]) -> None:
        super().__init__(window)
        self.window, self.engine_info = window, engine_info
        self.guide_action = QAction("User &Guide", window)
        self.guide_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.guide_action.triggered.connect(lambda _=False: self.show_guide())
        self.shortcuts_action = QAction("&Keyboard Shortcuts", window)
        self.shortcuts_action.triggered.connect(lambda _=False: self.show_shortcuts())
        self.about_action = QAction("&About Dropout Studio", window)
        self.about_action.triggered.connect(lambda _=False: self.about())
        self.actions = (self.guide_action, self.shortcuts_action, self.about_action)
        self.guide: HelpWindow | None = None
        self.shortcuts: HelpWindow | None = None

    def show_guide(self) -> HelpWindow:
        if self.guide is None:
            self.guide = HelpWindow("Dropout Studio user guide", self.window)
            self.guide.browser.document().setBaseUrl(QUrl.fromLocalFile(str(guide_path())))
            self.guide.browser.setMarkdown(guide_markdown())
            fit_images(self.guide.browser, 640)
        self.guide.show()
        self.guide.raise_()
        return self.guide

    def show_shortcuts(self) -> HelpWindow:
        if self.shortcuts is None:
            self.shortcuts = HelpWindow("Keyboard shortcuts", self.window)
        rows = "".join(
            f"<tr><td><b>{escape(keys)}</b>&nbsp;&nbsp;</td><td>{escape(what)}</td></tr>"
            for keys, what in shortcut_rows(menu_actions(self.window)) + button_rows(self.window)
        )
        self.shortcuts.browser.setHtml(
            f"<h3>Keyboard shortcuts</h3><table cellpadding='3'>{rows}</table>"
        )
        self.shortcuts.show()
        self.shortcuts.raise_()
        return self.shortcuts

    def about(self) -> None:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        from dropout_studio import __version__

        info = self.engine_info() or {}
        QMessageBox.about(
            self.window,
            "About Dropout Studio",
            f"<b>Dropout Studio {__version__}</b><br>See which units dropout drops, and what "
            f"that does to the loss.<br><br>TensorFlow {info.get('tensorflow', 'not loaded')}"
            f"<br>Keras {info.get('keras', 'not loaded')}<br>Qt {qVersion()} (PySide6 "
            f"{pyside_version})",
        )
