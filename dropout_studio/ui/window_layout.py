"""Window geometry that fits the screen: first size, restored size, presentation mode.

Each tab's page sits in a scroll area, so a panel's minimum size never grows the window past
the screen (it scrolls instead); the window's own size is clamped to the screen's available
geometry whenever it is set. Presentation mode shows the window full screen and restores the
geometry it had before, exactly; that geometry, never the full-screen one, is what is saved.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QMainWindow, QScrollArea, QSplitter, QTabWidget, QWidget

# What a window manager's frame usually adds before the window is mapped (title bar, borders).
FRAME_ALLOWANCE = QSize(16, 40)
PREFERRED = QSize(1500, 900)


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that fills the space it gets."""
    area = QScrollArea()
    area.setWidget(widget)
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

    def indexOf(self, widget: QWidget) -> int:  # type: ignore[override]
        for i in range(self.count()):
            page = self.widget(i)
            if page is widget or (isinstance(page, QScrollArea) and page.widget() is widget):
                return i
        return -1

    def setCurrentWidget(self, widget: QWidget) -> None:  # type: ignore[override]
        index = self.indexOf(widget)
        if index >= 0:
            self.setCurrentIndex(index)

    def view(self, index: int) -> QWidget | None:
        """The view shown by tab ``index`` (inside its scroll area)."""
        page = self.widget(index)
        return page.widget() if isinstance(page, QScrollArea) else page


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
