"""Training: events, determinism, stop, NaN, early stopping, both loops."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace

import keras
import numpy as np
import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import load_preset
from dropout_studio.engine.build import build_model, parameter_counts
from dropout_studio.engine.data import Dataset, load_dataset
from dropout_studio.engine.train import TrainingError, train
from tests.engine.divergence import divergent_regression
from tests.engine.helpers import tiny_project

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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
    assert result.weights_epoch == 5
    assert 0 < result.first_epoch_time <= result.wall_time
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
    assert result.weights_epoch == len(result.history) - 1  # not a half-finished epoch
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
        assert result.weights_epoch is None
        assert all(np.isfinite(w).all() for w in result.model.get_weights())


@pytest.mark.parametrize("loop", ["compiled", "fit"])
def test_a_divergent_run_keeps_finite_initial_weights(loop):
    data, project = divergent_regression()
    initial = build_model(project.network, project.training.seed).get_weights()
    result = train(project.with_training(learning_rate=1e30), data, loop=loop)
    assert result.status == "failed"
    assert result.history == []
    assert result.weights_epoch is None
    assert "the model keeps its initial weights" in result.message
    for kept, first in zip(result.model.get_weights(), initial):
        np.testing.assert_array_equal(kept, first)


@pytest.mark.parametrize("loop", ["compiled", "fit"])
def test_a_late_divergence_keeps_the_last_good_epochs_weights(loop):
    data, project = divergent_regression()
    result = train(project, data, loop=loop)
    assert result.status == "failed"
    assert result.weights_epoch is not None
    assert result.weights_epoch >= 2  # some epochs finished before the NaN
    assert result.weights_epoch == len(result.history) - 1
    assert f"weights from the end of epoch {result.weights_epoch + 1}" in result.message
    weights = result.model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    again = train(project.with_training(epochs=result.weights_epoch + 1), data, loop=loop)
    assert again.status == "finished"
    for kept, expected in zip(weights, again.model.get_weights()):
        np.testing.assert_allclose(kept, expected, rtol=1e-5)


@pytest.mark.parametrize("loop", ["compiled", "fit"])
def test_projects_validation_accepts_train_or_fail_cleanly(tiny_data, loop):
    with pytest.raises(TrainingError, match="'gpu:7' is not available; this machine has cpu"):
        train(tiny_project(epochs=1, device="gpu:7"), tiny_data, loop=loop)
    for project in (
        tiny_project(epochs=2, seed=2**31 - 1),
        tiny_project(epochs=2, early_stopping=1_000_000),
        tiny_project(epochs=2).with_training(batch_size=1_000_000),
        tiny_project(epochs=2, device="cpu"),
    ):
        result = train(project, tiny_data, loop=loop)
        assert result.status == "finished", project.training
        assert len(result.history) == 2
    stop = threading.Event()

    def stop_after_first_epoch(event):
        if event.kind == "epoch_ended":
            stop.set()

    result = train(
        tiny_project(epochs=1_000_000), tiny_data, stop_after_first_epoch, stop, loop=loop
    )
    assert result.status == "stopped"
    empty = Dataset(
        tiny_data.x_train,
        tiny_data.y_train,
        tiny_data.x_val[:0],
        tiny_data.y_val[:0],
        tiny_data.x_test[:0],
        tiny_data.y_test[:0],
        tiny_data.class_names,
    )
    assert train(tiny_project(epochs=2), empty, loop=loop).status == "finished"


def test_unexpected_keras_failures_become_one_line_training_errors(tiny_data, monkeypatch):
    def broken_build(self, variables):
        raise RuntimeError("XLA said no\nwith a second line")

    monkeypatch.setattr(keras.optimizers.Adam, "build", broken_build)
    with pytest.raises(TrainingError, match="RuntimeError") as caught:
        train(tiny_project(epochs=1), tiny_data)
    assert "\n" not in str(caught.value)
    assert "XLA said no with a second line" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)  # details for the GUI


def test_errors_raised_by_the_event_handler_pass_through_unchanged(tiny_data):
    class HandlerBug(Exception):
        pass

    def on_event(event):
        if event.kind == "epoch_ended":
            raise HandlerBug("the GUI's own bug")

    with pytest.raises(HandlerBug):
        train(tiny_project(epochs=2), tiny_data, on_event)


def test_engine_tests_pass_under_jax():
    """Keras reads KERAS_BACKEND once per process: the JAX checks run in a child process."""
    pytest.importorskip("jax")
    if keras.backend.backend() == "jax":
        pytest.skip("this process already runs the JAX tests directly")
    if os.environ.get("DROPOUT_STUDIO_JAX_TESTS") == "separate":
        pytest.skip("the JAX tests run in their own pytest (.ci/run)")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/engine/test_jax_loop.py", "tests/engine/test_layers.py"]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
    assert "skipped" not in proc.stdout.splitlines()[-1]


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
