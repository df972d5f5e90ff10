"""The network diagram: layers as columns of units, dropped units from the engine's masks.

Every mask drawn comes from a ``masks_recorded`` event (the recording layers' variables), never
from a random number drawn here. Every unit of a layer (every channel of a convolution) is drawn:
the first ones as circles wired to the neighbouring layers, all of them as a grid of small marks
below. Dropped units differ by shape and fill, not only colour: kept units are filled, dropped
units hollow and crossed out (orange squares for a dropped channel), Gaussian noise is a shade.

The scene is laid out in the view's own pixels at every resize instead of being scaled to fit,
so labels keep their point size (at least 9 pt; 14 pt in presentation mode) at any view size.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QTextOption
from PySide6.QtWidgets import QGraphicsScene, QGraphicsTextItem, QGraphicsView, QSizePolicy, QWidget

from dropout_studio.core.shapes import StackReport, infer
from dropout_studio.core.spec import NetworkSpec
from dropout_studio.ui.diagram_marks import LayerMarks, layer_marks, widest_caption
from dropout_studio.ui.unit_grid import ConnectionsItem, LayerItem, LegendItem

MINIMUM_SIZE = QSize(500, 300)
MIN_LABEL_PT = 9.0
PRESENTATION_LABEL_PT = 14.0
MARGIN = 10.0
MAX_CIRCLES = 16  # more circles only thicken the web of connections


class UnitHandle:
    """One unit as tests and callers read it: ``data(0)`` is its keep value, plus its tooltip.

    Kept for compatibility with the one-item-per-unit diagram; made on demand, never drawn.
    """

    __slots__ = ("marks", "unit")

    def __init__(self, marks: LayerMarks, unit: int) -> None:
        self.marks, self.unit = marks, unit

    def data(self, role: int = 0) -> float:
        return float(self.marks.keep[self.unit])

    def toolTip(self) -> str:
        return self.marks.tooltip(self.unit)


def _grid_columns(count: int, width: float, height: float, cell: int) -> int:
    """Columns of a square-ish grid of ``cell``-px marks holding ``count`` within the box."""
    cols_max, rows_max = max(1, int(width // cell)), max(1, int(height // cell))
    cols = max(math.ceil(math.sqrt(count)), math.ceil(count / rows_max))
    return min(cols, cols_max)


def _grid_cell(count: int, width: float, height: float, largest: int) -> int:
    """The largest cell size (px, at least 2) at which ``count`` marks fit in the box."""
    for cell in range(largest, 2, -1):
        if int(width // cell) * int(height // cell) >= count:
            return cell
    return 2


class NetworkDiagram(QGraphicsView):
    """A view over the network spec plus the latest recorded masks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(MINIMUM_SIZE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")
        self.network: NetworkSpec = NetworkSpec()
        self.report: StackReport | None = None
        self.masks: dict[str, dict[str, Any]] = {}
        self.step: int | None = None
        self.inference = False
        self.presentation = False
        self.marks: list[LayerMarks] = []
        self.columns: list[LayerItem] = []
        self._captions: list[QGraphicsTextItem] = []
        self._caption_height = 0.0
        self._built_for: NetworkSpec | None = None
        self._built_size = QSize()
        self._connections = ConnectionsItem()
        self._title: QGraphicsTextItem | None = None

    def sizeHint(self) -> QSize:
        return QSize(900, 520)

    def minimumSizeHint(self) -> QSize:
        return MINIMUM_SIZE

    # inputs ---------------------------------------------------------------------------------
    def set_network(self, network: NetworkSpec) -> None:
        if network != self.network:
            self.network = network
            self.report = infer(network)
            self.masks, self.step = {}, None
            self.redraw()

    def set_masks(self, masks: dict[str, dict[str, Any]], step: int) -> None:
        """Show recorded masks (``engine.layers.read_masks`` records): restyles, no relayout.
        In Evaluate mode they are kept, unseen, for when it is turned off: masks dropped then
        left an earlier step on show after it."""
        self.masks, self.step = masks, step
        if not self.inference:
            self.redraw()

    def set_inference(self, on: bool) -> None:
        self.inference = on
        self.redraw()

    def set_presentation(self, on: bool) -> None:
        """Larger labels (≥ 14 pt) and marks for a projector; the window's F11 should call it."""
        if on != self.presentation:
            self.presentation = on
            self._built_for = None
            self.redraw()

    @property
    def unit_items(self) -> dict[str, list[UnitHandle]]:
        """Every drawn unit per layer name (``dense_2``), in unit order."""
        return {m.name: [UnitHandle(m, u) for u in range(m.count)] for m in self.marks}

    def unit_at(self, scene_pos: QPointF) -> tuple[str, int] | None:
        """(layer name, unit index) of the unit drawn at ``scene_pos``, if any."""
        for item in self.columns:
            unit = item.unit_at(item.mapFromScene(scene_pos))
            if unit is not None:
                return item.marks.name, unit
        return None

    def tooltip_at(self, scene_pos: QPointF) -> str:
        """What hovering ``scene_pos`` shows: layer, unit, kept or dropped, drop frequency."""
        for item in self.columns:
            text = item.tooltip_at(item.mapFromScene(scene_pos))
            if text:
                return text
        return ""

    # drawing --------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Relayout when the network, size or font changed; otherwise only restyle the layers.

        Restyling costs one grid image and one caption per layer, so a 20 Hz mask update of a
        3 × 1,024-unit stack stays around a millisecond of GUI time.
        """
        self.marks = layer_marks(self.network, self.report, self.masks, self.inference)
        if (
            self._built_for != self.network
            or self._built_size != self.viewport().size()
            or len(self.marks) != len(self.columns)
        ):
            self._layout()
        else:
            for item, marks in zip(self.columns, self.marks):
                item.set_marks(marks)
            self._connections.restyle()
        self._restyle_text()

    def label_font(self) -> QFont:
        """The labels' font: the widget's, at least 9 pt (14 pt in presentation mode)."""
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else MIN_LABEL_PT
        size = max(size, PRESENTATION_LABEL_PT if self.presentation else MIN_LABEL_PT)
        font.setPointSizeF(size)
        return font

    def _text(self, font: QFont, width: float, centred: bool = True) -> QGraphicsTextItem:
        item = QGraphicsTextItem()
        item.setFont(font)
        item.setDefaultTextColor(self.palette().text().color())
        item.setTextWidth(max(20.0, width))
        if centred:
            item.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignHCenter))
        item.document().setDocumentMargin(1)
        self.scene().addItem(item)
        return item

    def _layout(self) -> None:
        """Place every label, layer item and the legend in the viewport's pixels."""
        scene = self.scene()
        if self._connections.scene() is scene:
            scene.removeItem(self._connections)  # kept across layouts; clear() would delete it
        scene.clear()
        self._built_for, self._built_size = self.network, self.viewport().size()
        font = self.label_font()
        title_font = QFont(font)
        title_font.setBold(True)
        metrics = QFontMetricsF(font)
        base = self.palette().base().color()
        width = max(float(self.viewport().width()), MINIMUM_SIZE.width() - 4.0)
        height = max(float(self.viewport().height()), MINIMUM_SIZE.height() - 4.0)
        n = max(1, len(self.marks))
        min_col = metrics.horizontalAdvance("8" * 12)
        col_w = max(min_col, (width - 2 * MARGIN) / n)
        if n * col_w + 2 * MARGIN > width:  # too many layers: scroll sideways, keep the size
            width = n * col_w + 2 * MARGIN
            height -= self.horizontalScrollBar().sizeHint().height()
        self._title = self._text(title_font, width - 2 * MARGIN, centred=False)
        self._title.setPlainText(self._header())
        self._title.setPos(MARGIN, MARGIN / 2)
        top = MARGIN / 2 + self._title.boundingRect().height() + 4
        headers = []
        for k, marks in enumerate(self.marks):
            header = self._text(font, col_w - 8)
            title = marks.title
            if metrics.horizontalAdvance(title) > col_w - 10:  # "layer 2 (Conv2D)" → "2 Conv2D"
                title = title.removeprefix("layer ").replace(" (", " ").rstrip(")")
            header.setPlainText(f"{title}\n{marks.shape_text}")
            header.setPos(MARGIN + k * col_w + 4, top)
            headers.append(header)
        top += max((h.boundingRect().height() for h in headers), default=0) + 6
        legend_colour = self.palette().text().color()
        legend = LegendItem(font, legend_colour, base, width - 2 * MARGIN)
        scene.addItem(legend)
        legend.setPos(MARGIN, height - MARGIN / 2 - legend.boundingRect().height())
        self._caption_height = max(metrics.lineSpacing() + 4, self._worst_caption(font, col_w))
        bottom = legend.pos().y() - 6 - self._caption_height
        if bottom - top < 60:  # too short: grow the scene and let the view scroll
            height += 60 - (bottom - top)
            legend.setPos(MARGIN, height - MARGIN / 2 - legend.boundingRect().height())
            bottom = top + 60
        self._place_layers(top, bottom, col_w, base)
        self._captions = []
        for k, item in enumerate(self.columns):
            caption = self._text(font, col_w - 8)
            below = item.mapRectToScene(item.boundingRect()).bottom() + 4
            caption.setPos(MARGIN + k * col_w + 4, min(below, bottom + 4))
            self._captions.append(caption)
        scene.addItem(self._connections)
        self._connections.set_columns(self.columns)
        self.resetTransform()
        scene.setSceneRect(QRectF(0, 0, width, height))

    def _place_layers(self, top: float, bottom: float, col_w: float, base: QColor) -> None:
        """All units as circles when they fit; else the first ones as circles, all in a grid.

        Small layers stay circles centred in the circle band, so connections stay short and
        never cross a neighbour's grid.
        """
        radius = 8.0 if self.presentation else 6.0
        pitch = 2 * radius + 5
        body = bottom - top
        fits_all = all(m.count <= min(MAX_CIRCLES, body // pitch) for m in self.marks)
        # The circles get one row and their dots on a short diagram, a quarter of a tall one:
        # the grids (every unit) get the rest, never a strip of one or two rows.
        band = body if fits_all else min(max(pitch + 18, body * 0.25), body * 0.4)
        # Marks grow with the room: an 8×8 grid fills about the column (4 px to 28 px cells).
        largest = int(min(40.0, max(12.0, min(col_w - 16, body - band) / 8)))
        grid_top, grid_w, grid_h = top + band + 4, col_w - 16, bottom - (top + band + 4)

        def circles_only(marks: LayerMarks) -> bool:
            room = max(band, body if marks.count <= 8 else 0) // pitch
            return marks.count <= min(MAX_CIRCLES, room)

        # One cell size for every grid, so a grid's area is proportional to its layer's width;
        # a narrow layer beside wide ones may still take cells up to 12 px, to stay visible.
        fits = {
            m.index: _grid_cell(m.count, grid_w, grid_h, largest)
            for m in self.marks
            if not circles_only(m)
        }
        common = min(fits.values(), default=largest)
        self.columns = []
        for k, marks in enumerate(self.marks):
            cx = MARGIN + (k + 0.5) * col_w
            item = LayerItem(marks, base)
            grid, cols, cell = QRectF(), 1, 0
            if circles_only(marks):
                shown = marks.count
                y0 = top + max(0.0, (band - shown * pitch) / 2) + pitch / 2
            else:
                shown = max(1, min(MAX_CIRCLES, int((band - 18) // pitch)))
                y0 = top + pitch / 2
                cell = max(common, min(fits[marks.index], 12))
                cols = _grid_columns(marks.count, grid_w, grid_h, cell)
                if marks.image is not None:  # pixels where they are in the picture (28 × 28)
                    rows_i, cols_i = marks.image
                    fit = int(min(cell, grid_w // cols_i, grid_h // rows_i))
                    if fit >= 2:
                        cell, cols = fit, cols_i
                rows = min(math.ceil(marks.count / cols), int(grid_h // cell))
                left = round(cx - cols * cell / 2)
                grid = QRectF(left, round(grid_top), cols * cell, rows * cell)
            centres = [QPointF(cx, y0 + j * pitch) for j in range(shown)]
            item.place(centres, radius, grid, cols, cell if grid.height() else 0)
            self.scene().addItem(item)
            self.columns.append(item)

    def _worst_caption(self, font: QFont, col_w: float) -> float:
        """Height the longest caption any column can get needs in this column width."""
        doc = QGraphicsTextItem()
        doc.setFont(font)
        doc.setTextWidth(col_w - 8)
        tallest = 0.0
        for marks in self.marks:
            doc.setPlainText(widest_caption(self.network, marks) or "8")
            tallest = max(tallest, doc.boundingRect().height())
        return tallest

    def _header(self) -> str:
        if self.inference:
            return "Evaluate mode: dropout is off at inference — every unit is active"
        if self.step is not None:
            return f"Units dropped in training step {self.step} (the latest recorded step)"
        return "Train to see which units dropout drops in each step"

    def _restyle_text(self) -> None:
        if self._title is not None:
            self._title.setPlainText(self._header())
        for item, caption in zip(self.columns, self._captions):
            text = item.marks.caption
            if item.more:
                text += f"{'; ' if text else ''}+{item.more:,} more not shown"
            if caption.toPlainText() != text:
                caption.setPlainText(text)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.viewport().size() != self._built_size:
            self.redraw()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange):
            self._built_for = None
            self.redraw()

    # export ---------------------------------------------------------------------------------
    def export_png(self, path: Path, scale: float = 2.0) -> None:
        rect = self.scene().sceneRect()
        image = QImage(
            int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32
        )
        image.fill(self.palette().base().color())
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.scene().render(painter)
        painter.end()
        image.save(str(path))

    def export_svg(self, path: Path) -> None:
        from PySide6.QtSvg import QSvgGenerator

        rect = self.scene().sceneRect()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(rect.size().toSize())
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle("Dropout Studio network diagram")
        painter = QPainter(generator)
        self.scene().render(painter)
        painter.end()
