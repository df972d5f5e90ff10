"""Window geometry that fits the screen: first size, restored size, presentation mode.

Each tab's page sits in a scroll area, so a panel's minimum size never grows the window past
the screen (it scrolls instead); the window's own size is clamped to the screen's available
geometry whenever it is set. A page scrolls only below its *minimum* height: Qt's scroll area
would otherwise use the preferred height of any page with a word-wrapped label (a plot's
480 px), and a 300 px tab would scroll for no reason. Presentation mode shows the window full screen and restores the
geometry it had before, exactly; that geometry, never the full-screen one, is what is saved.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStatusBar,
    QTabWidget,
    QWidget,
)

# What a window manager's frame usually adds before the window is mapped (title bar, borders).
FRAME_ALLOWANCE = QSize(16, 40)
PREFERRED = QSize(1500, 900)
PROGRESS_TEXT = "epoch 200/200 · batch 999 · 999 s left"


class Page(QWidget):
    """Holds one view in a scroll area: as small as the view's minimum (wrapped labels
    counted at their width), as large as the scroll area; never the view's preferred size."""

    def __init__(self, view: QWidget) -> None:
        super().__init__()
        self.view = view
        view.setParent(self)

    def minimumSizeHint(self) -> QSize:
        hint = self.view.minimumSizeHint().expandedTo(self.view.minimumSize())
        rows: dict[int, int] = {}  # labels side by side (plot titles) need the tallest's extra
        for label in self.view.findChildren(QLabel):
            if label.wordWrap() and label.isVisibleTo(self.view) and label.width() > 0:
                top = label.mapTo(self.view, label.rect().topLeft()).y()
                more = label.heightForWidth(label.width()) - label.minimumSizeHint().height()
                rows[top] = max(rows.get(top, 0), more)
        return QSize(hint.width(), hint.height() + sum(rows.values()))

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.view.setGeometry(self.rect())
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # wrapped labels need another height at this width

    def event(self, event: Any) -> bool:
        if event.type() == event.Type.LayoutRequest:
            self.updateGeometry()
        return super().event(event)


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that fills the space it gets; it scrolls only
    where the widget's minimum size does not fit."""
    area = QScrollArea()
    area.setWidget(Page(widget))
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setObjectName(f"scroll_{type(widget).__name__}")
    return area


class PageTabs(QTabWidget):
    """Tabs whose pages scroll; ``setCurrentWidget``/``indexOf`` also take the page's view."""

    def __init__(self, *pages: tuple[QWidget, str]) -> None:
        super().__init__()
        for widget, title in pages:
            self.add_page(widget, title)

    def add_page(self, widget: QWidget, title: str, index: int = -1) -> int:
        return self.insertTab(index, scrolled(widget), title)

    def tabInserted(self, index: int) -> None:
        """A tab added later (the demo's) widens the window's side tabs so that every tab
        title shows, without scroll arrows."""
        super().tabInserted(index)
        window = self.window()
        if getattr(window, "side_tabs", None) is self and window.isVisible():
            QTimer.singleShot(0, lambda: fit_side(window))

    def indexOf(self, widget: QWidget) -> int:  # type: ignore[override]
        for i in range(self.count()):
            page = self.widget(i)
            if page is widget or (isinstance(page, QScrollArea) and _view(page) is widget):
                return i
        return -1

    def setCurrentWidget(self, widget: QWidget) -> None:  # type: ignore[override]
        index = self.indexOf(widget)
        if index >= 0:
            self.setCurrentIndex(index)

    def view(self, index: int) -> QWidget | None:
        """The view shown by tab ``index`` (inside its scroll area)."""
        page = self.widget(index)
        return _view(page) if isinstance(page, QScrollArea) else page

    def page_room(self) -> QSize:
        """The size a page has: the tab widget less its tab bar and frame."""
        page = self.currentWidget()
        return page.size() if page is not None else QSize()


def _view(area: QScrollArea) -> QWidget | None:
    page = area.widget()
    return page.view if isinstance(page, Page) else page


def side_minimum(tabs: QTabWidget) -> int:
    """The width the side tabs need so that no page scrolls sideways (or the tab bar's)."""
    widest = 0
    for i in range(tabs.count()):
        area = tabs.widget(i)
        page = area.widget() if isinstance(area, QScrollArea) else area
        if page is None:
            continue
        extra = 0
        if isinstance(area, QScrollArea):
            extra = area.verticalScrollBar().sizeHint().width() + 2 * area.frameWidth()
        widest = max(widest, page.minimumSizeHint().width() + extra)
    widest = max(widest, tabs.tabBar().sizeHint().width())
    return widest + 2 * tabs.style().pixelMetric(tabs.style().PixelMetric.PM_DefaultFrameWidth)


def share_space(window: Any) -> None:
    """Initial splitter sizes from the window's size: the diagram gets the most, the side tabs
    at least what their pages need (so no form scrolls sideways)."""
    width, height = window.width(), max(400, window.height() - 110)
    side = max(0.22, min(0.4, (side_minimum(window.side_tabs) + 4) / max(1, width)))
    left = 0.0 if window.left_splitter.isHidden() else 0.24
    share(window.splitter, (0, 1, 0), (left, 0, side), width)
    # 58 % for the diagram, but on a short screen the plots keep about 330 px
    diagram = max(0.5, min(0.58, 1 - 330 / height))
    share(window.centre_splitter, (3, 2), (diagram, 0), height)
    share(window.left_splitter, (1, 1), (0.42, 0), height)


def fit_side(window: Any) -> None:
    """Widen the side tabs (taking from the centre) when their pages need more width, as
    after presentation mode's larger font."""
    sizes = window.splitter.sizes()
    need = side_minimum(window.side_tabs) + 4
    if len(sizes) == 3 and sizes[2] < need:
        grow = min(need - sizes[2], max(0, sizes[1] - 520))
        window.splitter.setSizes([sizes[0], sizes[1] - grow, sizes[2] + grow])


def share(
    splitter: QSplitter, stretch: tuple[int, ...], fractions: tuple[float, ...], extent: int
) -> None:
    """Stretch factors, and initial sizes as fractions of ``extent`` px (a fraction of ``0``
    takes the rest)."""
    for index, factor in enumerate(stretch):
        splitter.setStretchFactor(index, factor)
    sizes = [int(extent * f) for f in fractions]
    if 0 in sizes:
        rest = sizes.index(0)
        sizes[rest] = max(1, extent - sum(sizes))
    splitter.setSizes(sizes)


def available(window: QWidget) -> QRect:
    """The available geometry (without panels and docks) of the window's screen."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 768)


def frame_extra(window: QWidget) -> QSize:
    """What the frame adds to the window's size: measured once shown, else an allowance."""
    if window.isVisible():
        frame, inner = window.frameGeometry(), window.geometry()
        if frame.size() != inner.size():
            return frame.size() - inner.size()
    return FRAME_ALLOWANCE


def first_size(window: QWidget) -> QSize:
    """The size of a first launch: the preferred size or 85 % of a large screen, never more
    than the screen holds."""
    room = available(window).size() - frame_extra(window)
    wanted = QSize(
        max(PREFERRED.width(), int(room.width() * 0.85)),
        max(PREFERRED.height(), int(room.height() * 0.85)),
    )
    return wanted.boundedTo(room)


def fit_to_screen(window: QWidget) -> None:
    """Shrink and move a normal (not maximized or full-screen) window until its frame lies
    inside the screen's available geometry."""
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return
    room = available(window)
    extra = frame_extra(window)
    size = window.size().boundedTo(room.size() - extra)
    if size != window.size():
        window.resize(size)
    frame = QRect(window.frameGeometry().topLeft(), size + extra)
    x = min(max(frame.x(), room.left()), room.right() + 1 - frame.width())
    y = min(max(frame.y(), room.top()), room.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


class Presentation:
    """Full screen for a class or a talk, and back to the exact geometry from before."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.saved: QByteArray | None = None
        self.normal = QRect()
        self.maximized = False

    @property
    def on(self) -> bool:
        return self.saved is not None

    def set(self, on: bool) -> None:
        if on == self.on:
            return
        window = self.window
        if on:
            self.saved = window.saveGeometry()
            self.normal = window.normalGeometry() if window.isMaximized() else window.geometry()
            self.maximized = window.isMaximized()
            window.showFullScreen()
            screen = window.screen().geometry()
            if window.geometry() != screen:
                window.setGeometry(screen)  # without a window manager nobody else does it
            return
        self.saved = None
        # restoreGeometry() may nudge a window whose frame touches the top edge; setGeometry
        # puts it back where it was, to the pixel.
        if self.maximized:
            window.showMaximized()
        else:
            window.showNormal()
            window.setGeometry(self.normal)
            fit_to_screen(window)

    def geometry_to_save(self) -> QByteArray:
        """What to persist: never the full-screen geometry."""
        return self.saved if self.saved is not None else self.window.saveGeometry()


class _ElidedLabel(QLabel):
    """One line, cut with "…" to the room it has; the whole text is its tooltip."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(20)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )
        painter.drawText(self.contentsRect(), Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()


class MessageBar(QStatusBar):
    """A status bar whose temporary messages sit in their own stretching label, elided before
    the permanent widgets (engine, progress): a long message never runs into them."""

    def __init__(self) -> None:
        super().__init__()
        self.message = _ElidedLabel()
        self.addWidget(self.message, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)
        self._text = ""

    def addPermanentWidget(self, widget: QWidget, stretch: int | None = 0) -> None:
        """Permanent widgets keep their preferred width; a progress bar is as wide as its
        longest text ("epoch 200/200 · batch 999 · 999 s left"), on one line."""
        self._fit_permanent(widget)
        super().addPermanentWidget(widget, stretch or 0)

    @staticmethod
    def _fit_permanent(widget: QWidget) -> None:
        if isinstance(widget, QProgressBar):
            widget.setFixedWidth(widget.fontMetrics().horizontalAdvance(PROGRESS_TEXT) + 24)
        else:
            widget.setMinimumWidth(min(widget.maximumWidth(), max(widget.sizeHint().width(), 160)))

    def changeEvent(self, event: QEvent) -> None:
        """A projector's font: the progress bar grows with its text."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            for bar in self.findChildren(QProgressBar):
                self._fit_permanent(bar)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # type: ignore[override]
        self._text = text
        self.message.setText(text)
        self.message.setToolTip(text)
        self._timer.stop()
        if timeout > 0:
            self._timer.start(timeout)
        self.messageChanged.emit(text)

    def clearMessage(self) -> None:  # type: ignore[override]
        self.showMessage("")

    def currentMessage(self) -> str:  # type: ignore[override]
        return self._text


class CalmProgressBar(QProgressBar):
    """The status bar's progress bar, painted at most 10 times a second.

    ``QProgressBar.setValue`` repaints at once, and Fusion animates a busy bar at 60 fps: with
    an epoch ending every 2 ms (small data) that repainting, with the status bar behind it,
    was a third of the GUI thread's time. ``value()`` and ``format()`` answer the latest
    setting at once; the bar on screen follows within ``FRAME_MS``.
    """

    FRAME_MS = 100

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value: int | None = None
        self._format: str | None = None
        self._painted_at = 0.0
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(self.FRAME_MS)
        self._flush.timeout.connect(self.apply)

    def setValue(self, value: int) -> None:  # type: ignore[override]
        self._value = value
        self._later()

    def value(self) -> int:  # type: ignore[override]
        return super().value() if self._value is None else self._value

    def setFormat(self, text: str) -> None:  # type: ignore[override]
        self._format = text
        self._later()

    def format(self) -> str:  # type: ignore[override]
        return super().format() if self._format is None else self._format

    def setRange(self, minimum: int, maximum: int) -> None:  # type: ignore[override]
        self.apply()  # what was set belongs to the old range
        super().setRange(minimum, maximum)  # busy on or off: shown at once

    def apply(self) -> None:
        """Paint what was set since the last frame."""
        self._flush.stop()
        value, self._value = self._value, None
        text, self._format = self._format, None
        if value is None and text is None:
            return
        # setValue repaints at once and setFormat later: held, both are one (deferred) paint
        self.setUpdatesEnabled(False)
        try:
            if value is not None:
                super().setValue(value)
            if text is not None:
                super().setFormat(text)
        finally:
            self.setUpdatesEnabled(True)  # schedules the repaint

    def _later(self) -> None:
        if not self._flush.isActive():
            self._flush.start()

    def event(self, event: QEvent) -> bool:
        """The busy bar's animation frames, thinned to ``FRAME_MS`` apart."""
        if event.type() == QEvent.Type.StyleAnimationUpdate:
            now = time.monotonic()
            if now - self._painted_at < self.FRAME_MS / 1000:
                return True
            self._painted_at = now
        return super().event(event)
