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
        self._built_for: NetworkSpec | None = None

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
        prefix = ""
        following = index + 1
        if (
            record is None
            and not self.inference
            and following < len(self.network.layers)
            and self.network.layers[following].kind in ("LSTM", "GRU", "SimpleRNN")
        ):
            # An RNN's input dropout drops features of what this layer outputs: draw it here.
            record = self.masks.get(
                f"{layer_name(following, self.network.layers[following])}.input"
            )
            prefix = f"input mask of layer {following + 1}: "
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
        if layer.kind in ("LSTM", "GRU", "SimpleRNN"):
            prefix = "recurrent mask: "
        return views, f"{prefix}dropped {dropped}/{count} ({dropped / max(count, 1):.0%})"

    def _shape_text(self, index: int) -> str:
        if not self.report:
            return ""
        shape = next((r.output_shape for r in self.report.layers if r.index == index), None)
        if shape is None or len(shape) < 2:
            return ""
        return "×".join("?" if d is None else str(d) for d in shape)

    def redraw(self) -> None:
        """Rebuild the scene when the network changed; otherwise only restyle the units.

        Restyling in place keeps a mask update at 20 Hz cheap for the GUI thread; rebuilding a
        few hundred items on every snapshot cost ~30 ms.
        """
        if self._built_for != self.network:
            self._build()
        self._restyle()

    def _displayed(self) -> list[int]:
        return [
            i
            for i, layer in enumerate(self.network.layers)
            if not (
                layer.kind == "Flatten"
                or (
                    layer.kind.startswith(("Max", "Average", "Global")) and not layer.dropout.active
                )
            )
        ]

    def _build(self) -> None:
        scene = self.scene()
        scene.clear()
        self._built_for = self.network
        self.unit_items = {}
        self._columns: list[tuple[int, list[Any], Any, float, float]] = []
        self._connections: list[tuple[Any, Any, Any]] = []
        font = QFont(self.font())
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        text_color = self.palette().text().color()
        for column, i in enumerate(self._displayed()):
            layer = self.network.layers[i]
            count = len(self._units_for(i)[0])
            shown = count if count <= MAX_UNITS else MAX_UNITS - 1
            x = column * COLUMN_GAP
            top = -(shown - 1) * ROW_GAP / 2
            slots = []
            for k in range(shown):
                p = QPointF(x, top + k * ROW_GAP)
                rect = QRectF(p.x() - RADIUS, p.y() - RADIUS, 2 * RADIUS, 2 * RADIUS)
                disc = scene.addEllipse(rect)
                disc.setZValue(2)
                d = RADIUS * 0.6
                cross = [
                    scene.addLine(p.x() - d, p.y() - d, p.x() + d, p.y() + d),
                    scene.addLine(p.x() - d, p.y() + d, p.x() + d, p.y() - d),
                ]
                for line in cross:
                    line.setZValue(3)
                slots.append((disc, cross, p))
            self.unit_items[layer_name(i, layer)] = [slot[0] for slot in slots]
            name = scene.addText(f"{i + 1} {layer.kind}", small)
            name.setDefaultTextColor(text_color)
            name.setPos(x - name.boundingRect().width() / 2, top - 2 * RADIUS - 22)
            caption = scene.addText("", small)
            caption.setDefaultTextColor(text_color)
            bottom = top + (shown - 1) * ROW_GAP + RADIUS + 4
            self._columns.append((i, slots, caption, x, bottom))
        for (_, left, _, _, _), (_, right, _, _, _) in itertools.pairwise(self._columns):
            for a in left:
                for b in right:
                    line = scene.addLine(a[2].x() + RADIUS, a[2].y(), b[2].x() - RADIUS, b[2].y())
                    line.setZValue(0)
                    self._connections.append((line, a[0], b[0]))
        self._title = scene.addText("", font)
        self._title.setDefaultTextColor(text_color)

    def _restyle(self) -> None:
        scene = self.scene()
        if self.inference:
            header = "Evaluate mode: dropout is off at inference — every unit is active"
        elif self.step is not None:
            header = f"Units dropped in training step {self.step} (the latest recorded step)"
        else:
            header = "Train to see which units dropout drops in each step"
        for i, slots, caption, x, _bottom in self._columns:
            views, text = self._units_for(i)
            for (disc, cross, _p), view in zip(slots, views):
                self._style_unit(disc, cross, view)
            lines = []
            if shape_text := self._shape_text(i):
                lines.append(shape_text)
            if len(views) > len(slots):
                lines.append(f"+{len(views) - len(slots)} more")
            if text:
                lines.append(text)
            caption.setPlainText("\n".join(lines))
            caption.setPos(x - caption.boundingRect().width() / 2, _bottom)
        alive_pen = QPen(QColor(120, 120, 120, 70), 1)
        faded_pen = QPen(QColor(120, 120, 120, 14), 1)
        for line, a, b in self._connections:
            alive = min(float(a.data(0)), float(b.data(0))) >= 0.5
            line.setPen(alive_pen if alive else faded_pen)
        self._title.setPlainText(header)
        units = [item for i, slots, *_ in self._columns for item, *_ in slots]
        bounds = QRectF()
        for item in units:
            bounds = bounds.united(item.sceneBoundingRect())
        top = bounds.top() - 2 * RADIUS - 22 if units else 0.0
        self._title.setPos(bounds.left(), top - self._title.boundingRect().height() - 6)
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))
        self._fit()

    def _fit(self) -> None:
        """Shrink to show the whole network (header included) when it is larger than the view;
        never enlarge beyond natural size."""
        rect = self.scene().sceneRect()
        view = self.viewport().rect()
        if rect.width() > view.width() or rect.height() > view.height():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        else:
            self.resetTransform()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    @staticmethod
    def _style_unit(disc: Any, cross: list[Any], view: UnitView) -> None:
        dropped = view.noise is None and view.keep < 0.5
        if view.noise is not None:
            colour = QColor(ACTIVE)
            colour.setAlphaF(0.15 + 0.85 * float(np.clip(view.noise / 2.0, 0.0, 1.0)))
            disc.setPen(QPen(ACTIVE, 1.5))
            disc.setBrush(QBrush(colour))
        elif view.keep >= 0.999:
            disc.setPen(QPen(ACTIVE.darker(130), 1.5))
            disc.setBrush(QBrush(ACTIVE))
        elif dropped:
            disc.setPen(QPen(DROPPED, 1.5, Qt.PenStyle.DashLine))
            disc.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        else:
            colour = QColor(ACTIVE)
            colour.setAlphaF(max(0.15, view.keep))
            disc.setPen(QPen(ACTIVE, 1.5))
            disc.setBrush(QBrush(colour))
        for line in cross:
            line.setPen(QPen(DROPPED, 1.5))
            line.setVisible(dropped)
            line.setToolTip(view.tooltip)
        disc.setToolTip(view.tooltip)
        disc.setData(0, view.keep)

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
