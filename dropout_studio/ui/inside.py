"""Inside the trained network: MC-dropout uncertainty, sparsity, co-adaptation, features.

The window computes these off the GUI thread (``engine.analysis``) and hands the numbers here;
"twin" numbers come from the same stack trained without dropout (same seed, same split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

from dropout_studio.core.spec import NetworkSpec
from dropout_studio.ui.inside_pictures import feature_picture, pad_rows, stack_labels

INTRO = "Train a model, then analyse it."
MIN_PLOT_HEIGHT = 190
TABLE_HEADER = ["layer", "zero activations", "mean", "zeros, no dropout", "mean, no dropout"]


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
    features: np.ndarray | None  # (units, h, w) images, or (units, inputs) weights
    twin_sparsity: list[Any] | None = None
    twin_correlations: np.ndarray | None = None
    twin_coadaptation: float | None = None
    twin_features: np.ndarray | None = None
    labels: dict[str, str] = field(default_factory=dict)  # Keras name -> "layer 2 (Dense 500)"
    feature_layer: str = ""  # Keras name of the layer whose weights ``features`` shows


class _Plot(pg.PlotWidget):
    """A plot that asks for a modest height, so the scrolling page is only as tall as needed
    (wrapped titles make the page's height depend on its width, computed from size hints)."""

    def sizeHint(self) -> QSize:
        return QSize(320, MIN_PLOT_HEIGHT)


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

    Each plot keeps a readable minimum height and the sparsity table is as tall as its rows:
    on a small screen the window's tab page scrolls (``PageTabs``) instead of squeezing them.
    Titles are word-wrapped labels, never clipped."""

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
        self.summary = QLabel(INTRO)
        self.summary.setWordWrap(True)
        self.mc_plot = _Plot()
        self.map_plot = _Plot()
        self.corr_plot = _Plot()
        self.feature_plot = _Plot()
        self.mc_panel = _Panel("Monte Carlo dropout: mean ± std of each output", self.mc_plot)
        self.map_panel = _Panel("predictive uncertainty over the input plane", self.map_plot)
        self.corr_panel = _Panel("unit correlations (this run | twin)", self.corr_plot)
        self.feature_panel = _Panel("first-layer features (this run | twin)", self.feature_plot)
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
            "and the mean, with dropout and (after the twin is trained) without"
        )
        controls = QGridLayout()  # two rows: the tab stays usable in a narrow window
        controls.addWidget(QLabel("test sample"), 0, 0)
        controls.addWidget(self.sample, 0, 1)
        controls.addWidget(QLabel("MC samples"), 0, 2)
        controls.addWidget(self.samples, 0, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(self.analyse)
        buttons.addWidget(self.twin)
        buttons.addStretch(1)
        controls.addLayout(buttons, 1, 0, 1, 5)
        controls.setColumnStretch(4, 1)
        self.grid = QGridLayout()
        self._place_panels(two_d=True)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addLayout(self.grid, 1)
        layout.addWidget(self.table)
        self._fit_table()

    def _place_panels(self, two_d: bool) -> None:
        """The uncertainty map only for 2-D data; otherwise the MC plot takes the whole row."""
        self.grid.addWidget(self.mc_panel, 0, 0, 1, 1 if two_d else 2)
        self.map_panel.setVisible(two_d)
        if two_d:
            self.grid.addWidget(self.map_panel, 0, 1)
        self.grid.addWidget(self.corr_panel, 1, 0)
        self.grid.addWidget(self.feature_panel, 1, 1)

    def clear(self, text: str = INTRO) -> None:
        """Forget results of a model that is gone (another project or another run)."""
        self.report = None
        for plot in (self.mc_plot, self.map_plot, self.corr_plot, self.feature_plot):
            plot.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(3)
        self.table.setHorizontalHeaderLabels(TABLE_HEADER[:3])
        self._fit_table()
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
        self.mc_panel.title.setText(
            f"Monte Carlo dropout on test sample {r.sample_index}: mean ± std of each output"
        )

    def _draw_map(self) -> None:
        r = self.report
        assert r is not None
        self.map_plot.clear()
        self._place_panels(two_d=r.grid is not None)
        if r.grid is None:
            return
        xs, ys, entropy = r.grid
        image = pg.ImageItem(entropy.reshape(len(ys), len(xs)), axisOrder="row-major")
        image.setColorMap(pg.colormap.get("viridis"))
        self.map_plot.addItem(image)
        self.map_plot.autoRange()
        self.map_panel.title.setText("predictive entropy over the input plane (bright = unsure)")

    def _draw_pairs(self) -> None:
        r = self.report
        assert r is not None
        layer = self._label(r.layer)
        twin = " | twin without dropout" if r.twin_correlations is not None else ""
        self.corr_panel.title.setText(f"|correlation| between units of {layer} (this run{twin})")
        weights = r.features is not None and r.features.ndim == 2
        self.feature_panel.title.setText(
            (
                f"first-layer weights of {self._label(r.feature_layer)}, one row per unit; "
                "its inputs are not an image"
                if weights
                else "first-layer features: each unit's weights as an image"
            )
            + (" (this run | twin)" if r.twin_features is not None else "")
            if r.features is not None
            else "first-layer features: this model has no Dense or convolution layer to show"
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
        table.setFixedHeight(rows + table.horizontalHeader().height() + frame)
        columns = sum(table.columnWidth(c) for c in range(table.columnCount()))
        table.setMinimumWidth(columns + frame)  # a narrow tab scrolls the page, not the table


def analyse(
    model: Any,
    data: Any,
    index: int,
    samples: int,
    input_shape: tuple[int, ...],
    from_logits: bool = False,
    network: NetworkSpec | None = None,
) -> InsideReport:
    """All Inside-tab numbers for one model (runs off the GUI thread).

    ``from_logits``: the classifier's last layer has no softmax/sigmoid, so every Monte Carlo
    sample is turned into probabilities before means and entropies are taken. ``network``
    names the layers as the stack shows them."""
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
    features, feature_layer = _first_layer_picture(model, input_shape)
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
        labels=stack_labels(network),
        feature_layer=feature_layer,
    )


def _first_layer_picture(model: Any, input_shape: tuple[int, ...]) -> tuple[Any, str]:
    """Unit weights as images when the first layer sees an image, else its weight matrix
    (one row per unit), so the features panel is never empty for a model with weights."""
    from dropout_studio.engine import analysis

    weighted = [layer for layer in model.layers if layer.trainable_weights]
    first = weighted[0].name if weighted else ""
    try:
        return analysis.first_layer_features(model, input_shape), first
    except ValueError:
        pass
    if not weighted:
        return None, ""
    # the kernel, not a bias or a recorded dropout mask (non-trainable, and listed first)
    variables = weighted[0].trainable_weights
    chosen = next((v for v in variables if "kernel" in getattr(v, "name", "")), variables[0])
    from keras import ops

    kernel = np.asarray(ops.convert_to_numpy(chosen), dtype=float)
    matrix = kernel.reshape(-1, kernel.shape[-1]).T  # (units, inputs)
    return matrix[:128], first
