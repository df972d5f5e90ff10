"""Inside the trained network: MC-dropout uncertainty, sparsity, co-adaptation, features.

The window computes these off the GUI thread (``engine.analysis``) and hands the numbers here;
"twin" numbers come from the same stack trained without dropout (same seed, same split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass
class InsideReport:
    """Everything the Inside tab draws; ``twin`` fields are None until the twin is trained."""

    class_names: list[str]
    sample_index: int
    mc_mean: np.ndarray  # (outputs,)
    mc_std: np.ndarray
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # xs, ys, entropy (2-D data)
    sparsity: list[Any]
    correlations: np.ndarray | None
    coadaptation: float | None
    layer: str
    features: np.ndarray | None
    twin_sparsity: list[Any] | None = None
    twin_correlations: np.ndarray | None = None
    twin_coadaptation: float | None = None
    twin_features: np.ndarray | None = None


def _pad_rows(image: np.ndarray, height: int) -> np.ndarray:
    return np.pad(image, ((0, height - image.shape[0]), (0, 0)), constant_values=np.nan)


def feature_montage(features: np.ndarray, columns: int = 8, limit: int = 32) -> np.ndarray:
    """Small images in a grid, each scaled to its own range, separated by a 1-pixel gap."""
    tiles = features[:limit]
    h, w = tiles.shape[1:3]
    rows = int(np.ceil(len(tiles) / columns))
    out = np.full((rows * (h + 1), columns * (w + 1)), np.nan, dtype=float)
    for k, tile in enumerate(tiles):
        low, high = float(tile.min()), float(tile.max())
        scaled = (tile - low) / (high - low) if high > low else tile * 0
        r, c = divmod(k, columns)
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = scaled
    return np.nan_to_num(out, nan=0.5)


class InsideView(QWidget):
    """Monte Carlo dropout, activation sparsity, co-adaptation and first-layer features."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: InsideReport | None = None
        self.sample = QSpinBox()
        self.sample.setToolTip("Test sample whose Monte Carlo dropout prediction is shown")
        self.samples = QSpinBox()
        self.samples.setRange(5, 500)
        self.samples.setValue(30)
        self.samples.setToolTip("Stochastic forward passes with only the dropout layers on")
        self.analyse = QPushButton("Analyse trained model")
        self.analyse.setToolTip(
            "MC dropout, sparsity, co-adaptation and features of the last trained model"
        )
        self.twin = QPushButton("Train no-dropout twin")
        self.twin.setToolTip(
            "Train the same stack without dropout (same seed and split) to "
            "compare sparsity, co-adaptation and features"
        )
        self.summary = QLabel("Train a model, then analyse it.")
        self.summary.setWordWrap(True)
        self.mc_plot = pg.PlotWidget(title="MC dropout: mean ± std per output")
        self.map_plot = pg.PlotWidget(title="predictive uncertainty (2-D data)")
        self.corr_plot = pg.PlotWidget(title="unit correlations (this run | twin)")
        self.feature_plot = pg.PlotWidget(title="first-layer features (this run | twin)")
        for plot in (self.mc_plot, self.map_plot, self.corr_plot, self.feature_plot):
            plot.setBackground(self.palette().base().color())
            plot.setMinimumHeight(170)
        for plot in (self.map_plot, self.corr_plot, self.feature_plot):
            plot.getViewBox().setAspectLocked(True)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["layer", "zero activations", "mean activation"])
        controls = QGridLayout()
        controls.addWidget(QLabel("test sample"), 0, 0)
        controls.addWidget(self.sample, 0, 1)
        controls.addWidget(QLabel("MC samples"), 0, 2)
        controls.addWidget(self.samples, 0, 3)
        controls.addWidget(self.analyse, 0, 4)
        controls.addWidget(self.twin, 0, 5)
        grid = QGridLayout()
        grid.addWidget(self.mc_plot, 0, 0)
        grid.addWidget(self.map_plot, 0, 1)
        grid.addWidget(self.corr_plot, 1, 0)
        grid.addWidget(self.feature_plot, 1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 3)
        layout.addWidget(self.table, 1)

    def clear(self, text: str = "Train a model, then analyse it.") -> None:
        """Forget results of a model that is gone (another project or another run)."""
        self.report = None
        for plot in (self.mc_plot, self.map_plot, self.corr_plot, self.feature_plot):
            plot.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(3)
        self.table.setHorizontalHeaderLabels(["layer", "zero activations", "mean activation"])
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
                f"co-adaptation of {report.layer} (mean |correlation| between units): "
                f"{report.coadaptation:.3f} with dropout"
            )
            if report.twin_coadaptation is not None:
                parts[-1] += f", {report.twin_coadaptation:.3f} without"
        self.summary.setText("; ".join(parts) or "analysed")

    def _draw_mc(self) -> None:
        r = self.report
        assert r is not None
        self.mc_plot.clear()
        x = np.arange(len(r.mc_mean))
        self.mc_plot.addItem(pg.BarGraphItem(x=x, height=r.mc_mean, width=0.6, brush="#1f77b4"))
        self.mc_plot.addItem(pg.ErrorBarItem(x=x, y=r.mc_mean, height=2 * r.mc_std, beam=0.3))
        if r.class_names:
            ticks = [list(enumerate(r.class_names))]
            self.mc_plot.getAxis("bottom").setTicks(ticks)
        self.mc_plot.setTitle(f"MC dropout on test sample {r.sample_index}: mean ± std")

    def _draw_map(self) -> None:
        r = self.report
        assert r is not None
        self.map_plot.clear()
        if r.grid is None:
            self.map_plot.setTitle("uncertainty map: needs 2-D data")
            return
        xs, ys, entropy = r.grid
        image = pg.ImageItem(entropy.reshape(len(ys), len(xs)), axisOrder="row-major")
        image.setColorMap(pg.colormap.get("viridis"))
        self.map_plot.addItem(image)
        self.map_plot.setTitle("predictive entropy over the input plane (bright = unsure)")

    def _draw_pairs(self) -> None:
        r = self.report
        assert r is not None
        for plot, mine, twin in (
            (self.corr_plot, r.correlations, r.twin_correlations),
            (self.feature_plot, r.features, r.twin_features),
        ):
            plot.clear()
            if mine is None:
                continue
            left = np.abs(mine) if plot is self.corr_plot else feature_montage(mine)
            panels = [left]
            if twin is not None:
                right = np.abs(twin) if plot is self.corr_plot else feature_montage(twin)
                height = max(left.shape[0], right.shape[0])
                panels = [
                    _pad_rows(left, height),
                    np.full((height, 2), np.nan),
                    _pad_rows(right, height),
                ]
            image = pg.ImageItem(np.nan_to_num(np.hstack(panels), nan=0.0), axisOrder="row-major")
            image.setColorMap(pg.colormap.get("viridis" if plot is self.corr_plot else "CET-L1"))
            plot.addItem(image)

    def _fill_table(self) -> None:
        r = self.report
        assert r is not None
        twin = {a.name: a for a in r.twin_sparsity or []}
        self.table.setRowCount(len(r.sparsity))
        if twin:
            self.table.setColumnCount(5)
            self.table.setHorizontalHeaderLabels(
                [
                    "layer",
                    "zero activations",
                    "mean activation",
                    "zero (no dropout)",
                    "mean (no dropout)",
                ]
            )
        for row, activity in enumerate(r.sparsity):
            cells = [
                activity.name,
                f"{activity.zero_fraction:.1%}",
                f"{activity.mean_activation:.4f}",
            ]
            if activity.name in twin:
                other = twin[activity.name]
                cells += [f"{other.zero_fraction:.1%}", f"{other.mean_activation:.4f}"]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()


def analyse(
    model: Any,
    data: Any,
    index: int,
    samples: int,
    input_shape: tuple[int, ...],
    from_logits: bool = False,
) -> InsideReport:
    """All Inside-tab numbers for one model (runs off the GUI thread).

    ``from_logits``: the classifier's last layer has no softmax/sigmoid, so every Monte Carlo
    sample is turned into probabilities before means and entropies are taken."""
    from dropout_studio.engine import analysis
    from dropout_studio.ui.evaluate import probabilities

    def mc(x: np.ndarray, n: int) -> np.ndarray:
        out = analysis.mc_dropout(model, x, n)
        return probabilities(out) if from_logits and data.class_names else out

    x_test = data.x_test if len(data.x_test) else data.x_val
    index = min(index, len(x_test) - 1)
    mc_samples = mc(x_test[index : index + 1], samples)[:, 0]
    grid = None
    if data.x_train.ndim == 2 and data.x_train.shape[1] == 2:
        low, high = data.x_train.min(axis=0) - 0.5, data.x_train.max(axis=0) + 0.5
        xs, ys = np.linspace(low[0], high[0], 50), np.linspace(low[1], high[1], 50)
        plane = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype("float32")
        uncertainty = analysis.predictive_uncertainty(mc(plane, min(samples, 20)))
        grid = (xs, ys, uncertainty.entropy)
    probe = data.x_val[:512]
    sparsity = analysis.activation_sparsity(model, probe)
    hidden = next((a.name for a in sparsity[:-1]), None)
    corr = analysis.unit_correlations(model, probe, hidden) if hidden else None
    if corr is not None and len(corr) > 64:
        corr = corr[:64, :64]  # readable; the summary number uses all units below
    full = analysis.unit_correlations(model, probe, hidden) if hidden else None
    try:
        features = analysis.first_layer_features(model, input_shape)
    except ValueError:
        features = None
    return InsideReport(
        class_names=list(data.class_names),
        sample_index=index,
        mc_mean=mc_samples.mean(axis=0),
        mc_std=mc_samples.std(axis=0),
        grid=grid,
        sparsity=sparsity,
        correlations=corr,
        coadaptation=analysis.coadaptation(full) if full is not None else None,
        layer=hidden or "",
        features=features,
    )
