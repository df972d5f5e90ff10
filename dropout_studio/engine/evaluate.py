"""Test-set evaluation for the app: predictions, confusion matrix, one sample's prediction."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from dropout_studio.engine.data import Dataset, Features


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


def predict(model: keras.Model, x: Features, chunk: int = 1024) -> np.ndarray:
    """Inference-mode predictions, eagerly: no tracing, so no long GIL-holding graph build.

    ``x`` may be an image part kept as uint8 or on disk: each chunk is read as floats."""
    if not len(x):
        return np.zeros((0, *model.output_shape[1:]), dtype="float32")
    parts = [
        keras.ops.convert_to_numpy(model(x[i : i + chunk], training=False))
        for i in range(0, len(x), chunk)
    ]
    return np.concatenate(parts)


def evaluate(model: keras.Model, data: Dataset) -> Evaluation:
    predictions = predict(model, data.x_test)
    if data.class_names:
        predicted = predictions.argmax(axis=-1)
        confusion = confusion_matrix(data.y_test, predicted, len(data.class_names))
        accuracy = float((predicted == data.y_test).mean()) if len(predicted) else float("nan")
        return Evaluation(predictions, confusion, {"accuracy": accuracy})
    errors = predictions.reshape(len(data.y_test)) - data.y_test
    return Evaluation(
        predictions, None, {"mse": float(np.mean(errors**2)), "mae": float(np.mean(np.abs(errors)))}
    )
