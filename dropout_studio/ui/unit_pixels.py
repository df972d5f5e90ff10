"""The diagram's pixels: unit colours, the grid image of a layer, and the circles' sprites."""

from __future__ import annotations

import functools
import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

from dropout_studio.ui.diagram_marks import LayerMarks

KEPT = QColor("#1f77b4")
DROPPED = QColor("#8c8c8c")
CHANNEL = QColor("#e6750a")
NOISE = QColor("#7b4fb8")


def _rgba(colour: QColor, alpha: float = 1.0) -> np.uint32:
    """One RGBA8888 pixel as a uint32 (memory order R, G, B, A on any endianness)."""
    rgba = [colour.red(), colour.green(), colour.blue(), round(255 * alpha)]
    return np.array(rgba, dtype=np.uint8).view(np.uint32)[0]


def _alpha_of(colour: QColor, alpha: np.ndarray) -> np.ndarray:
    """``colour`` at each of the ``alpha`` values (0…1), as RGBA8888 uint32 pixels."""
    pixels = np.empty((len(alpha), 4), dtype=np.uint8)
    pixels[:] = [colour.red(), colour.green(), colour.blue(), 0]
    pixels[:, 3] = np.round(255 * np.clip(alpha, 0.0, 1.0)).astype(np.uint8)
    return pixels.view(np.uint32).reshape(-1)


def to_qcolor(pixel: np.uint32) -> QColor:
    r, g, b, a = np.array([pixel], dtype=np.uint32).view(np.uint8).tolist()
    return QColor(r, g, b, a)


@functools.lru_cache(maxsize=1024)
def _circle_style(outline: int, inside: int) -> tuple[QPen, QBrush]:
    """Made once per colour pair: ~60 new pens and brushes at every mask update were a third
    of its GUI time, and a frame's circles have few colours."""
    return QPen(to_qcolor(np.uint32(outline)), 1.5), QBrush(to_qcolor(np.uint32(inside)))


def draw_circle(
    painter: QPainter, centre: QPointF, radius: float, outline: int, inside: int, dropped: bool
) -> None:
    """A unit as a circle: ``outline`` and ``inside`` are RGBA8888 pixels; dropped: crossed."""
    pen, brush = _circle_style(outline, inside)
    painter.setPen(pen)
    painter.setBrush(brush)
    painter.drawEllipse(centre, radius, radius)
    if dropped:
        d, x, y = radius * 0.6, centre.x(), centre.y()
        painter.drawLine(QLineF(x - d, y - d, x + d, y + d))
        painter.drawLine(QLineF(x - d, y + d, x + d, y - d))


@functools.lru_cache(maxsize=256)
def circle_sprite(outline: int, inside: int, dropped: bool, radius: float, scale: float) -> QImage:
    """:func:`draw_circle` rendered once at ``scale`` device pixels per unit, for the screen.

    Blitting it is cheaper than antialiasing an ellipse and its cross at every repaint, and
    one call instead of three to five: each call from Python into Qt also hands the GIL over,
    and a training's thread then takes it in the middle of the diagram's frame."""
    side = math.ceil(2 * (radius + 2) * scale)
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    middle = side / scale / 2
    draw_circle(painter, QPointF(middle, middle), radius, outline, inside, dropped)
    painter.end()
    return image


def _cell_pattern(cell: int) -> np.ndarray:
    """0 = gap, 1 = outline, 2 = inside, 3 = the slash that crosses a dropped unit out."""
    pattern = np.zeros((cell, cell), dtype=np.uint8)
    size = cell - 1 if cell >= 3 else cell
    pattern[:size, :size] = 1 if size >= 4 else 2
    if size >= 4:
        pattern[1 : size - 1, 1 : size - 1] = 2
        if size >= 6:
            for k in range(1, size - 1):
                pattern[size - 1 - k, k] = 3
    return pattern


def unit_colours(marks: LayerMarks, base: QColor, small: bool = False) -> np.ndarray:
    """(inside, outline, slash) pixels per unit, shape (3, n): kept filled, dropped hollow and
    crossed out. ``small`` marks have no room for an outline: a dropped one is a pale fill."""
    n = marks.count
    if marks.noise is not None:
        # Shade = multiplier: 0 (palest) … 2 or more (full colour).
        shade = _alpha_of(NOISE, (40 + 215 * np.clip(marks.noise / 2.0, 0.0, 1.0)) / 255)
        return np.stack([shade, shade, shade])
    keep = marks.keep
    colours = np.full((3, n), _rgba(KEPT), dtype=np.uint32)
    partial = (keep > 0.5) & (keep < 0.999)
    if partial.any():
        colours[:, partial] = _alpha_of(KEPT, np.clip(keep[partial], 0.15, 1.0))
    dropped = keep < 0.5
    colour = CHANNEL if marks.style == "spatial" else DROPPED
    colours[0, dropped] = _rgba(colour, 0.3) if small else _rgba(base)
    colours[1:, dropped] = _rgba(colour)
    return colours


_LOOKUPS: dict[tuple[int, int, int], np.ndarray] = {}


def _lookup(n: int, columns: int, cell: int) -> np.ndarray:
    """For each pixel of the grid image, its index into the flattened (4, n + 1) colour table.

    Depends only on the geometry, so it is computed once per layout, not per update.
    """
    key = (n, columns, cell)
    if key not in _LOOKUPS:
        rows = max(1, math.ceil(n / columns))
        flat = np.full(rows * columns, n)  # n = the empty (transparent) slot
        flat[:n] = np.arange(n)
        slots = flat.reshape(rows, columns)
        pattern = _cell_pattern(cell)
        table = np.array([3, 1, 0, 2])[pattern]  # which colour table each pixel of a cell reads
        index = table[None, :, None, :] * (n + 1) + slots[:, None, :, None]
        if len(_LOOKUPS) > 64:
            _LOOKUPS.clear()
        _LOOKUPS[key] = np.ascontiguousarray(index.reshape(rows * cell, columns * cell))
    return _LOOKUPS[key]


def grid_image(marks: LayerMarks, columns: int, cell: int, base: QColor) -> QImage:
    """Every unit as one cell of a ``columns``-wide grid, row by row."""
    n = marks.count
    small = not (_cell_pattern(cell) == 1).any()
    table = np.zeros((4, n + 1), dtype=np.uint32)  # row 3 and column n stay transparent
    table[:3, :n] = unit_colours(marks, base, small)
    pixels = table.reshape(-1)[_lookup(n, columns, cell)]
    height, width = pixels.shape
    image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_RGBA8888)
    # Converting copies the pixels (the numpy buffer is freed on return) into the format the
    # raster engine blits without converting at every repaint.
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
