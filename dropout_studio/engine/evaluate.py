"""Test-set evaluation for the app: predictions, confusion matrix, one sample's prediction."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from dropout_studio.engine.data import Dataset


@dataclass
class Evaluation:
    """Predictions on the held-out test set (dropout off, as at inference)."""

    predictions: np.ndarray
    confusion: np.ndarray | None  # rows: true class, columns: predicted class
    metrics: dict[str, float]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (y_true.astype(int), y_pred.astype(int)), 1)
    return matrix


def evaluate(model: keras.Model, data: Dataset) -> Evaluation:
    predictions = np.asarray(model.predict(data.x_test, verbose=0, batch_size=1024))
    if data.class_names:
        predicted = predictions.argmax(axis=-1)
        confusion = confusion_matrix(data.y_test, predicted, len(data.class_names))
        accuracy = float((predicted == data.y_test).mean()) if len(predicted) else float("nan")
        return Evaluation(predictions, confusion, {"accuracy": accuracy})
    errors = predictions.reshape(len(data.y_test)) - data.y_test
    return Evaluation(
        predictions, None, {"mse": float(np.mean(errors**2)), "mae": float(np.mean(np.abs(errors)))}
    )
