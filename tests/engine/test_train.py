"""Training: events, determinism, stop, NaN, early stopping, both loops."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import load_preset
from dropout_studio.engine.build import build_model, parameter_counts
from dropout_studio.engine.data import Dataset, load_dataset
from dropout_studio.engine.train import TrainingError, train
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_data():
    project = tiny_project()
    return load_dataset(project.dataset, project.training.seed)


@pytest.mark.parametrize("loop", ["compiled", "fit"])
def test_every_epoch_reaches_the_history_and_events(tiny_data, loop):
    events = []
    result = train(tiny_project(epochs=6), tiny_data, events.append, loop=loop)
    assert result.status == "finished"
    assert result.loop == loop
    assert [row["epoch"] for row in result.history] == list(range(6))
    assert set(result.history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    kinds = [e.kind for e in events]
    assert kinds[0] == "started"
    assert kinds[-1] == "finished"
    assert Counter(kinds)["epoch_ended"] == 6
    assert "masks_recorded" in kinds
    snapshot = next(e for e in events if e.kind == "masks_recorded")
    assert snapshot.step > 0
    assert "dense_2_dropout" in snapshot.masks
    assert set(result.test_metrics) == {"loss", "accuracy"}
    freq = result.masks["dense_2_dropout"]["drop_frequency"]
    assert abs(freq.mean() - 0.5) < 0.05  # accumulated inside every compiled step


def test_loss_decreases_and_loops_agree_roughly(tiny_data):
    compiled = train(tiny_project(epochs=30), tiny_data, loop="compiled")
    fitted = train(tiny_project(epochs=30), tiny_data, loop="fit")
    for result in (compiled, fitted):
        assert result.history[-1]["val_loss"] < result.history[0]["val_loss"] * 0.8
    assert abs(compiled.test_metrics["accuracy"] - fitted.test_metrics["accuracy"]) < 0.15


def test_same_seed_gives_the_same_history(tiny_data):
    a = train(tiny_project(epochs=4), tiny_data)
    b = train(tiny_project(epochs=4), tiny_data)
    c = train(tiny_project(epochs=4, seed=3), tiny_data)
    assert a.history == b.history
    assert a.history != c.history
    np.testing.assert_array_equal(
        a.masks["dense_2_dropout"]["last_mask"], b.masks["dense_2_dropout"]["last_mask"]
    )


@pytest.mark.parametrize("loop", ["compiled", "fit"])
def test_stop_keeps_finished_epochs_and_returns_promptly(tiny_data, loop):
    stop = threading.Event()
    stopped_at = []

    def on_event(event):
        if event.kind == "epoch_ended" and event.epoch == 2 and not stop.is_set():
            stop.set()
            stopped_at.append(time.perf_counter())

    result = train(tiny_project(epochs=10_000), tiny_data, on_event, stop, loop=loop)
    latency = time.perf_counter() - stopped_at[0]
    assert result.status == "stopped"
    assert 3 <= len(result.history) < 10_000
    assert [r["epoch"] for r in result.history] == list(range(len(result.history)))
    assert latency < 1.5  # bench/ measures the real figure; this only catches a hang


def test_stop_during_a_long_validation_pass_with_fit():
    rng = np.random.default_rng(0)
    x_val = rng.random((300_000, 2), dtype=np.float32)
    data = Dataset(
        rng.random((64, 2), dtype=np.float32),
        rng.integers(0, 2, 64),
        x_val,
        rng.integers(0, 2, 300_000),
        x_val[:10],
        rng.integers(0, 2, 10),
        ["a", "b"],
    )
    project = tiny_project(epochs=3).with_training(batch_size=64)
    stop = threading.Event()
    project = replace(project)
    stamps = []

    def on_event(event):
        if event.kind == "progress" and not stop.is_set():
            threading.Timer(0.3, lambda: (stamps.append(time.perf_counter()), stop.set())).start()

    result = train(project, data, on_event, stop, loop="fit")
    assert result.status == "stopped"
    assert time.perf_counter() - stamps[0] < 1.5


def test_nan_loss_stops_with_epoch_and_batch(tiny_data):
    bad = Dataset(
        tiny_data.x_train * np.float32(1e38),
        tiny_data.y_train,
        tiny_data.x_val,
        tiny_data.y_val,
        tiny_data.x_test,
        tiny_data.y_test,
        tiny_data.class_names,
    )
    project = tiny_project(epochs=3).with_training(learning_rate=10.0)
    for loop in ("compiled", "fit"):
        events = []
        result = train(project, bad, events.append, loop=loop)
        assert result.status == "failed"
        assert "NaN or infinite at epoch 1, batch" in result.message
        assert events[-1].kind == "failed"


def test_early_stopping_ends_before_the_last_epoch(tiny_data):
    result = train(
        tiny_project(epochs=3000, early_stopping=3).with_training(learning_rate=0.05), tiny_data
    )
    assert result.status == "early_stopped"
    assert len(result.history) < 3000
    assert "has not improved for 3 epochs" in result.message


def test_keep_best_reports_test_metrics_of_the_best_weights(tiny_data):
    result = train(tiny_project(epochs=8), tiny_data, keep_best=True)
    assert result.best_epoch is not None
    assert set(result.best_test_metrics) == {"loss", "accuracy"}


def test_mismatched_output_layer_is_refused_before_training(tiny_data):
    project = tiny_project()
    last = project.network.layers[-1].with_options(units=3)
    project = replace(project, network=project.network.with_layer(2, last))
    with pytest.raises(TrainingError, match="has 3 outputs but the dataset has 2 classes"):
        train(project, tiny_data)


def test_regression_task_uses_mse_and_mae():
    project = load_preset("lstm-sequence").with_training(epochs=1)
    project = replace(
        project, dataset=replace(project.dataset, options=(("samples", 120), ("steps", 20)))
    )
    data = load_dataset(project.dataset, 0)
    result = train(project, data)
    assert set(result.history[0]) == {"epoch", "loss", "mae", "val_loss", "val_mae"}
    assert {"lstm_2.input", "lstm_2.recurrent"} <= set(result.masks)


@pytest.mark.parametrize(
    "name", ["mlp-classic", "cnn-classic", "lstm-sequence", "digits-mlp", "small-data"]
)
def test_every_preset_builds_matches_keras_counts_and_trains_one_epoch(name):
    project = load_preset(name)
    report = project.check()
    model = build_model(project.network, 0)
    keras_counts = list(parameter_counts(model).values())
    assert keras_counts == [r.params for r in report.layers[1:]]
    spec = project.dataset
    if spec.source == "synthetic":
        spec = spec.with_options(samples=150)
    data = load_dataset(spec, 0)
    result = train(project.with_training(epochs=1), data)
    assert result.status == "finished"
    assert len(result.history) == 1
    assert np.isfinite(result.history[0]["val_loss"])


def test_small_data_preset_overfits_without_dropout():
    project = load_preset("small-data")
    data = load_dataset(project.dataset, 0)
    with_dropout = train(project, data)
    without = train(replace(project, network=project.network.without_dropout()), data)
    val = [row["val_loss"] for row in without.history]
    assert without.history[-1]["loss"] < 0.01  # memorized the 60 samples...
    assert val[-1] > 1.1 * min(val)  # ...while its validation loss climbs from the minimum
    assert with_dropout.history[-1]["loss"] > 3 * without.history[-1]["loss"]


def test_dataset_spec_unchanged_by_training(tiny_data):
    project = tiny_project(epochs=1)
    assert isinstance(project.dataset, DatasetSpec)
    train(project, tiny_data)
    assert project == tiny_project(epochs=1)  # the snapshot is never mutated
