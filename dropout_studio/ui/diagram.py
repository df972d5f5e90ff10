"""The network diagram: layers as columns of units, dropped units from the engine's masks.

Every mask drawn comes from a ``masks_recorded`` event (the recording layers' variables), never
from a random number drawn here. Dropped units differ by shape and fill, not only colour:
active units are filled discs, dropped units are hollow grey discs crossed out, with their
connections faded. Wide layers show a sample of units and "+N more".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from dropout_studio.core.shapes import StackReport, infer
from dropout_studio.core.spec import NetworkSpec, dropout_name, layer_name

MAX_UNITS = 12
RADIUS = 9
COLUMN_GAP = 150
ROW_GAP = 26
ACTIVE = QColor("#1f77b4")
DROPPED = QColor("#9a9a9a")


@dataclass
class UnitView:
    """What one drawn unit shows; ``keep`` 1 = active, 0 = dropped, between = partly."""

    keep: float
    tooltip: str
    noise: float | None = None


def _unit_count(shape: tuple[int | None, ...] | None) -> int:
    if not shape:
        return 0
    return int(shape[-1] or 0)


def _mask_per_unit(mask: np.ndarray) -> np.ndarray:
    """Keep value per unit (last axis); a conv mask over positions becomes a kept fraction."""
    mask = np.asarray(mask, dtype=float)
    if mask.ndim <= 1:
        return mask.reshape(-1)
    return mask.reshape(-1, mask.shape[-1]).mean(axis=0)


class NetworkDiagram(QGraphicsView):
    """A view over the network spec plus the latest recorded masks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setToolTip("")
        self.network: NetworkSpec = NetworkSpec()
        self.report: StackReport | None = None
        self.masks: dict[str, dict[str, Any]] = {}
        self.step: int | None = None
        self.inference = False
        self.unit_items: dict[str, list[Any]] = {}

    # inputs ---------------------------------------------------------------
    def set_network(self, network: NetworkSpec) -> None:
        if network != self.network:
            self.network = network
            self.report = infer(network)
            self.masks, self.step = {}, None
            self.redraw()

    def set_masks(self, masks: dict[str, dict[str, Any]], step: int) -> None:
        self.masks, self.step, self.inference = masks, step, False
        self.redraw()

    def set_inference(self, on: bool) -> None:
        self.inference = on
        self.redraw()

    # drawing --------------------------------------------------------------
    def _units_for(self, index: int) -> tuple[list[UnitView], str]:
        """Unit views of layer ``index`` and a caption with the dropped fraction."""
        layer = self.network.layers[index]
        shape = None
        if self.report:
            shape = next((r.output_shape for r in self.report.layers if r.index == index), None)
        count = _unit_count(shape)
        is_channels = shape is not None and len(shape) >= 2
        noun = "channel" if is_channels else "unit"
        key = dropout_name(index, layer)
        if layer.kind in ("LSTM", "GRU", "SimpleRNN"):
            key = f"{layer_name(index, layer)}.recurrent"
        record = None if self.inference else self.masks.get(key)
        views: list[UnitView] = []
        if record is None:
            for u in range(count):
                views.append(UnitView(1.0, f"{noun} {u + 1}: active"))
            if self.inference and (layer.dropout.active or layer.recurrent_dropout):
                return views, "all active (inference)"
            return views, ""
        mask = _mask_per_unit(record["last_mask"])
        freq = _mask_per_unit(record["drop_frequency"])
        gaussian = record.get("mode") == "gaussian"
        for u in range(count):
            keep = float(mask[u]) if u < len(mask) else 1.0
            f = float(freq[u]) if u < len(freq) else 0.0
            if gaussian:
                views.append(
                    UnitView(
                        1.0,
                        f"{noun} {u + 1}: multiplied by {keep:.2f} in step "
                        f"{record['step']} (Gaussian noise, nothing dropped)",
                        noise=keep,
                    )
                )
            else:
                state = "dropped" if keep < 0.5 else "kept"
                if 0 < keep < 1:
                    state = f"kept at {keep:.0%} of positions"
                views.append(
                    UnitView(
                        keep,
                        f"{noun} {u + 1}: {state} in step {record['step']}; "
                        f"dropped in {f:.1%} of samples so far",
                    )
                )
        if gaussian:
            return views, "Gaussian noise (intensity)"
        dropped = sum(1 for v in views if v.keep < 0.5)
        return views, f"dropped {dropped}/{count} ({dropped / max(count, 1):.0%})"

    def _shape_text(self, index: int) -> str:
        if not self.report:
            return ""
        shape = next((r.output_shape for r in self.report.layers if r.index == index), None)
        if shape is None or len(shape) < 2:
            return ""
        return "×".join("?" if d is None else str(d) for d in shape)

    def redraw(self) -> None:
        scene = self.scene()
        scene.clear()
        self.unit_items = {}
        font = QFont(self.font())
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        text_color = self.palette().text().color()
        if self.inference:
            header = "Evaluate mode: dropout is off at inference — every unit is active"
        elif self.step is not None:
            header = f"Units dropped in training step {self.step} (the latest recorded step)"
        else:
            header = "Train to see which units dropout drops in each step"
        columns: list[list[QPointF]] = []
        keeps: list[list[float]] = []
        layers = self.network.layers
        for i, layer in enumerate(layers):
            if layer.kind == "Flatten" or (
                layer.kind.startswith(("Max", "Average", "Global")) and not layer.dropout.active
            ):
                columns.append([])
                keeps.append([])
                continue
            views, caption = self._units_for(i)
            shown = views if len(views) <= MAX_UNITS else views[: MAX_UNITS - 1]
            x = len([c for c in columns if c]) * COLUMN_GAP
            top = -(len(shown) - 1) * ROW_GAP / 2
            points = [QPointF(x, top + k * ROW_GAP) for k in range(len(shown))]
            columns.append(points)
            keeps.append([v.keep for v in shown])
            items = []
            for view, p in zip(shown, points):
                items.append(self._draw_unit(scene, p, view))
            self.unit_items[layer_name(i, layer)] = items
            label_y = top - 2 * RADIUS - 22
            name = scene.addText(f"{i + 1} {layer.kind}", small)
            name.setDefaultTextColor(text_color)
            name.setPos(x - name.boundingRect().width() / 2, label_y)
            bottom = top + (len(shown) - 1) * ROW_GAP + RADIUS + 4
            lines = []
            if shape_text := self._shape_text(i):
                lines.append(shape_text)
            if len(views) > len(shown):
                lines.append(f"+{len(views) - len(shown)} more")
            if caption:
                lines.append(caption)
            if lines:
                cap = scene.addText("\n".join(lines), small)
                cap.setDefaultTextColor(text_color)
                cap.setPos(x - cap.boundingRect().width() / 2, bottom)
        self._draw_connections(scene, columns, keeps)
        bounds = scene.itemsBoundingRect()
        title = scene.addText(header, font)
        title.setDefaultTextColor(text_color)
        title.setPos(bounds.left(), bounds.top() - title.boundingRect().height() - 6)
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))

    def _draw_unit(self, scene: QGraphicsScene, p: QPointF, view: UnitView) -> Any:
        rect = QRectF(p.x() - RADIUS, p.y() - RADIUS, 2 * RADIUS, 2 * RADIUS)
        if view.noise is not None:
            level = float(np.clip(view.noise / 2.0, 0.0, 1.0))
            colour = QColor(ACTIVE)
            colour.setAlphaF(0.15 + 0.85 * level)
            item = scene.addEllipse(rect, QPen(ACTIVE, 1.5), QBrush(colour))
        elif view.keep >= 0.999:
            item = scene.addEllipse(rect, QPen(ACTIVE.darker(130), 1.5), QBrush(ACTIVE))
        elif view.keep < 0.5 or view.keep <= 0.001:
            pen = QPen(DROPPED, 1.5, Qt.PenStyle.DashLine)
            item = scene.addEllipse(rect, pen, QBrush(Qt.BrushStyle.NoBrush))
            cross = QPen(DROPPED, 1.5)
            d = RADIUS * 0.6
            scene.addLine(p.x() - d, p.y() - d, p.x() + d, p.y() + d, cross).setToolTip(
                view.tooltip
            )
            scene.addLine(p.x() - d, p.y() + d, p.x() + d, p.y() - d, cross).setToolTip(
                view.tooltip
            )
        else:
            colour = QColor(ACTIVE)
            colour.setAlphaF(max(0.15, view.keep))
            item = scene.addEllipse(rect, QPen(ACTIVE, 1.5), QBrush(colour))
        item.setToolTip(view.tooltip)
        item.setZValue(2)
        item.setData(0, view.keep)
        return item

    @staticmethod
    def _draw_connections(
        scene: QGraphicsScene, columns: list[list[QPointF]], keeps: list[list[float]]
    ) -> None:
        drawn = [(c, k) for c, k in zip(columns, keeps) if c]
        for (left, left_keep), (right, right_keep) in itertools.pairwise(drawn):
            for a, ka in zip(left, left_keep):
                for b, kb in zip(right, right_keep):
                    alive = min(ka, kb) >= 0.5
                    colour = QColor(120, 120, 120, 70 if alive else 14)
                    line = scene.addLine(
                        a.x() + RADIUS, a.y(), b.x() - RADIUS, b.y(), QPen(colour, 1)
                    )
                    line.setZValue(0)

    # export ---------------------------------------------------------------
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
