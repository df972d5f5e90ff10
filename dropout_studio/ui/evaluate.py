"""After training: test-set metrics, a confusion matrix, and the prediction for any sample."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


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


class EvaluatePanel(QWidget):
    """A view over an evaluation computed off the GUI thread (see MainWindow)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: Any = None
        self.evaluation: Any = None
        self.summary = QLabel(
            "Train a model to evaluate it on the held-out test set. Dropout "
            "is off when the model predicts."
        )
        self.summary.setWordWrap(True)
        self.matrix = QTableWidget()
        self.matrix.setToolTip(
            "Confusion matrix on the test set: rows are the true class, columns the predicted class"
        )
        self.sample = QSpinBox()
        self.sample.setToolTip("Pick a test sample to see the model's prediction")
        self.sample.valueChanged.connect(self._show_sample)
        self.prediction = QLabel()
        self.prediction.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("test sample"))
        row.addWidget(self.sample)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.matrix, 1)
        layout.addLayout(row)
        layout.addWidget(self.prediction)

    def clear(self) -> None:
        """Forget the evaluation of a model that no longer belongs to the project."""
        self.data = self.evaluation = None
        self.summary.setText(
            "Train a model to evaluate it on the held-out test set. Dropout "
            "is off when the model predicts."
        )
        self.matrix.setRowCount(0)
        self.matrix.setColumnCount(0)
        self.prediction.setText("")

    def show_evaluation(self, data: Any, evaluation: Any) -> None:
        self.data, self.evaluation = data, evaluation
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in evaluation.metrics.items())
        self.summary.setText(
            f"Test set ({len(data.x_test)} samples, never used for training "
            f"or model choice): {metrics}"
        )
        self._show_matrix()
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(0, len(data.x_test) - 1))
        self.sample.blockSignals(False)
        self._show_sample(self.sample.value())

    def _show_matrix(self) -> None:
        matrix = self.evaluation.confusion
        self.matrix.setVisible(matrix is not None)
        if matrix is None:
            return
        names = self.data.class_names
        self.matrix.setRowCount(len(names))
        self.matrix.setColumnCount(len(names))
        self.matrix.setHorizontalHeaderLabels([f"→{n}" for n in names])
        self.matrix.setVerticalHeaderLabels(names)
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

    def _show_sample(self, index: int) -> None:
        if self.evaluation is None or not len(self.data.x_test):
            return
        p = np.asarray(self.evaluation.predictions[index]).reshape(-1)
        truth = self.data.y_test[index]
        if self.data.class_names:
            names = self.data.class_names
            order = np.argsort(p)[::-1][:3]
            best = ", ".join(f"{names[k]} {p[k]:.1%}" for k in order)
            self.prediction.setText(
                f"sample {index}: true class {names[int(truth)]}; predicted {best}"
            )
        else:
            self.prediction.setText(
                f"sample {index}: true value {float(truth):.4f}; predicted {float(p[0]):.4f}"
            )
