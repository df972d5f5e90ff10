"""Experiment views: compare with vs without dropout, and rate / size sweeps.

The views draw finished runs as they arrive; after a stop they show only what finished (see
``ui/experiment_control.py`` for the jobs, ``ui/experiment_dialogs.py`` for what they ask).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.ui.plot_axes import fit_legend_row, legend_above, readable_plot, reset_view
from dropout_studio.ui.words import count

COMPARE_INTRO = (
    "Experiments ▸ Compare trains the stack with and without dropout over several seeds."
)
SWEEP_INTRO = "Experiments ▸ Sweep tries several rates (and training-set sizes) with KerasTuner."
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _fill_table(
    table: QTableWidget, rows: list[list[str]], header: list[str], side: list[str] | None = None
) -> None:
    table.setRowCount(len(rows))
    table.setColumnCount(len(header))
    table.setHorizontalHeaderLabels(header)
    table.verticalHeader().setVisible(side is not None)
    if side is not None:
        table.setVerticalHeaderLabels(side)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()


def _beside(plot: QWidget, table: QTableWidget) -> QSplitter:
    """The chart and its table side by side: a short tab (a laptop's 300 px) keeps the chart
    whole, its x axis included; the table scrolls inside if it must."""
    table.setMinimumHeight(60)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(plot)
    splitter.addWidget(table)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setChildrenCollapsible(False)
    return splitter


def _show_whole_table(split: QSplitter, table: QTableWidget, most: float = 0.6) -> None:
    """Give the table the width of its columns (up to ``most`` of the row): every arm or
    column shows where there is room."""
    need = table.verticalHeader().sizeHint().width() + 2 * table.frameWidth() + 4
    need += sum(table.columnWidth(c) for c in range(table.columnCount()))
    total = sum(split.sizes())
    if total > 0:
        side = min(need, int(total * most))
        split.setSizes([total - side, side])


class _SmallPlot(pg.PlotWidget):
    """A plot content with a short tab: its preferred size is modest, so a scrolling page never
    grows to 480 px for it."""

    def sizeHint(self) -> QSize:
        return QSize(360, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 140)


def _plot(owner: QWidget, left: str, bottom: str) -> pg.PlotWidget:
    """A plot without SI prefixes ("(x0.001)") whose legend sits above the data."""
    plot = readable_plot(widget=_SmallPlot)
    plot.setBackground(owner.palette().base().color())
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    legend_above(plot, owner.palette().base().color(), owner.palette().text().color(), 2)
    plot.showGrid(x=True, y=True, alpha=0.2)
    return plot


class CompareView(QWidget):
    """Mean validation curves with min–max bands per arm, and the summary table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _plot(self, "validation loss", "epoch")
        self.status = QLabel(COMPARE_INTRO)
        self.status.setWordWrap(True)
        self.log_y = QCheckBox("log scale")
        self.log_y.setToolTip("Show the loss on a logarithmic axis (the first epochs dominate)")
        self.log_y.toggled.connect(self._on_log_y_toggled)
        self.table = QTableWidget()
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.log_y)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        self.split = _beside(self.plot, self.table)
        layout.addWidget(self.split, 1)
        self.runs: dict[str, list[Any]] = {}

    def clear(self) -> None:
        self.runs = {}
        self._draw()  # no curves, no legend entries
        reset_view(self.plot, (1, 10), (0, 1))
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.status.setText(COMPARE_INTRO)

    def _on_log_y_toggled(self, on: bool) -> None:
        self.plot.setLogMode(y=on)
        self._draw()  # the min–max bands are built from the curves as they are drawn now

    def add_run(self, arm: str, seed: int, result: Any) -> None:
        self.runs.setdefault(arm, []).append(result)
        total = sum(len(v) for v in self.runs.values())
        self.status.setText(f"{count(total, 'run')} finished (latest: {arm}, seed {seed})")
        self._draw()

    def _draw(self) -> None:
        self.plot.clear()
        for colour, (arm, results) in zip(COLOURS, self.runs.items()):
            series = [
                np.array([r.get("val_loss", math.nan) for r in res.history])
                for res in results
                if res.history
            ]
            if not series:
                continue
            length = min(len(s) for s in series)
            stacked = np.stack([s[:length] for s in series])
            epochs = np.arange(1, length + 1)
            low = self.plot.plot(epochs, stacked.min(axis=0), pen=pg.mkPen(colour, width=0.5))
            high = self.plot.plot(epochs, stacked.max(axis=0), pen=pg.mkPen(colour, width=0.5))
            band = pg.FillBetweenItem(
                low,
                high,
                brush=pg.mkBrush(
                    pg.mkColor(colour).red(),
                    pg.mkColor(colour).green(),
                    pg.mkColor(colour).blue(),
                    50,
                ),
            )
            self.plot.addItem(band)
            self.plot.plot(
                epochs,
                stacked.mean(axis=0),
                pen=pg.mkPen(colour, width=1.5),
                name=f"{arm} ({count(len(series), 'seed')})",
            )
        fit_legend_row(self.plot)

    def show_summaries(self, summaries: list[Any], stopped: bool = False) -> None:
        """The table of finished runs, one column per arm (narrow beside the chart); after a
        stop, arms may have fewer seeds (or none)."""
        side = [
            "seeds",
            "best val loss",
            "best epoch",
            "final gap",
            "test loss",
            "test metric",
            "wall s",
        ]
        columns = []
        for summary in summaries:
            st, n = summary.stats(), len(summary.runs)

            def cell(key: str, digits: int = 4, st: dict[str, float] = st, n: int = n) -> str:
                if not math.isfinite(st[key]):
                    return "–"
                spread = f" ± {st[key + '_std']:.{digits}f}" if n > 1 else ""  # none over 1 seed
                return f"{st[key]:.{digits}f}{spread}"

            columns.append(
                [
                    str(len(summary.runs)),
                    cell("best_val_loss"),
                    cell("best_epoch", 1),
                    cell("final_gap"),
                    cell("test_loss"),
                    cell("test_accuracy"),
                    f"{st['wall_time_s']:.1f}" if math.isfinite(st["wall_time_s"]) else "–",
                ]
            )
        rows = [[column[k] for column in columns] for k in range(len(side))]
        _fill_table(self.table, rows, [s.arm for s in summaries], side)
        _show_whole_table(self.split, self.table)
        self.table.setToolTip(
            "Mean ± std over seeds. test loss: of the weights with the best validation loss"
        )
        self.runs = {s.arm: [run.result for run in s.runs] for s in summaries if s.runs}
        self._draw()
        seeds = ", ".join(f"{s.arm} {len(s.runs)}" for s in summaries)
        self.status.setText(
            (
                f"Compare stopped: only finished runs are shown (seeds per arm: {seeds}). "
                if stopped
                else "Compare finished: "
            )
            + "Lower best validation loss is better; the test set was not used to choose "
            "anything."
        )


class SweepView(QWidget):
    """Best validation loss against rate, one line per training-set size (or layer)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _plot(
            self, "best validation loss (mean over seeds)", "dropout rate (fraction dropped)"
        )
        self.status = QLabel(SWEEP_INTRO)
        self.status.setWordWrap(True)
        self.table = QTableWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        self.split = _beside(self.plot, self.table)
        layout.addWidget(self.split, 1)
        self.rows: list[dict[str, Any]] = []

    def clear(self) -> None:
        """Another project: no points, and none of the last sweep's words."""
        self.rows = []
        self._draw()  # no points, no legend entries
        reset_view(self.plot, (0, 1), (0, 1))
        self.table.setRowCount(0)
        self.status.setText(SWEEP_INTRO)

    def _fill_table(self) -> None:
        header = ["rate", "train size", "best val loss", "± std", "test loss", "epoch"]
        per_layer = any("layer" in r for r in self.rows)
        rows = [
            [
                *([str(r["layer"] + 1) if "layer" in r else "all"] if per_layer else []),
                f"{r['rate']:.2f}",
                str(r["train_size"] or "all"),
                f"{r.get('val_loss', math.nan):.4f}",
                f"{r.get('val_loss_std', math.nan):.4f}" if r.get("seeds", 2) > 1 else "–",
                f"{r.get('test_loss', math.nan):.4f}",
                f"{r.get('best_epoch', math.nan):.1f}",
            ]
            for r in self.rows
        ]
        _fill_table(self.table, rows, ["layer", *header] if per_layer else header)
        _show_whole_table(self.split, self.table, 0.5)  # the chart keeps at least half

    def add_trial(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.status.setText(f"{count(len(self.rows), 'point')} finished")
        self._draw()
        self._fill_table()

    def _draw(self) -> None:
        self.plot.clear()
        keys = sorted(
            {(r.get("layer", -1), r["train_size"]) for r in self.rows},
            key=lambda k: (k[0], k[1] or 10**12),
        )
        beam = 0.02 * self._frame()  # the error bars' caps are in data units: a share of it
        for colour, (layer, size) in zip(COLOURS * 4, keys):
            pts = sorted(
                (r for r in self.rows if r.get("layer", -1) == layer and r["train_size"] == size),
                key=lambda r: r["rate"],
            )
            x = np.array([r["rate"] for r in pts])
            y = np.array([r["val_loss"] for r in pts])
            name = f"train size {size or 'all'}" + (f", layer {layer + 1}" if layer >= 0 else "")
            self.plot.plot(
                x, y, pen=pg.mkPen(colour, width=1.5), symbol="o", symbolBrush=colour, name=name
            )
            top = np.array([r.get("val_loss_max", v) for r, v in zip(pts, y)])
            bottom = np.array([r.get("val_loss_min", v) for r, v in zip(pts, y)])
            self.plot.addItem(
                pg.ErrorBarItem(
                    x=x, y=y, top=top - y, bottom=y - bottom, beam=beam, pen=pg.mkPen(colour)
                )
            )
        fit_legend_row(self.plot)

    def _frame(self) -> float:
        """Frames the points (a single rate or loss gets room around it; a loss axis never
        goes below 0) and returns the rate axis' width. Fitted to one point, the view was
        0.02 wide and the error bar's cap crossed it."""
        if not self.rows:
            return 1.0
        rates = [r["rate"] for r in self.rows]
        lows = [r.get("val_loss_min", r["val_loss"]) for r in self.rows]
        highs = [r.get("val_loss_max", r["val_loss"]) for r in self.rows]
        left, right = min(rates), max(rates)
        room = max((right - left) * 0.08, 0.05)
        low, high = min(lows), max(highs)
        pad = max((high - low) * 0.1, abs(high) * 0.05, 1e-6)
        self.plot.setRange(
            xRange=(left - room, right + room), yRange=(max(low - pad, 0.0), high + pad), padding=0
        )
        return right - left + 2 * room

    def finish(self, rows: list[dict[str, Any]], stopped: bool = False) -> None:
        """The finished trials (the table the sweep returned) replace the running picture."""
        self.rows = list(rows)
        self._draw()
        self._fill_table()
        if not rows:
            self.status.setText("Sweep stopped before any point finished.")
        else:
            best = min(rows, key=lambda r: r["val_loss"])
            self.status.setText(
                ("Sweep stopped: " if stopped else "Sweep finished: ")
                + f"{count(len(rows), 'point')}; best rate {best['rate']:.2f} (train size "
                f"{best['train_size'] or 'all'}), validation loss "
                f"{best['val_loss']:.4f}; test loss {best['test_loss']:.4f} "
                "is reported only."
            )
