"""After training: test-set metrics, a confusion matrix, and the prediction for any sample."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.ui.sample_view import draw_sample
from dropout_studio.ui.words import OutdatedNote


def output_is_probability(project: Any) -> bool:
    """True when the last layer ends in softmax or sigmoid; otherwise the model outputs logits."""
    layers = project.network.layers
    return bool(layers) and layers[-1].option("activation") in ("softmax", "sigmoid")


def probabilities(outputs: np.ndarray) -> np.ndarray:
    """Logits to probabilities: softmax over several outputs, sigmoid for a single one."""
    z = np.asarray(outputs, dtype="float64")
    if z.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-z))
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def with_probabilities(evaluation: Any, project: Any) -> Any:
    """The evaluation with predictions as probabilities when a classifier outputs logits."""
    if evaluation.confusion is None or output_is_probability(project):
        return evaluation
    return replace(evaluation, predictions=probabilities(evaluation.predictions))


class VerticalLabel(QLabel):
    """A label drawn bottom to top: the confusion matrix's "true class" axis title."""

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.translate(0, self.height())
        painter.rotate(-90)
        painter.drawText(
            0, 0, self.height(), self.width(), Qt.AlignmentFlag.AlignCenter, self.text()
        )
        painter.end()

    def sizeHint(self) -> QSize:
        size = super().sizeHint()
        return QSize(size.height(), size.width())

    def minimumSizeHint(self) -> QSize:
        size = super().minimumSizeHint()
        return QSize(size.height(), size.width())


INTRO = (
    "Train a model to evaluate it on the held-out test set. Dropout is off when the model predicts."
)


class EvaluatePanel(QWidget):
    """A view over an evaluation computed off the GUI thread (see MainWindow).

    The confusion matrix (classification only) has "true class" and "predicted class" axis
    titles; the chosen test sample is drawn below it (image, point or sequence) with the
    prediction, and takes the panel's free height so nothing floats in the middle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: Any = None
        self.evaluation: Any = None
        self.outdated = OutdatedNote()
        self.summary = QLabel(INTRO)
        self.summary.setWordWrap(True)
        self.matrix = QTableWidget()
        self.matrix.setToolTip(
            "Confusion matrix on the test set: rows are the true class, columns the predicted class"
        )
        self.matrix.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.predicted_title = QLabel("predicted class →")
        self.predicted_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.true_title = VerticalLabel("← true class")
        self.matrix_box = QWidget()
        grid = QGridLayout(self.matrix_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        grid.addWidget(self.predicted_title, 0, 1)
        grid.addWidget(self.true_title, 1, 0)
        grid.addWidget(self.matrix, 1, 1)
        # The matrix grows up to its cells' size; beyond that the empty column and row take
        # the room, so the axis titles stay at its edges.
        grid.setColumnStretch(1, 10)
        grid.setColumnStretch(2, 1)
        grid.setRowStretch(1, 10)
        grid.setRowStretch(2, 1)
        self.sample = QSpinBox()
        self.sample.setToolTip("Pick a test sample to see the model's prediction")
        self.sample.valueChanged.connect(self._show_sample)
        self.prediction = QLabel()
        self.prediction.setWordWrap(True)
        self.picture = pg.PlotWidget()
        self.picture.setBackground(self.palette().base().color())
        self.picture.setMinimumHeight(120)
        self.picture.setToolTip("The chosen test sample")
        self.picture_caption = QLabel()
        self.picture_caption.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("test sample"))
        row.addWidget(self.sample)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.outdated)
        layout.addWidget(self.summary)
        layout.addWidget(self.matrix_box)
        layout.addLayout(row)
        layout.addWidget(self.prediction)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.picture_caption)
        layout.addStretch(0)  # holds the text at the top when nothing below is shown
        self.clear()

    def clear(self) -> None:
        """Forget the evaluation of a model that no longer belongs to the project."""
        self.data = self.evaluation = None
        self.outdated.set_outdated(False)
        self.summary.setText(INTRO)
        self.matrix.setRowCount(0)
        self.matrix.setColumnCount(0)
        self.matrix_box.setVisible(False)
        self.prediction.setText("")
        self.picture.clear()
        self.picture.setVisible(False)
        self.picture_caption.setText("")

    def show_evaluation(self, data: Any, evaluation: Any) -> None:
        self.data, self.evaluation = data, evaluation
        self.outdated.set_outdated(False)
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in evaluation.metrics.items())
        self.summary.setText(
            f"Test set ({len(data.x_test)} samples, never used for training "
            f"or model choice): {metrics}"
        )
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(0, len(data.x_test) - 1))
        self.sample.blockSignals(False)
        self.picture.setVisible(bool(len(data.x_test)))
        self._show_sample(self.sample.value())
        # The matrix in the next turn of the event loop: the end of a run then comes in two
        # short pieces, not one long stall of the window.
        QTimer.singleShot(0, self, lambda shown=evaluation: self._show_matrix(shown))

    def _show_matrix(self, shown: Any) -> None:
        if shown is not self.evaluation:
            return  # cleared, or a newer evaluation came first
        matrix = self.evaluation.confusion
        self.matrix_box.setVisible(matrix is not None)
        if matrix is None:
            return
        names = self.data.class_names
        self.matrix.setRowCount(len(names))
        self.matrix.setColumnCount(len(names))
        self.matrix.setHorizontalHeaderLabels(list(names))
        self.matrix.setVerticalHeaderLabels(list(names))
        peak = max(1, int(matrix.max()))
        for r in range(len(names)):
            for c in range(len(names)):
                item = QTableWidgetItem(str(int(matrix[r, c])))
                strength = matrix[r, c] / peak
                colour = QColor(31, 119, 180) if r == c else QColor(214, 39, 40)
                colour.setAlphaF(0.08 + 0.6 * strength)
                item.setBackground(QBrush(colour))
                item.setToolTip(f"true {names[r]}, predicted {names[c]}: {int(matrix[r, c])}")
                self.matrix.setItem(r, c, item)
        self.matrix.resizeColumnsToContents()
        self._fit_matrix()

    def _fit_matrix(self) -> None:
        """Every cell visible in a laptop's side panel: columns as narrow as the widest count
        (not Qt's 50 px minimum section), no scroll bars up to about 12 classes; the table is no
        larger than its cells, so the axis titles sit at its edges."""
        table = self.matrix
        metrics = table.fontMetrics()
        header = table.horizontalHeader()
        header.setMinimumSectionSize(1)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        table.setStyleSheet("QTableWidget::item { padding: 0px; }")
        cells = [
            table.item(r, c) for r in range(table.rowCount()) for c in range(table.columnCount())
        ]
        heads = [table.horizontalHeaderItem(c) for c in range(table.columnCount())]
        texts = [item.text() for item in (*cells, *heads) if item is not None]
        widest = max((metrics.horizontalAdvance(t) for t in [*texts, "88"]), default=16)
        for c in range(table.columnCount()):
            table.setColumnWidth(c, widest + 8)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        width = table.verticalHeader().sizeHint().width() + 2 * table.frameWidth()
        width += sum(table.columnWidth(c) for c in range(table.columnCount()))
        height = header.sizeHint().height() + 2 * table.frameWidth()
        height += sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setMaximumSize(width + 2, height + 2)
        table.setMinimumSize(min(width + 2, 260), min(height + 2, 320))

    def _show_sample(self, index: int) -> None:
        if self.evaluation is None or not len(self.data.x_test):
            return
        p = np.asarray(self.evaluation.predictions[index]).reshape(-1)
        truth = self.data.y_test[index]
        names = self.data.class_names
        if names:
            order = np.argsort(p)[::-1][:3]
            best = ", ".join(f"{names[k]} {p[k]:.1%}" for k in order)
            self.prediction.setText(
                f"sample {index}: true class {names[int(truth)]}; predicted {best}"
            )
        else:
            self.prediction.setText(
                f"sample {index}: true value {float(truth):.4f}; predicted {float(p[0]):.4f}"
            )
        caption = draw_sample(
            self.picture,
            self.data.x_test,  # images stay 8-bit (or on disk): only the sample is read
            np.asarray(self.data.y_test),
            index,
            len(names),
            None if names else float(p[0]),
        )
        self.picture_caption.setText(caption)
