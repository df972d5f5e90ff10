"""Live loss curves: every epoch is stored at once; a live run is drawn 5 times a second.

While a run trains, the axes hold still (:meth:`LossPlot.begin_live`) and are cached as pixmaps,
so a frame repaints only the curves: re-laying both axes at every frame was the window's longest
stall. Epochs are drawn from 1; the history CSV keeps Keras' 0-based ``epoch`` column, and the
axis title says so. The legend sits above the data, opaque.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QVBoxLayout, QWidget

from dropout_studio.core.runs import write_history_csv
from dropout_studio.ui import plot_axes
from dropout_studio.ui.plot_axes import SteadyLabel, fit_legend_row, legend_above, readable_plot

TRAIN_PEN = pg.mkPen("#1f77b4", width=1)
VAL_PEN = pg.mkPen("#d62728", width=1)
GAP_PEN = pg.mkPen("#7f7f7f", width=1, style=Qt.PenStyle.DashLine)
GAP_NAME = "gap (validation − training)"
BATCH_NAME = "batch loss (sampled)"
OVERLAY_NAME = "earlier runs (validation; colours as in Runs)"
EPOCH_LABEL = "epoch (1 = first; the CSV's epoch column counts from 0)"
# A redraw repaints both panes (~6 ms): at every epoch they took ~4 % of mlp-classic's speed
IDLE_FRAME_MS, LIVE_FRAME_MS = 50, 200
FRAME_SLACK_MS = 50  # the frame ~200 ms after a drawing is due, give or take the timers' jitter


class LossPlot(QWidget):
    """Training and validation loss per epoch, the gap, the metric, and the best epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, float]] = []
        # Drawn by a single-shot timer armed by a change (no wake-ups while nothing changes),
        # or by draw_frame() with the training's batch of reports.
        self._dirty = False
        self._drawn_at = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._redraw)
        self.live_epochs: int | None = None  # the planned epochs while a run trains
        # held axis ranges ("x" for both panes, "loss", "metric"); empty while fitting the data
        self._held: dict[str, tuple[float, float]] = {}
        self.overlay_curves: dict[str, pg.PlotDataItem] = {}
        self._overlays_shown: dict[str, tuple[str, list[dict[str, float]]]] = {}
        pg.setConfigOptions(antialias=False)
        base, text = self.palette().base().color(), self.palette().text().color()
        self.loss_plot = readable_plot(whole_x=True)
        self.loss_plot.setBackground(base)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = legend_above(self.loss_plot, base, text)
        self.train_curve = self.loss_plot.plot(pen=TRAIN_PEN, name="training loss")
        self.val_curve = self.loss_plot.plot(pen=VAL_PEN, name="validation loss")
        self.gap_curve = self.loss_plot.plot(pen=GAP_PEN, name=GAP_NAME)
        self.batch_curve = self.loss_plot.plot(
            pen=None,
            symbol="o",
            symbolSize=3,
            symbolPen=None,
            symbolBrush=pg.mkBrush(31, 119, 180, 90),
            name=BATCH_NAME,
        )
        self.batch_curve.setVisible(False)
        self.legend.removeItem(self.batch_curve)
        self.batch_points: list[tuple[float, float]] = []
        for curve in (self.train_curve, self.val_curve, self.gap_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.best_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#2ca02c", width=1))
        self.best_line.setVisible(False)
        self.loss_plot.addItem(self.best_line)
        fit_legend_row(self.loss_plot)
        self.metric_plot = readable_plot(whole_x=True)
        self.metric_plot.setBackground(base)
        self.metric_plot.setMinimumHeight(90)
        self.metric_plot.setMaximumHeight(220)
        self.metric_plot.setLabel("left", "metric")
        self.metric_plot.setLabel("bottom", EPOCH_LABEL)
        self.metric_plot.showGrid(x=True, y=True, alpha=0.2)
        self.metric_plot.setXLink(self.loss_plot)
        self.train_metric = self.metric_plot.plot(pen=TRAIN_PEN)
        self.val_metric = self.metric_plot.plot(pen=VAL_PEN)
        self.metric_name = "metric"
        self.presenting = False
        self.metric_plot.installEventFilter(self)
        self.loss_plot.installEventFilter(self)
        self.metric_plot.getViewBox().sigResized.connect(lambda _box: self._fit_metric_title())
        for plot in (self.loss_plot, self.metric_plot):
            for side in ("left", "bottom"):  # redrawn only when their range or style changes
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self.log_y = QCheckBox("log scale")
        self.log_y.setToolTip("Show the loss on a logarithmic axis")
        self.log_y.toggled.connect(self._on_log_y_toggled)
        self.show_gap = QCheckBox("generalization gap")
        self.show_gap.setToolTip("Validation loss minus training loss: growing means overfitting")
        self.show_gap.setChecked(True)
        self.show_gap.toggled.connect(self._on_show_gap_toggled)
        self.show_batches = QCheckBox("batch loss")
        self.show_batches.setToolTip(
            "Training loss of single batches, sampled ~20 times a second (noisy: dropout is on)"
        )
        self.show_batches.toggled.connect(self._on_show_batches_toggled)
        self.best_label = SteadyLabel("best validation loss 0.0000 at epoch 0000")
        self.best_label.setToolTip("Epoch with the lowest validation loss")
        row = QHBoxLayout()
        for box in (self.log_y, self.show_gap, self.show_batches):
            row.addWidget(box)
        row.addStretch(1)
        row.addWidget(self.best_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.metric_plot, 1)
        self.loss_plot.setMinimumHeight(140)  # the loss is the point: never the smaller pane

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The accuracy pane takes at most a third of the height: the loss pane stays larger."""
        self._share_height(event.size().height())
        super().resizeEvent(event)

    def _share_height(self, height: int) -> None:
        """On a projector the loss pane shows no epoch ticks of its own (the pane below, on
        the same x range, does): the metric pane may take up to 40 % for its larger fonts."""
        floor = self.metric_floor()
        share = max(floor, min(220, height * 2 // 5 if self.presenting else height // 3))
        self.metric_plot.setMaximumHeight(share)
        self.metric_plot.setMinimumHeight(share if self.presenting else floor)

    def metric_floor(self) -> int:
        """The metric pane's least height: its rotated axis title whole at the desk's font
        (on a projector the title stands above the data instead)."""
        if self.presenting:
            return 90
        left, bottom = self.metric_plot.getAxis("left"), self.metric_plot.getAxis("bottom")
        axis = bottom.height() or 2 * QFontMetricsF(bottom.label.font()).height()
        need = QFontMetricsF(left.label.font()).horizontalAdvance("accuracy") + axis
        need += plot_axes.PANE_MARGINS + 4
        return max(90, math.ceil(need))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.metric_plot and event.type() == QEvent.Type.Resize:
            self._fit_metric_title()
        elif watched is self.loss_plot and event.type() == QEvent.Type.Resize:
            fit_legend_row(self.loss_plot)  # the legend's columns follow the width
        return super().eventFilter(watched, event)

    def _fit_metric_title(self) -> None:
        plot_axes.fit_axis_title(self.metric_plot, self.metric_name, self.font())

    def set_presentation(self, on: bool, font: QFont | None = None) -> None:
        """Larger legend, tick labels and axis titles (``font``, else 14 pt) for a projector."""
        size = font.pointSizeF() if font is not None and font.pointSizeF() > 0 else 14.0
        normal = max(9.0, self.font().pointSizeF())
        chosen = QFont(font if font is not None else self.font())
        chosen.setPointSizeF(size if on else normal)
        self.legend.setLabelTextSize(f"{chosen.pointSizeF():g}pt")
        for label in (text for _, text in self.legend.items):
            label.setText(label.text)  # re-render at the new size
        for plot in (self.loss_plot, self.metric_plot):
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(tickFont=chosen)
                plot.getAxis(side).label.setFont(chosen)
        # the pane below carries the epoch axis title; on a projector the loss needs the room
        self.presenting = on
        self.loss_plot.getAxis("bottom").showLabel(not on)
        self.loss_plot.getAxis("bottom").setStyle(showValues=not on)
        # a projector's pane is short: the CSV's numbering is a note for the desk, not the room
        self.metric_plot.setLabel("bottom", "epoch" if on else EPOCH_LABEL)
        self._share_height(self.height())
        fit_legend_row(self.loss_plot)
        self._fit_metric_title()

    def _show_in_legend(self, curve: pg.PlotDataItem, name: str, on: bool) -> None:
        """Hidden curves leave the legend (pyqtgraph would draw a crossed-out eye instead)."""
        self.legend.removeItem(curve)
        if on:
            self.legend.addItem(curve, name)
        fit_legend_row(self.loss_plot)

    def _on_show_gap_toggled(self, on: bool) -> None:
        shown = on and not self.log_y.isChecked()
        self.gap_curve.setVisible(shown)
        self._show_in_legend(self.gap_curve, GAP_NAME, shown)

    def _on_log_y_toggled(self, on: bool) -> None:
        """The gap is often 0 or negative, which a log axis cannot show (it would stretch the
        axis to 0.001 for the few positive values): it is hidden while log scale is on."""
        self.loss_plot.setLogMode(y=on)
        if self._held:  # setLogMode let both axes follow the data again: held ones stay held
            self.loss_plot.disableAutoRange()
        self._held.pop("loss", None)  # held in the other scale
        self._held.pop("x", None)  # set again: the axis had followed the data
        self._mark_dirty()
        self.show_gap.setEnabled(not on)
        gap = "Validation loss minus training loss: growing means overfitting"
        self.show_gap.setToolTip("Not on a log axis: the gap can be 0 or negative" if on else gap)
        self._on_show_gap_toggled(self.show_gap.isChecked())
        self._redraw()  # at once, not at a live run's next frame

    def _on_show_batches_toggled(self, on: bool) -> None:
        self.batch_curve.setVisible(on)
        self._show_in_legend(self.batch_curve, BATCH_NAME, on)
        self._mark_dirty()
        self._redraw()

    def begin_live(self, epochs: int) -> None:
        """A run of ``epochs`` starts: the x axis spans the whole run and each y axis moves
        only when a curve leaves it (with room to grow in that direction) or fills under 40 %
        of it. A frame then repaints only the curves over the cached axes: 2.4 ms instead of
        19 ms at 600 epochs, measured offscreen. The axes stay held after a run that they
        frame (see :meth:`set_history`) until the next :meth:`clear`."""
        self.live_epochs = max(1, int(epochs))
        self._held.pop("x", None)  # y ranges a previous run held serve until data leaves them
        for plot in (self.loss_plot, self.metric_plot):
            plot.disableAutoRange()
        self._mark_dirty()

    def end_live(self) -> None:
        """The plot fits its data again."""
        if self.live_epochs is None and not self._held:
            return
        self.live_epochs = None
        self._held.clear()
        for plot in (self.loss_plot, self.metric_plot):
            plot.enableAutoRange()
        self._mark_dirty()

    def clear(self, keep_axes: bool = False) -> None:
        """Forget the curves; the timer draws the empty plot. ``keep_axes``: another run of
        the same project follows, so axes held by the last one stay until it needs others
        (re-laying them twice as a run started was a 20–40 ms stall of the window)."""
        if not keep_axes:
            self.end_live()
        self.rows, self.batch_points = [], []
        self._mark_dirty()

    def add_epoch(self, row: dict[str, float]) -> None:
        """Store the epoch now; the next frame draws it (never drop data to keep up)."""
        self.rows.append(dict(row))
        self._mark_dirty()

    def set_overlays(self, overlays: dict[str, tuple[str, list[dict[str, float]]]]) -> None:
        """Validation curves of earlier runs, dotted, in their run colour. The same overlays
        again (the runs list refreshes after every run) change nothing: rebuilding them
        re-laid the legend and the plot at the end of each run."""
        if overlays == self._overlays_shown:
            return
        self._overlays_shown = overlays
        for curve in self.overlay_curves.values():
            self.loss_plot.removeItem(curve)
        self.overlay_curves = {}
        for name, (colour, history) in overlays.items():
            epochs = np.array([r.get("epoch", 0) + 1 for r in history], dtype=float)
            val = np.array([r.get("val_loss", math.nan) for r in history], dtype=float)
            pen = pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine)
            # one legend entry for them all (their colours are the Runs tab's): a name each
            # took the legend to three rows at 1366 x 768 and squeezed the loss to ~40 px
            label = None if self.overlay_curves else OVERLAY_NAME
            self.overlay_curves[name] = self.loss_plot.plot(epochs, val, pen=pen, name=label)
        fit_legend_row(self.loss_plot)
        if self._held:  # held axes make room for them
            self._mark_dirty()

    def add_batch_loss(self, position: float, loss: float) -> None:
        """A sampled batch loss at ``position`` in epochs (1 = end of the first epoch)."""
        if math.isfinite(loss):
            self.batch_points.append((position, loss))
            if self.show_batches.isChecked():  # hidden: store only
                self._mark_dirty()

    def set_history(self, rows: list[dict[str, float]]) -> None:
        """A run's whole history. A run that trained every planned epoch keeps the axes it
        was drawn on (they frame it already): re-laying both axes was its end's longest
        stall. Any other history is fitted."""
        framed = self.live_epochs is not None and len(rows) == self.live_epochs
        if framed:
            self.live_epochs = None  # held, no longer live
        else:
            self.end_live()
        self.rows = [dict(r) for r in rows]
        self._mark_dirty()
        self._redraw()

    def _column(self, key: str) -> np.ndarray:
        return np.array([r.get(key, math.nan) for r in self.rows], dtype=float)

    def _mark_dirty(self) -> None:
        """Something to draw: within IDLE_FRAME_MS, or LIVE_FRAME_MS while a run trains."""
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start(LIVE_FRAME_MS if self.live_epochs is not None else IDLE_FRAME_MS)

    def draw_frame(self) -> None:
        """The training's frame (a batch of its reports, ~10 a second): draw the curves now
        if they changed and a live frame has passed since the last drawing. Drawn with the
        masks and the progress bar, the window repaints once; the timer draws only what no
        frame came for."""
        due = time.monotonic() - self._drawn_at >= (LIVE_FRAME_MS - FRAME_SLACK_MS) / 1000
        if self._dirty and due:
            self._redraw()

    def _redraw(self) -> None:
        self._timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        self._drawn_at = time.monotonic()
        epochs = self._column("epoch") + 1
        train, val = self._column("loss"), self._column("val_loss")
        self.train_curve.setData(epochs, train)
        self.val_curve.setData(epochs, val)
        self.gap_curve.setData(epochs, val - train)
        lines = (self.train_curve, self.val_curve, self.gap_curve, self.train_metric)
        plot_axes.dot_a_lone_point([*lines, self.val_metric], len(epochs))
        if self.batch_curve.isVisible():  # hidden: no data (a scatter's update is dear)
            xs, ys = zip(*self.batch_points) if self.batch_points else ((), ())
            self.batch_curve.setData(np.array(xs, dtype=float), np.array(ys, dtype=float))
        metric = "accuracy" if any("accuracy" in r for r in self.rows) else "mae"
        # before the first epoch nothing says which metric the project has
        name = metric if self.rows else "metric"
        if name != self.metric_name:
            self.metric_name = name
            self._fit_metric_title()
        self.train_metric.setData(epochs, self._column(metric))
        self.val_metric.setData(epochs, self._column("val_" + metric))
        if len(val) and np.isfinite(val).any():
            best = int(np.nanargmin(val))
            self.best_line.setPos(epochs[best])
            self.best_line.setVisible(True)
            self.best_label.setText(f"best validation loss {val[best]:.4f} at epoch {best + 1}")
        else:
            self.best_line.setVisible(False)
            self.best_label.setText("")
        if self.live_epochs is not None or self._held:
            self._hold_live_ranges(epochs)

    def _hold_live_ranges(self, epochs: np.ndarray) -> None:
        if not len(epochs) and self.live_epochs is None:
            return  # emptied for the next run: its axes come with its first epochs
        overlays = [c.getData() for c in self.overlay_curves.values()]
        last = max([self.live_epochs or 1, *(len(x) for x, _ in overlays if x is not None)])
        if len(epochs):
            last = max(last, int(epochs[-1]))
        if self._held.get("x") != (1.0, float(last)):
            self._held["x"] = (1.0, float(last))
            # room past the last epoch for its tick label; the metric pane follows. The range
            # shown already (Train again) is not set again: that re-laid both epoch axes.
            right, shown = max(last, 2), self.loss_plot.getViewBox().viewRange()[0]
            if not np.allclose(shown, (1 - 0.05 * (right - 1), right + 0.05 * (right - 1))):
                self.loss_plot.setXRange(1, right, padding=0.05)
        shown = [c for c in (self.train_curve, self.val_curve, self.gap_curve) if c.isVisible()]
        if self.batch_curve.isVisible():
            shown.append(self.batch_curve)
        # as drawn: on a log axis pyqtgraph's getData() gives log10 values already
        loss = [c.getData()[1] for c in shown] + [y for _, y in overlays]
        self._hold_y("loss", loss)
        self._hold_y("metric", [c.getData()[1] for c in (self.train_metric, self.val_metric)])

    def _settling(self) -> bool:
        """Early in a live run a held axis that frames the curves stays: fitted to the first
        points, it grew back as they spread (two ~20 ms re-layouts in a run's first second)."""
        return self.live_epochs is not None and len(self.rows) <= max(3, self.live_epochs // 10)

    def _hold_y(self, pane: str, columns: list[np.ndarray | None]) -> None:
        parts = [np.asarray(c, float) for c in columns if c is not None]
        values = np.concatenate(parts) if parts else np.zeros(0)
        floor = not (pane == "loss" and self.log_y.isChecked())  # a log axis has no 0
        frame = plot_axes.held_range(values, self._held.get(pane), self._settling(), floor)
        if frame is not None:
            self._held[pane] = frame
            plot = self.loss_plot if pane == "loss" else self.metric_plot
            plot.setYRange(*frame, padding=0)

    def export_png(self, path: Path) -> None:
        self._redraw()
        self.grab().save(str(path))

    def export_csv(self, path: Path) -> None:
        write_history_csv(path, self.rows)
