"""The diagram's drawn items: one item per layer, one for all connections, and the legend.

A layer is ONE ``QGraphicsItem`` whatever its width: its first units are painted as circles and
every unit as a cell of a grid image built with numpy. Restyling one item per unit cost 25 ms
for 3,072 units; rebuilding three grid images costs well under a millisecond.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QToolTip, QWidget

from dropout_studio.ui.diagram_marks import LayerMarks
from dropout_studio.ui.unit_pixels import (
    CHANNEL,
    DROPPED,
    KEPT,
    NOISE,
    circle_sprite,
    draw_circle,
    grid_image,
    unit_colours,
)


class LayerItem(QGraphicsItem):
    """One layer: its first units as circles (wired to the neighbours), then all as a grid."""

    def __init__(self, marks: LayerMarks, base: QColor) -> None:
        super().__init__()
        self.marks, self.base = marks, base
        self.centres: list[QPointF] = []
        self.radius = 6.0
        self.grid_rect = QRectF()
        self.columns, self.cell = 1, 0
        self.image = QImage()
        self.more = 0
        self._bounds = QRectF()
        self._styles: list[tuple[int, int, bool]] = []  # outline, inside, dropped
        self.setAcceptHoverEvents(True)

    def place(
        self, centres: list[QPointF], radius: float, grid: QRectF, columns: int, cell: int
    ) -> None:
        """Geometry from the diagram's layout; ``cell == 0`` means no grid (all are circles)."""
        self.prepareGeometryChange()
        self.centres, self.radius = centres, radius
        self.grid_rect, self.columns, self.cell = grid, max(1, columns), cell
        rect, r = QRectF(grid), radius + 2
        for c in centres:
            rect = rect.united(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))
        if centres and cell:
            rect = rect.united(QRectF(centres[-1].x() - 4, centres[-1].y(), 8, 5 * r))
        self._bounds = rect
        self.image = QImage()
        self.set_marks(self.marks)

    def set_marks(self, marks: LayerMarks) -> None:
        unchanged = (
            marks.style == "plain" == self.marks.style
            and marks.count == self.marks.count
            and (self.cell == 0 or not self.image.isNull())
            and len(self._styles) == len(self.centres)
        )
        self.marks = marks
        if unchanged:  # a layer without dropout: its all-kept units are already drawn
            return
        # The circles' colours (RGBA8888 pixels), found here so that paint() only draws.
        inside, outline, _ = unit_colours(_head(marks, len(self.centres)), self.base)
        self._styles = [
            (int(outline[k]), int(inside[k]), marks.noise is None and marks.keep[k] < 0.5)
            for k in range(len(self.centres))
        ]
        shown = self.marks.count
        if self.cell:
            capacity = self.columns * max(1, int(self.grid_rect.height() // self.cell))
            shown = min(shown, capacity)
            self.more = self.marks.count - shown
            view = marks if shown == marks.count else _head(marks, shown)
            self.image = grid_image(view, self.columns, self.cell, self.base)
        self.update()

    # QGraphicsItem ------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.radius
        # On screen, sprites; rendered into an exported PNG or SVG, vector circles.
        scale = painter.worldTransform().m11() * widget.devicePixelRatioF() if widget else 0.0
        for c, (outline, inside, dropped) in zip(self.centres, self._styles):
            if scale > 0:
                sprite = circle_sprite(outline, inside, dropped, r, round(scale, 3))
                side = sprite.width() / scale
                painter.drawImage(QRectF(c.x() - side / 2, c.y() - side / 2, side, side), sprite)
            else:
                draw_circle(painter, c, r, outline, inside, dropped)
        if self.centres and self.cell:  # "more below": three dots between circles and grid
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(DROPPED))
            last = self.centres[-1]
            for k in range(3):
                painter.drawEllipse(QPointF(last.x(), last.y() + r + 5 + 5 * k), 1.4, 1.4)
        if self.cell:
            painter.drawImage(self.grid_rect.topLeft(), self.image)

    # hover ----------------------------------------------------------------------------------
    def unit_at(self, pos: QPointF) -> int | None:
        """The unit drawn at ``pos`` (item coordinates): a circle or a grid cell."""
        for k, c in enumerate(self.centres):
            if (pos.x() - c.x()) ** 2 + (pos.y() - c.y()) ** 2 <= (self.radius + 2) ** 2:
                return k
        if self.cell and self.grid_rect.contains(pos):
            col = int((pos.x() - self.grid_rect.left()) // self.cell)
            row = int((pos.y() - self.grid_rect.top()) // self.cell)
            unit = row * self.columns + col
            if col < self.columns and unit < self.marks.count - self.more:
                return unit
        return None

    def tooltip_at(self, pos: QPointF) -> str:
        unit = self.unit_at(pos)
        return "" if unit is None else self.marks.tooltip(unit)

    def hoverMoveEvent(self, event: Any) -> None:
        text = self.tooltip_at(event.pos())
        if text != self.toolTip():
            self.setToolTip(text)
            if QToolTip.isVisible():
                QToolTip.showText(event.screenPos(), text)
        super().hoverMoveEvent(event)


def _head(marks: LayerMarks, n: int) -> LayerMarks:
    """The first ``n`` units of ``marks`` (cheap views, for circles and capped grids)."""
    noise = None if marks.noise is None else marks.noise[:n]
    return LayerMarks(
        marks.index,
        marks.name,
        marks.title,
        marks.shape_text,
        marks.noun,
        marks.keep[:n],
        marks.freq[:n],
        noise,
        marks.style,
    )


class ConnectionsItem(QGraphicsItem):
    """Every connection between the circles of neighbouring layers, faded where a unit dropped.

    The lines are made once per layout; an update only picks the alive ones. Every line is
    also drawn faded by a child item whose pixels Qt caches, so a repaint redraws only the
    alive quarter (antialiasing hundreds of lines cost ~1.5 ms a repaint).
    """

    ALIVE = QPen(QColor(120, 120, 120, 80), 1)
    FADED = QPen(QColor(120, 120, 120, 14), 1)

    def __init__(self) -> None:
        super().__init__()
        self.columns: list[LayerItem] = []
        self.rect = QRectF()
        self._pairs: list[tuple[list[QLineF], np.ndarray, np.ndarray]] = []
        self._alive: list[QLineF] = []
        self._web = _FadedWeb(self)
        self.setZValue(-1)

    def set_columns(self, columns: list[LayerItem]) -> None:
        self.prepareGeometryChange()
        self.columns = columns
        rect = QRectF()
        for item in columns:
            for c in item.centres:
                rect = rect.united(QRectF(c.x() - 1, c.y() - 1, 2, 2))
        self.rect = rect
        self._pairs = []
        for left, right in itertools.pairwise(columns):
            a, b = np.meshgrid(np.arange(len(left.centres)), np.arange(len(right.centres)))
            lines = [
                QLineF(pa.x() + left.radius, pa.y(), pb.x() - right.radius, pb.y())
                for pa, pb in zip(
                    (left.centres[i] for i in a.ravel()), (right.centres[j] for j in b.ravel())
                )
            ]
            self._pairs.append((lines, a.ravel(), b.ravel()))
        self._web.set_lines([line for lines, _, _ in self._pairs for line in lines], rect)
        self.restyle()

    def restyle(self) -> None:
        """Sort the lines by the units' latest masks: faded when either end was dropped."""
        self._alive = []
        for (lines, a, b), (left, right) in zip(self._pairs, itertools.pairwise(self.columns)):
            on = np.minimum(left.marks.keep[a], right.marks.keep[b]) >= 0.5
            self._alive.extend(itertools.compress(lines, on.tolist()))
        self.update()

    def boundingRect(self) -> QRectF:
        return self.rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self.ALIVE)
        painter.drawLines(self._alive)


class _FadedWeb(QGraphicsItem):
    """All connections, faded; drawn once per layout and then served from Qt's pixel cache."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.lines: list[QLineF] = []
        self.rect = QRectF()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)

    def set_lines(self, lines: list[QLineF], rect: QRectF) -> None:
        self.prepareGeometryChange()
        self.lines, self.rect = lines, rect.adjusted(-1, -1, 1, 1)
        self.update()

    def boundingRect(self) -> QRectF:
        return self.rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(ConnectionsItem.FADED)
        painter.drawLines(self.lines)


LEGEND = (("kept", "kept"), ("dropped", "dropped"), ("noise", "noise (Gaussian dropout)"))
LEGEND_CHANNEL = ("channel", "dropped channel (spatial)")


class LegendItem(QGraphicsItem):
    """Swatches for kept, dropped, noise and dropped channel, wrapped to the width it is given."""

    def __init__(self, font: QFont, text: QColor, base: QColor, width: float) -> None:
        super().__init__()
        self.font, self.text, self.base = font, text, base
        metrics = QFontMetricsF(font)
        self.swatch = max(10.0, metrics.height() * 0.8)
        self.line = metrics.height() + 4
        self.entries: list[tuple[str, str, QPointF]] = []
        x, y = 0.0, 0.0
        for key, label in (*LEGEND, LEGEND_CHANNEL):
            w = self.swatch + 5 + metrics.horizontalAdvance(label) + 16
            if x > 0 and x + w > width:
                x, y = 0.0, y + self.line
            self.entries.append((key, label, QPointF(x, y)))
            x += w
        self.size = QRectF(0, 0, width, y + self.line)

    def boundingRect(self) -> QRectF:
        return self.size

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self.font)
        s = self.swatch
        for key, label, at in self.entries:
            box = QRectF(at.x(), at.y() + (self.line - s) / 2, s, s)
            self._swatch(painter, key, box)
            painter.setPen(self.text)
            text_rect = QRectF(at.x() + s + 5, at.y(), 1000, self.line)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, label)

    def _swatch(self, painter: QPainter, key: str, box: QRectF) -> None:
        if key == "noise":
            third = box.width() / 3
            for k, alpha in enumerate((0.3, 0.6, 1.0)):
                shade = QColor(NOISE)
                shade.setAlphaF(alpha)
                painter.fillRect(QRectF(box.x() + k * third, box.y(), third, box.height()), shade)
            return
        if key == "kept":
            painter.setPen(QPen(KEPT, 1.5))
            painter.setBrush(QBrush(KEPT))
            painter.drawEllipse(box.adjusted(1, 1, -1, -1))
            return
        colour = CHANNEL if key == "channel" else DROPPED
        painter.setPen(QPen(colour, 1.5))
        painter.setBrush(QBrush(self.base))
        inner = box.adjusted(1, 1, -1, -1)
        if key == "channel":
            painter.drawRect(inner)
        else:
            painter.drawEllipse(inner)
        d = inner.adjusted(2, 2, -2, -2)
        painter.drawLine(d.topLeft(), d.bottomRight())
        painter.drawLine(d.bottomLeft(), d.topRight())
