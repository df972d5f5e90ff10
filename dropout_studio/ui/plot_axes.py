"""Plot axes, legends and labels that stay legible: no SI prefixes, log ticks that never
collide, a caption that never re-lays its plot.

pyqtgraph labels every minor tick of a log axis spanning less than a decade or two (0.9, 0.8,
0.7 … on top of each other) and rescales small values with SI prefixes ("(x0.001)"), which turns
fractions and losses into puzzles. Any plot of the app can use these instead.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem, QLabel

PANE_MARGINS = 10  # a pyqtgraph plot's height beyond its data and bottom axis
TITLE_ROW = 30  # pyqtgraph's fixed title row (PlotItem.setTitle)

# Mantissas to label, from crowded to roomy; the first whose closest pair fits is used.
LABEL_SETS = ((1,), (1, 3), (1, 2, 5), (1, 2, 3, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9))


class ReadableAxis(pg.AxisItem):
    """An axis without SI prefixes whose log mode labels only ticks that have room."""

    def __init__(self, orientation: str, whole: bool = False, **kwargs: Any) -> None:
        """``whole``: only whole-number ticks (epochs: never 1.5)."""
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self._labels: set[float] = set()
        self._single: float | None = None  # the spacing that means "one tick" (_one_tick)
        self.whole = whole

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> Any:
        """pyqtgraph's spacings, less the levels whose labels would touch (a short pane with a
        projector's font), and never below 1 on a whole-number axis."""
        levels = super().tickSpacing(minVal, maxVal, size)
        if self.logMode or not levels or maxVal <= minVal:
            return levels
        per_unit = size / (maxVal - minVal)
        room = self._text_room() * 1.3
        kept = [(s, o) for s, o in levels if s * per_unit >= room and (s >= 1 or not self.whole)]
        if not kept:  # wider spacing with a whole label inside, else one round tick
            margin = room / 1.3 / 2 / per_unit
            spacing = levels[0][0]
            while spacing * per_unit < room or (self.whole and spacing < 1):
                spacing = _rounder(spacing)
            inside = math.ceil((minVal + margin) / spacing) * spacing <= maxVal - margin
            finest = min(s for s, _ in levels)
            kept = [(spacing, 0)] if inside else [self._one_tick(minVal, maxVal, margin, finest)]
        return kept

    def _one_tick(self, low: float, high: float, margin: float, step: float) -> tuple[float, float]:
        """The roundest value inside [low + margin, high − margin] (the middle if none is),
        as a level whose spacing is wider than the range: exactly one tick."""
        inner_low, inner_high = low + margin, high - margin
        value = (low + high) / 2
        step = max(step, 1.0) if self.whole else step
        for _ in range(40):
            first = math.ceil(inner_low / step) * step
            if first > inner_high:
                break
            value = min(
                (first + k * step for k in range(int((inner_high - first) / step) + 1)),
                key=lambda v: abs(v - (low + high) / 2),
            )
            step = _rounder(step)
        self._single = 2 * (high - low) + 1
        return (self._single, value)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        """The one tick of a short pane reads as its round value ("0.6", never "1")."""
        if spacing is not None and spacing == self._single and not self.logMode:
            return [f"{round(v * scale, 9):g}" for v in values]
        return super().tickStrings(values, scale, spacing)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> Any:
        values = super().tickValues(minVal, maxVal, size)
        if self.whole and not self.logMode:
            values = [(s, [v for v in vs if abs(v - round(v)) < 1e-9]) for s, vs in values]
        return values

    def _text_room(self) -> float:
        font = self.style.get("tickFont") or QFont()
        metrics = QFontMetricsF(font)
        if self.orientation in ("left", "right"):
            return metrics.height() + 4
        return metrics.horizontalAdvance("0.0005") + 8

    def logTickValues(self, minVal: float, maxVal: float, size: float, stdTicks: Any) -> Any:
        """Labelled ticks at the mantissas that fit; the other 2…9 ticks drawn unlabelled."""
        span = max(maxVal - minVal, 1e-9)
        per_decade = size / span  # pixels per decade
        room = self._text_room()
        labelled: tuple[int, ...] = ()
        step = max(1, math.ceil(room / max(per_decade, 1e-9)))
        for mantissas in LABEL_SETS:
            logs = [math.log10(m) for m in (*mantissas, 10)]
            gap = min(b - a for a, b in itertools.pairwise(logs))
            if gap * per_decade >= room:
                labelled, step = mantissas, 1
        major, minor = [], []
        for decade in range(math.floor(minVal), math.ceil(maxVal) + 1):
            for m in range(1, 10):
                value = decade + math.log10(m)
                if not minVal <= value <= maxVal:
                    continue
                if m in labelled or (m == 1 and decade % step == 0):
                    major.append(value)
                elif per_decade >= 30 or m == 1:
                    minor.append(value)
        if not major:  # a range inside one gap between mantissas: plain linear ticks
            major = self._linear_in_log(minVal, maxVal, size, room)
        self._labels = {round(v, 9) for v in major}
        return [(None, major), (None, minor)]

    @staticmethod
    def _linear_in_log(low: float, high: float, size: float, room: float) -> list[float]:
        """Evenly spaced plain values (…, 0.52, 0.54, …), labels at least 2 × ``room`` px apart."""
        lo, hi = 10.0**low, 10.0**high
        per_log = size / max(high - low, 1e-12)
        exponent = math.floor(math.log10(max(hi - lo, 1e-300)))
        for k in range(exponent - 2, exponent + 2):
            for m in (1, 2, 5):
                spacing = m * 10.0**k
                if per_log * math.log10(hi / max(hi - spacing, 1e-300)) >= 2 * room:
                    first = math.ceil(lo / spacing) * spacing
                    count = int((hi - first) / spacing + 1e-9) + 1
                    return [math.log10(first + i * spacing) for i in range(max(count, 0))]
        return [low]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        labels: set[float] = getattr(self, "_labels", set())
        return [f"{10.0**v:.6g}" if round(v, 9) in labels else "" for v in values]


def _rounder(step: float) -> float:
    """The next step of 1, 2, 5, 10, 20, …"""
    mantissa = round(step / 10.0 ** math.floor(math.log10(step)), 6)
    return step * (2.5 if mantissa == 2 else 2)


def readable_plot(
    widget: type[pg.PlotWidget] = pg.PlotWidget, whole_x: bool = False, **kwargs: Any
) -> pg.PlotWidget:
    """A PlotWidget (or ``widget`` subclass) whose left and bottom axes are ReadableAxis;
    ``whole_x``: whole-number ticks on the x axis (epochs)."""
    axes = {"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom", whole=whole_x)}
    return widget(axisItems=axes, **kwargs)


def legend_above(plot: pg.PlotWidget, base: QColor, text: QColor, columns: int = 3) -> Any:
    """An opaque legend in the plot's title row, above the data: it can never cover a curve.

    Curves added later with ``name=`` join it (pyqtgraph reads ``PlotItem.legend``); call
    :func:`fit_legend_row` after adding or removing entries.
    """
    item = plot.getPlotItem()
    legend = pg.LegendItem(
        colCount=columns,
        brush=pg.mkBrush(base),
        pen=pg.mkPen(QColor(0, 0, 0, 40)),
        labelTextColor=text,
        horSpacing=14,
    )
    item.layout.removeItem(item.titleLabel)
    item.titleLabel.setVisible(False)
    item.layout.addItem(legend, 0, 1)
    item.legend = legend
    # its frame was repainted with every live frame of the curves (a third of the repaint)
    legend.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return legend


def fit_legend_row(plot: pg.PlotWidget) -> None:
    """Lay the legend's entries out afresh in as many columns (3, 2 or 1) as the plot's width
    holds, and give its row the height they need (the title row is 0 px otherwise).

    Afresh: pyqtgraph keeps the cell of an entry that left, so entries toggled off and on left
    holes and took a second row. Fewer columns: earlier runs' long names made the legend, and
    with it the plot, wider than its pane (the right end of the run was cut off)."""
    item = plot.getPlotItem()
    legend = item.legend
    room = plot.width() - item.getAxis("left").width() - 16
    for columns in (3, 2, 1):
        legend.columnCount = 0  # setColumnCount re-lays the entries only for another count
        legend.setColumnCount(columns)
        needs = legend.layout.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        if room <= 0 or needs <= room:  # not laid out yet: the widest first
            break
    height = legend.layout.preferredHeight() + 4 if legend.items else 0
    item.layout.setRowFixedHeight(0, height)
    legend.setVisible(bool(legend.items))  # no empty box where a legend was
    item.setGeometry(QRectF(plot.range))  # as wide as the view again once the legend shrank


def dot_a_lone_point(curves: list[pg.PlotDataItem], points: int) -> None:
    """A curve of one point draws nothing (a line needs two, as after a 1-epoch run): it
    gets a dot in its own colour until it has more."""
    symbol = "o" if points == 1 else None
    for curve in curves:
        if curve.opts["symbol"] != symbol:
            colour = pg.mkPen(curve.opts["pen"]).color()
            curve.setSymbol(symbol)
            curve.setSymbolBrush(colour)
            curve.setSymbolPen(colour)
            curve.setSymbolSize(6)


def fit_axis_title(plot: pg.PlotWidget, name: str, font: QFont) -> None:
    """The left axis titled ``name``; a pane too short for the rotated title (a projector's
    font on a laptop) shows it as one horizontal line above the data instead: never cut."""
    left, bottom = plot.getAxis("left"), plot.getAxis("bottom")
    title = QFontMetricsF(left.label.font())
    ticks = QFontMetricsF(bottom.style.get("tickFont") or font)
    axis = bottom.height() or ticks.height() + QFontMetricsF(bottom.label.font()).height()
    # the data's height without a title row: as laid out, else estimated
    box = plot.getViewBox()
    titled = plot.getPlotItem().titleLabel.isVisible()
    room = box.height() + (TITLE_ROW if titled else 0)
    if box.height() <= 0:
        room = plot.height() - axis - PANE_MARGINS
    plot.setLabel("left", name)
    if title.horizontalAdvance(name) + 2 <= room:
        plot.setTitle(None)
        return
    left.showLabel(False)
    size = left.label.font().pointSizeF()
    plot.setTitle(name, size=f"{size:g}pt", justify="left")


def held_range(
    values: np.ndarray, held: tuple[float, float] | None, settling: bool, floor: bool
) -> tuple[float, float] | None:
    """A live y axis: the new (bottom, top) for ``values``, or None to keep ``held``.

    The axis moves only when a curve leaves it, or when the curves fill under 40 % of it (not
    while ``settling``, early in a run): each move re-lays the axis. ``floor``: a loss or an
    accuracy never goes below 0 (not on a log axis)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    span = max(high - low, abs(high) * 0.1, 1e-9)
    if held is not None and held[0] <= low and high <= held[1]:
        if span >= 0.4 * (held[1] - held[0]) or settling:
            return None
        held = None  # the curves shrank to a sliver of the axis: fit them snugly
    # Room to grow where the curves are heading (a falling loss), but little below 0:
    # only the gap goes negative, and it should not squeeze the losses.
    below = 0.5 if held is not None and low < held[0] and low >= 0 else 0.1
    above = 0.5 if held is not None and high > held[1] else 0.05
    bottom, top = low - below * span, high + above * span
    if low >= 0 and floor:
        bottom = max(bottom, 0.0)
    return bottom, top


def reset_view(plot: pg.PlotWidget, x: tuple[float, float], y: tuple[float, float]) -> None:
    """An emptied plot shows ``x`` × ``y``, not the last data's range (pyqtgraph keeps it when
    nothing is left to fit); the next data is auto-ranged again."""
    plot.getPlotItem().getViewBox().setRange(xRange=x, yRange=y, padding=0.02)
    plot.enableAutoRange()


class SteadyLabel(QLabel):
    """A label sized for the texts it usually shows (``template``), in its font. A label sized
    by its text asked the layout around it to re-lay at every new text: beside a live plot,
    once an epoch, with both plot panes repainted each time."""

    def __init__(self, template: str) -> None:
        super().__init__("")
        self.template = template
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._fit()

    def _needs(self, text: str) -> QSize:
        """What ``text`` needs in this font and style (a fixed size inflates ``sizeHint``)."""
        probe = QLabel(text)
        probe.setFont(self.font())
        probe.setStyle(self.style())
        return probe.sizeHint()

    def _fit(self) -> None:
        # a fixed-size widget's new text re-lays nothing; a longer text shown stays whole
        self.setFixedSize(self._needs(self.template).expandedTo(self._needs(self.text())))

    def setText(self, text: str) -> None:  # type: ignore[override]
        """A longer text than the template (a diverging run's loss) widens the label until it
        is emptied (the next run) or its font changes; those fit it to the template again."""
        super().setText(text)
        if not text or self.fontMetrics().horizontalAdvance(text) > self.contentsRect().width():
            self._fit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()
