"""Experiments in the window: compare with vs without dropout, and rate / size sweeps.

Both run on a worker thread over an immutable project snapshot, report each finished run as it
arrives (partial results stay on screen), and stop on request after the current run.
"""

from __future__ import annotations

import math
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.project import Project
from dropout_studio.ui.controller import WorkerOwner

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


class ExperimentRunner(WorkerOwner):
    """Runs one experiment function on a thread: ``work(stop, report) -> result``."""

    reported = Signal(object)  # partial result (one finished run or trial)
    finished = Signal(object)
    failed = Signal(str, str)

    def start(self, work: Callable[[threading.Event, Callable[[Any], None]], Any]) -> None:
        self._start_thread(self._run, work)

    def _run(self, work: Callable[..., Any], stop: threading.Event) -> None:
        try:
            result = work(stop, self.reported.emit)
        except Exception as exc:
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        self.finished.emit(result)


def _ok_cancel(dialog: QDialog, accept: Callable[[], None]) -> QDialogButtonBox:
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class CompareDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare with and without dropout")
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 20)
        self.seeds.setValue(3)
        self.seeds.setToolTip(
            "Each seed trains every arm from the same initial weights, split and batch order"
        )
        self.l2 = QCheckBox("add an L2 weight penalty arm (no dropout)")
        self.early = QCheckBox("add an early stopping arm (no dropout)")
        form = QFormLayout(self)
        form.addRow("seeds", self.seeds)
        form.addRow(self.l2)
        form.addRow(self.early)
        form.addRow(_ok_cancel(self, self.accept))

    def arms(self) -> tuple[str, ...]:
        extra = [
            name
            for box, name in ((self.l2, "l2"), (self.early, "early stopping"))
            if box.isChecked()
        ]
        return ("dropout", "no dropout", *extra)


class SweepDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweep dropout rates")
        self.rates = QLineEdit("0, 0.1, 0.3, 0.5, 0.7")
        self.rates.setToolTip("Fractions dropped; 0 = without dropout")
        self.sizes = QLineEdit("all")
        self.sizes.setToolTip("Training-set sizes, e.g. 100, 300, all")
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 10)
        self.seeds.setValue(2)
        self.per_layer = QCheckBox("one layer at a time")
        self.per_layer.setToolTip("Vary each dropout layer on its own instead of all together")
        self.error = QLabel()
        form = QFormLayout(self)
        form.addRow("rates", self.rates)
        form.addRow("train sizes", self.sizes)
        form.addRow("seeds", self.seeds)
        form.addRow(self.per_layer)
        form.addRow(self.error)
        form.addRow(_ok_cancel(self, self._check))

    def parse(self) -> tuple[tuple[float, ...], tuple[int, ...]]:
        rates = tuple(float(t) for t in self.rates.text().replace(" ", "").split(",") if t)
        if not rates or any(not 0 <= r < 1 for r in rates):
            raise ValueError("rates are fractions dropped, from 0 up to (not including) 1")
        sizes = tuple(
            0 if t == "all" else int(t) for t in self.sizes.text().replace(" ", "").split(",") if t
        )
        if not sizes or any(s == 1 or s < 0 for s in sizes):
            raise ValueError("sizes are whole numbers of at least 2, or 'all'")
        return rates, sizes

    def _check(self) -> None:
        try:
            self.parse()
        except ValueError as exc:
            self.error.setText(f"⛔ {exc}")
            return
        self.accept()


def _fill_table(table: QTableWidget, rows: list[list[str]], header: list[str]) -> None:
    table.setRowCount(len(rows))
    table.setColumnCount(len(header))
    table.setHorizontalHeaderLabels(header)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()


def _plot(owner: QWidget, left: str, bottom: str, legend: tuple[int, int]) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setBackground(owner.palette().base().color())
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.addLegend(offset=legend)
    plot.showGrid(x=True, y=True, alpha=0.2)
    return plot


class CompareView(QWidget):
    """Mean validation curves with min–max bands per arm, and the summary table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _plot(self, "validation loss", "epoch", (-10, 10))
        self.status = QLabel(
            "Experiments ▸ Compare trains the stack with and without dropout over several seeds."
        )
        self.status.setWordWrap(True)
        self.table = QTableWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.table, 1)
        self.runs: dict[str, list[Any]] = {}

    def clear(self) -> None:
        self.runs = {}
        self.plot.clear()
        self.table.setRowCount(0)

    def add_run(self, arm: str, seed: int, result: Any) -> None:
        self.runs.setdefault(arm, []).append(result)
        total = sum(len(v) for v in self.runs.values())
        self.status.setText(f"{total} runs finished (latest: {arm}, seed {seed})")
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
                name=f"{arm} ({len(series)} seeds)",
            )

    def show_summaries(self, summaries: list[Any]) -> None:
        header = [
            "arm",
            "best val loss",
            "best epoch",
            "final gap",
            "test loss (best weights)",
            "test metric",
            "wall s",
        ]
        rows = []
        for summary in summaries:
            st = summary.stats()

            def cell(key: str, digits: int = 4, st: dict[str, float] = st) -> str:
                return f"{st[key]:.{digits}f} ± {st[key + '_std']:.{digits}f}"

            rows.append(
                [
                    summary.arm,
                    cell("best_val_loss"),
                    cell("best_epoch", 1),
                    cell("final_gap"),
                    cell("test_loss"),
                    cell("test_accuracy"),
                    f"{st['wall_time_s']:.1f}",
                ]
            )
        _fill_table(self.table, rows, header)
        self.status.setText(
            "Compare finished: lower best validation loss is better; the test "
            "set was not used to choose anything."
        )


class SweepView(QWidget):
    """Best validation loss against rate, one line per training-set size (or layer)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _plot(
            self,
            "best validation loss (mean over seeds)",
            "dropout rate (fraction dropped)",
            (10, 10),
        )
        self.status = QLabel(
            "Experiments ▸ Sweep tries several rates (and training-set sizes) with KerasTuner."
        )
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        self.rows: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.rows = []
        self.plot.clear()

    def add_trial(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.status.setText(f"{len(self.rows)} points finished")
        self._draw()

    def _draw(self) -> None:
        self.plot.clear()
        keys = sorted(
            {(r.get("layer", -1), r["train_size"]) for r in self.rows},
            key=lambda k: (k[0], k[1] or 10**12),
        )
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
                    x=x, y=y, top=top - y, bottom=y - bottom, beam=0.02, pen=pg.mkPen(colour)
                )
            )

    def finish(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            best = min(rows, key=lambda r: r["val_loss"])
            self.status.setText(
                f"Sweep finished: best rate {best['rate']:.2f} (train size "
                f"{best['train_size'] or 'all'}), validation loss "
                f"{best['val_loss']:.4f}; test loss {best['test_loss']:.4f} "
                "is reported only."
            )


def compare_work(
    project: Project, arms: tuple[str, ...], seeds: int, project_file: Path | None
) -> Callable[..., Any]:
    def work(stop: threading.Event, report: Callable[[Any], None]) -> Any:
        from dropout_studio.engine.compare import compare

        return compare(
            project,
            seeds,
            arms,
            project_file,
            on_run=lambda arm, seed, result: report((arm, seed, result)),
            stop=stop,
        )

    return work


def sweep_work(
    project: Project,
    rates: tuple[float, ...],
    sizes: tuple[int, ...],
    seeds: int,
    per_layer: bool,
    folder: Path,
    project_file: Path | None,
) -> Callable[..., Any]:
    def work(stop: threading.Event, report: Callable[[Any], None]) -> Any:
        from dropout_studio.engine.sweep import SweepPlan, run_sweep

        plan = SweepPlan(rates=rates, sizes=sizes, seeds=seeds, per_layer=per_layer)
        return run_sweep(project, plan, folder, project_file, report, stop)

    return work
