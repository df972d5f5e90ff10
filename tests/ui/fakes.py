"""Test doubles beneath the job runner: a function with ``engine.train``'s signature."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dropout_studio.core.spec import dropout_name


@dataclass(frozen=True)
class TrainingEvent:
    """Shaped like ``engine.train.TrainingEvent`` (importing that would import TensorFlow)."""

    kind: str
    epoch: int = 0
    batch: int = 0
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    masks: dict[str, dict[str, Any]] | None = None
    message: str = ""


@dataclass
class FakeResult:
    status: str
    history: list
    masks: dict
    model: Any = None
    test_metrics: dict = field(default_factory=dict)
    message: str = ""


def fake_masks(project, step):
    """Masks shaped like the engine's records for every dropout layer of the project."""
    rng = np.random.default_rng(step)
    report = project.check()
    out = {}
    for i, layer in enumerate(project.network.layers):
        if layer.dropout.active:
            units = report.layers[i].output_shape[-1]
            keep = (rng.random(units) >= layer.dropout.rate).astype("float32")
            out[dropout_name(i, layer)] = {
                "last_mask": keep,
                "step": step,
                "mode": "dropout",
                "drop_frequency": np.full(units, layer.dropout.rate),
            }
    return out


def fake_trainer(epochs_delay: float = 0.0, until_stopped: bool = False):
    """A function with ``engine.train``'s signature: ``(project, data, on_event, stop)``."""

    def train(project, data, emit, stop):
        emit(TrainingEvent("started", metrics={"epochs": project.training.epochs}))
        history = []
        epoch = 0
        while epoch < project.training.epochs or until_stopped:
            if stop.is_set():
                return FakeResult("stopped", history, fake_masks(project, epoch))
            row = {
                "epoch": epoch,
                "loss": 1 / (epoch + 1),
                "val_loss": 1.2 / (epoch + 1),
                "accuracy": 0.5,
                "val_accuracy": 0.5,
            }
            history.append(row)
            emit(TrainingEvent("epoch_ended", epoch=epoch, metrics=row))
            emit(
                TrainingEvent(
                    "progress",
                    epoch=epoch,
                    batch=3,
                    step=epoch * 3,
                    metrics={"loss": 1 / (epoch + 1)},
                )
            )
            emit(
                TrainingEvent(
                    "masks_recorded",
                    epoch=epoch,
                    step=epoch * 3 + 3,
                    masks=fake_masks(project, epoch),
                )
            )
            time.sleep(epochs_delay)
            epoch += 1
        return FakeResult("finished", history, fake_masks(project, epoch))

    return train


def start_training(window):
    """Press the visible Train action; returns the job it started."""
    window.train_action.trigger()
    assert window.training.job is not None
    assert window.training.job.running
    return window.training.job
