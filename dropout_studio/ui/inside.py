"""Inside the trained network: MC-dropout uncertainty, sparsity, co-adaptation, features.

The window computes these off the GUI thread (``engine.analysis``) and hands the numbers here;
"twin" numbers come from the same stack trained without dropout (same seed, same split).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.ui.inside_analysis import InsideReport, _first_layer_picture, analyse
from dropout_studio.ui.inside_pictures import feature_picture, pad_rows
from dropout_studio.ui.plot_axes import reset_view
from dropout_studio.ui.words import OutdatedNote

__all__ = ["InsideReport", "InsideView", "_first_layer_picture", "analyse"]

INTRO = "Train a model, then analyse it."
MIN_PLOT_HEIGHT = 100
# Below this height (a laptop's 300 px tab) the panels and the table stand in one row; the
# two-row layout's minimum stays below it, so the choice never flips back and forth.
COMPACT_BELOW = 520
TABLE_HEADER = ["layer", "zeros", "mean", "zeros, twin", "mean, twin"]
# Short titles (a 300 px tab has room for one line); the details are in the tooltips.
TITLES = {
    "mc": "MC dropout: mean ± std per output",
    "map": "uncertainty over the input plane",
    "corr": "unit |correlation|",
    "feature": "first-layer features",
}
TWIN = " · run | twin"


class _Plot(pg.PlotWidget):
    """A plot that asks for a modest height, so the scrolling page is only as tall as needed
    (wrapped titles make the page's height depend on its width, computed from size hints)."""

    def sizeHint(self) -> QSize:
        return QSize(240, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, MIN_PLOT_HEIGHT)


class _Panel(QWidget):
    """A plot under a word-wrapped title: a long title wraps instead of being clipped."""

    def __init__(self, title: str, plot: pg.PlotWidget) -> None:
        super().__init__()
        self.title = QLabel(title)
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.plot = plot
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(plot, 1)


class InsideView(QWidget):
    """Monte Carlo dropout, activation sparsity, co-adaptation and first-layer features.

    In a short tab (below ``COMPACT_BELOW`` px) the plots and the sparsity table stand in one
    row under one row of controls, so everything shows in a laptop's 300 px tab; taller, they
    form two rows of two with the table below. The table is as tall as its rows; titles are
    word-wrapped labels, never clipped."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: InsideReport | None = None
        self.sample = QSpinBox()
        self.sample.setToolTip("Test sample whose Monte Carlo dropout prediction is shown")
        self.samples = QSpinBox()
        self.samples.setRange(5, 500)
        self.samples.setValue(30)
        self.samples.setToolTip("Stochastic forward passes with only the dropout layers on")
        self.sample_label, self.mc_label = QLabel("test sample"), QLabel("MC samples")
        self.analyse = QPushButton("Analyse trained model")
        self.analyse.setToolTip(
            "MC dropout, sparsity, co-adaptation and features of the last trained model"
        )
        self.twin = QPushButton("Train no-dropout twin")
        self.twin.setToolTip(
            "Train the same stack without dropout (same seed and split) to "
            "compare sparsity, co-adaptation and features"
        )
        self.outdated = OutdatedNote()
        self.summary = QLabel(INTRO)
        self.summary.setWordWrap(True)
        self.mc_plot = _Plot()
        self.map_plot = _Plot()
        self.corr_plot = _Plot()
        self.feature_plot = _Plot()
        self.mc_panel = _Panel(TITLES["mc"], self.mc_plot)
        self.map_panel = _Panel(TITLES["map"], self.map_plot)
        self.corr_panel = _Panel(TITLES["corr"], self.corr_plot)
        self.feature_panel = _Panel(TITLES["feature"], self.feature_plot)
        self.mc_panel.setToolTip("Monte Carlo dropout: dropout stays on while predicting")
        self.corr_panel.setToolTip(
            "Absolute correlation between the units' activations; left this run, right the "
            "twin trained without dropout"
        )
        self.feature_panel.setToolTip(
            "Each first-layer unit's weights; left this run, right the twin without dropout"
        )
        self._tips = {"mc": self.mc_panel.toolTip(), "corr": self.corr_panel.toolTip()}
        self._tips["feature"] = self.feature_panel.toolTip()
        for plot in (self.mc_plot, self.map_plot, self.corr_plot, self.feature_plot):
            plot.setBackground(self.palette().base().color())
            plot.setMinimumHeight(MIN_PLOT_HEIGHT)
        for plot in (self.map_plot, self.corr_plot, self.feature_plot):
            plot.getViewBox().setAspectLocked(True)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(TABLE_HEADER[:3])
        self.table.verticalHeader().setVisible(False)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setToolTip(
            "Activations on up to 512 validation samples, dropout off: the fraction exactly 0 "
            "(zeros) and the mean, with dropout and (after the twin is trained) without"
        )
        self.controls = QGridLayout()
        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.analyse)
        self.buttons.addWidget(self.twin)
        self.grid = QGridLayout()
        self.compact = False
        self.two_d = False
        self._place_panels(two_d=False)  # the map only once 2-D data has been analysed
        layout = QVBoxLayout(self)
        layout.addLayout(self.controls)
        layout.addWidget(self.outdated)
        layout.addWidget(self.summary)
        layout.addLayout(self.grid, 1)
        self._fit_table()

    def _place_panels(self, two_d: bool) -> None:
        """The uncertainty map only for 2-D data; the rest in one row (short tab) or two."""
        self.two_d = two_d
        grid = self.grid
        for w in (self.mc_panel, self.map_panel, self.corr_panel, self.feature_panel, self.table):
            grid.removeWidget(w)
        for k in range(6):
            grid.setRowStretch(k, 0)
            grid.setColumnStretch(k, 0)
        panels = [self.mc_panel, *([self.map_panel] if two_d else []), self.corr_panel]
        panels.append(self.feature_panel)
        if self.compact:
            for k, panel in enumerate(panels):
                grid.addWidget(panel, 0, k)
                grid.setColumnStretch(k, 2 if panel is self.mc_panel else 1)
            grid.addWidget(self.table, 0, len(panels), Qt.AlignmentFlag.AlignTop)
            grid.setRowStretch(0, 1)
        else:
            grid.addWidget(self.mc_panel, 0, 0, 1, 1 if two_d else 2)
            if two_d:
                grid.addWidget(self.map_panel, 0, 1)
            grid.addWidget(self.corr_panel, 1, 0)
            grid.addWidget(self.feature_panel, 1, 1)
            grid.addWidget(self.table, 2, 0, 1, 2)
            for k in range(2):
                grid.setRowStretch(k, 1)
                grid.setColumnStretch(k, 1)
        self.map_panel.setParent(self)  # in the grid or not, never a window of its own
        self.map_panel.setVisible(two_d)
        self._place_controls()

    def _place_controls(self) -> None:
        """One row of controls in a short tab; two rows (buttons below) when narrow."""
        controls = self.controls
        while controls.count():
            controls.takeAt(0)
        controls.removeItem(self.buttons)
        for k, widget in enumerate((self.sample_label, self.sample, self.mc_label, self.samples)):
            controls.addWidget(widget, 0, k)
        if self.compact:
            controls.addLayout(self.buttons, 0, 4)
            controls.setColumnStretch(4, 0)
            controls.setColumnStretch(5, 1)
        else:
            controls.addLayout(self.buttons, 1, 0, 1, 5)
            controls.setColumnStretch(5, 0)
            controls.setColumnStretch(4, 1)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        compact = event.size().height() < COMPACT_BELOW and event.size().width() >= 560
        if compact != self.compact:
            self.compact = compact
            self._place_panels(self.two_d)

    def clear(self, text: str = INTRO) -> None:
        """Forget results of a model that is gone (another project or another run)."""
        self.report = None
        for plot in (self.mc_plot, self.map_plot, self.corr_plot, self.feature_plot):
            plot.clear()
        for panel, key in zip(
            (self.mc_panel, self.map_panel, self.corr_panel, self.feature_panel), TITLES
        ):
            panel.title.setText(TITLES[key])  # nothing named after the old model's layers
            panel.setToolTip(self._tips.get(key, ""))
        self.mc_plot.getAxis("bottom").setTicks([[], []])  # nor its classes
        reset_view(self.mc_plot, (-0.5, 1.5), (0, 1))
        self.table.setRowCount(0)
        self.table.setColumnCount(3)
        self.table.setHorizontalHeaderLabels(TABLE_HEADER[:3])
        self._fit_table()
        self.outdated.set_outdated(False)
        self.summary.setText(text)

    def show_report(self, report: InsideReport) -> None:
        self.report = report
        self._draw_mc()
        self._draw_map()
        self._draw_pairs()
        self._fill_table()
        parts = []
        if report.coadaptation is not None:
            parts.append(
                f"co-adaptation of {self._label(report.layer)} (mean |correlation| between "
                f"units): {report.coadaptation:.3f} with dropout"
            )
            if report.twin_coadaptation is not None:
                parts[-1] += f", {report.twin_coadaptation:.3f} without"
        self.summary.setText("; ".join(parts) or "analysed")

    def _label(self, name: str) -> str:
        return self.report.labels.get(name, name) if self.report else name

    def _draw_mc(self) -> None:
        r = self.report
        assert r is not None
        self.mc_plot.clear()
        x = np.arange(len(r.mc_mean))
        self.mc_plot.addItem(pg.BarGraphItem(x=x, height=r.mc_mean, width=0.6, brush="#1f77b4"))
        self.mc_plot.addItem(pg.ErrorBarItem(x=x, y=r.mc_mean, height=2 * r.mc_std, beam=0.3))
        names = r.class_names or (["prediction"] if len(x) == 1 else [])
        self.mc_plot.getAxis("bottom").setTicks([list(enumerate(names))] if names else None)
        self.mc_panel.title.setText(f"MC dropout, sample {r.sample_index}: mean ± std")

    def _draw_map(self) -> None:
        r = self.report
        assert r is not None
        self.map_plot.clear()
        if (r.grid is not None) != self.two_d:
            self._place_panels(two_d=r.grid is not None)
        if r.grid is None:
            return
        xs, ys, entropy = r.grid
        image = pg.ImageItem(entropy.reshape(len(ys), len(xs)), axisOrder="row-major")
        image.setColorMap(pg.colormap.get("viridis"))
        self.map_plot.addItem(image)
        self.map_plot.autoRange()
        self.map_panel.title.setText("predictive entropy (bright = unsure)")

    def _draw_pairs(self) -> None:
        r = self.report
        assert r is not None
        layer = self._label(r.layer)
        twin = TWIN if r.twin_correlations is not None else ""
        self.corr_panel.title.setText(f"unit |correlation|{twin}")
        self.corr_panel.setToolTip(
            f"Absolute correlation between the activations of the units of {layer}"
            + ("; left this run, right the twin without dropout" if twin else "")
        )
        weights = r.features is not None and r.features.ndim == 2
        self.feature_panel.title.setText(
            (
                f"weights of {self._label(r.feature_layer)}, a row per unit"
                if weights
                else "first-layer features"
            )
            + (TWIN if r.twin_features is not None else "")
            if r.features is not None
            else "first-layer features: none (no Dense or convolution layer)"
        )
        self.feature_panel.setToolTip(
            "Each first-layer unit's weights"
            + (", one row per unit: its inputs are not an image" if weights else " as an image")
            + (
                "; left this run, right the twin without dropout"
                if r.twin_features is not None
                else ""
            )
        )
        for plot, mine, twin_values in (
            (self.corr_plot, r.correlations, r.twin_correlations),
            (self.feature_plot, r.features, r.twin_features),
        ):
            plot.clear()
            if mine is None:
                continue
            picture = feature_picture if plot is self.feature_plot else np.abs
            left = picture(mine)
            panels = [left]
            if twin_values is not None:
                right = picture(twin_values)
                height = max(left.shape[0], right.shape[0])
                panels = [
                    pad_rows(left, height),
                    np.full((height, 1 if weights else 2), np.nan),
                    pad_rows(right, height),
                ]
            gap = 1.0 if plot is self.feature_plot else 0.0  # white between grey features
            image = pg.ImageItem(np.nan_to_num(np.hstack(panels), nan=gap), axisOrder="row-major")
            image.setColorMap(pg.colormap.get("viridis" if plot is self.corr_plot else "CET-L1"))
            plot.addItem(image)
            plot.getViewBox().setAspectLocked(plot is self.corr_plot or not weights)
            plot.autoRange()

    def _fill_table(self) -> None:
        r = self.report
        assert r is not None
        twin = {a.name: a for a in r.twin_sparsity or []}
        self.table.setRowCount(len(r.sparsity))
        self.table.setColumnCount(5 if twin else 3)
        self.table.setHorizontalHeaderLabels(TABLE_HEADER[: 5 if twin else 3])
        for row, activity in enumerate(r.sparsity):
            cells = [
                self._label(activity.name),
                f"{activity.zero_fraction:.1%}",
                f"{activity.mean_activation:.4f}",
            ]
            if activity.name in twin:
                other = twin[activity.name]
                cells += [f"{other.zero_fraction:.1%}", f"{other.mean_activation:.4f}"]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self._fit_table()

    def _fit_table(self) -> None:
        """As tall as its rows: every layer is visible without scrolling inside the table."""
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        if not table.rowCount():
            rows = table.verticalHeader().defaultSectionSize()
        frame = 2 * table.frameWidth()
        # room for a sideways scroll bar too: a narrow tab scrolls the columns, never the rows
        height = rows + table.horizontalHeader().height() + frame
        height += table.horizontalScrollBar().sizeHint().height()
        table.setMinimumHeight(min(height, 120))  # a short tab: the table scrolls inside
        table.setMaximumHeight(height)
        table.resizeColumnsToContents()
        columns = sum(table.columnWidth(c) for c in range(table.columnCount()))
        # every column shows, up to a third of a laptop's tab; wider, the table scrolls
        table.setMinimumWidth(min(columns + frame, 260))
        table.setMaximumWidth(columns + frame + table.verticalScrollBar().sizeHint().width())
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
