"""Image sets stay compact: uint8 in memory, or files streamed from disk over the budget."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from PIL import Image

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project, TrainingSpec
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.images import (
    MEMORY_BUDGET_ENV,
    ImageFiles,
    PixelArray,
    default_memory_budget,
)
from dropout_studio.engine.train import train

TENSORFLOW = keras.backend.backend() == "tensorflow"
needs_tensorflow = pytest.mark.skipif(
    not TENSORFLOW, reason="the compiled and streamed loops are TensorFlow's"
)


def image_folder(root, count=12, size=(10, 12), classes=3):
    rng = np.random.default_rng(1)
    for k in range(classes):
        (root / f"c{k}").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            base = np.full((*size, 3), 60 * k, dtype=np.int16)
            pixels = np.clip(base + rng.integers(0, 100, (*size, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / f"c{k}" / f"{i}.png")
    return root


def spec(path, standardize=False, size=(8, 6)):
    options = (("channels", 3), ("size", size))
    return DatasetSpec("images", path=str(path), standardize=standardize, options=options)


def project(dataset, epochs=3, batch_size=8, early_stopping=0):
    layers = (
        LayerSpec.make("Input", shape=(8, 6, 3)),
        LayerSpec.make("Flatten"),
        LayerSpec.make("Dense", units=16, activation="relu", dropout=DropoutSpec("dropout", 0.3)),
        LayerSpec.make("Dense", units=3, activation="softmax"),
    )
    training = TrainingSpec(
        epochs=epochs, batch_size=batch_size, seed=3, early_stopping=early_stopping
    )
    return Project("images", dataset, NetworkSpec(layers), training)


def pillow_floats(path, size):
    with Image.open(path) as img:
        resized = img.convert("RGB").resize((size[1], size[0]), Image.Resampling.NEAREST)
    return np.asarray(resized, dtype="float32") / np.float32(255.0)


@pytest.mark.parametrize("standardize", [False, True])
def test_pixels_stay_uint8_and_read_as_the_scaled_floats(tmp_path, standardize):
    image_folder(tmp_path)
    data = load_dataset(spec(tmp_path, standardize), 0)
    assert isinstance(data.x_train, PixelArray)
    assert data.x_train.pixels.dtype == np.uint8
    assert data.nbytes < 3 * 36 * 8 * 6 * 3 + 3 * 36 * 8  # uint8 pixels and int32 labels
    floats = np.asarray(data.x_train)
    assert floats.dtype == np.float32
    assert floats.shape == data.x_train.shape == (len(data.x_train), 8, 6, 3)
    expected = data.x_train.pixels.astype("float32") / np.float32(255.0)
    if standardize:  # fitted on the training part, as before
        mean, std = expected.mean(axis=0), expected.std(axis=0)
        expected = (expected - mean) / np.where(std < 1e-6, 1.0, std)
        assert abs(floats.mean()) < 1e-5
    np.testing.assert_array_equal(floats, expected)
    # indexing as the app does: a sample, a slice, an index array, further axes
    np.testing.assert_array_equal(data.x_train[2], expected[2])
    np.testing.assert_array_equal(data.x_train[-1], expected[-1])
    np.testing.assert_array_equal(data.x_train[1:4], expected[1:4])
    np.testing.assert_array_equal(data.x_train[np.array([5, 0])], expected[[5, 0]])
    np.testing.assert_array_equal(data.x_train[3, :, 0], expected[3, :, 0])
    assert data.x_train.ndim == 4
    assert len(list(data.x_train)) == len(data.x_train)
    with pytest.raises(IndexError):
        data.x_train[len(data.x_train)]


def test_every_part_reads_as_pillow_divided_by_255(tmp_path):
    image_folder(tmp_path, count=3)
    data = load_dataset(spec(tmp_path), 0)
    files = sorted(tmp_path.glob("c*/*.png"))
    expected = [pillow_floats(f, (8, 6)) for f in files]
    for part in (data.x_train, data.x_val, data.x_test):
        for sample in np.asarray(part):
            assert any(np.array_equal(sample, e) for e in expected)


@pytest.mark.parametrize("standardize", [False, True])
def test_streamed_parts_are_the_in_memory_parts(tmp_path, standardize):
    image_folder(tmp_path)
    memory = load_dataset(spec(tmp_path, standardize), 5)
    streamed = load_dataset(spec(tmp_path, standardize), 5, memory_budget=100)
    assert isinstance(streamed.x_train, ImageFiles)
    assert streamed.streamed
    assert not memory.streamed
    assert "streamed from disk" in streamed.where()
    assert "memory budget" in streamed.where()
    assert memory.where().startswith("in memory (")
    for a, b in (
        (memory.x_train, streamed.x_train),
        (memory.x_val, streamed.x_val),
        (memory.x_test, streamed.x_test),
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    for a, b in ((memory.y_train, streamed.y_train), (memory.y_test, streamed.y_test)):
        np.testing.assert_array_equal(a, b)


@needs_tensorflow
def test_in_memory_and_streamed_runs_give_the_same_history(tmp_path):
    image_folder(tmp_path)
    p = project(spec(tmp_path, standardize=True))
    runs = {}
    for name, budget in (("memory", None), ("streamed", 100)):
        events = []
        data = load_dataset(p.dataset, p.training.seed, memory_budget=budget)
        result = train(p, data, events.append)
        runs[name] = (result, events)
    (memory, memory_events), (streamed, streamed_events) = runs["memory"], runs["streamed"]
    assert (memory.loop, streamed.loop) == ("compiled", "streamed")
    assert memory.status == streamed.status == "finished"
    assert len(memory.history) == len(streamed.history) == 3
    for a, b in zip(memory.history, streamed.history):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key
    for key, value in memory.test_metrics.items():
        assert streamed.test_metrics[key] == pytest.approx(value, rel=1e-5, abs=1e-6)
    first = streamed_events[0]
    assert first.kind == "started"
    assert first.message.startswith("streamed from disk")
    assert first.metrics["streamed"] == 1.0
    assert memory_events[0].message.startswith("in memory (")
    kinds = [e.kind for e in streamed_events]
    assert kinds.count("epoch_ended") == 3
    assert kinds[-1] == "finished"
    assert "masks_recorded" in kinds
    assert streamed.masks  # the run's last masks, as in memory


@needs_tensorflow
def test_stop_ends_a_streamed_run_between_batches(tmp_path):
    image_folder(tmp_path)
    p = project(spec(tmp_path), epochs=50, batch_size=4)
    data = load_dataset(p.dataset, 0, memory_budget=100)
    stop = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if event.kind == "epoch_ended" and event.epoch == 1:
            stop.set()

    result = train(p, data, on_event, stop)
    assert result.status == "stopped"
    assert result.loop == "streamed"
    assert len(result.history) == 2
    assert result.weights_epoch == 1
    assert events[-1].kind == "stopped"


def test_stop_before_a_streamed_run_trains_nothing(tmp_path):
    image_folder(tmp_path)
    p = project(spec(tmp_path))
    stop = threading.Event()
    stop.set()
    result = train(p, load_dataset(p.dataset, 0, memory_budget=100), None, stop)
    assert result.status == "stopped"
    assert result.history == []


def test_fit_loop_reads_compact_and_streamed_images(tmp_path):
    image_folder(tmp_path)
    p = project(spec(tmp_path), epochs=2)
    for budget in (None, 100):
        data = load_dataset(p.dataset, 0, memory_budget=budget)
        result = train(p, data, loop="fit")
        assert result.loop == "fit"
        assert result.status == "finished"
        assert len(result.history) == 2
        assert np.isfinite(result.history[-1]["loss"])
        assert set(result.test_metrics) == {"loss", "accuracy"}


def test_memory_budget_defaults_to_a_quarter_of_the_ram(monkeypatch):
    monkeypatch.delenv(MEMORY_BUDGET_ENV, raising=False)
    import os

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert default_memory_budget() == ram // 4
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "12")
    assert default_memory_budget() == 12 * 2**20
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "lots")
    assert default_memory_budget() == ram // 4


def test_the_environment_budget_streams_a_load(tmp_path, monkeypatch):
    image_folder(tmp_path)
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "0.0001")
    assert load_dataset(spec(tmp_path), 0).streamed


def test_every_backend_trains_compact_and_streamed_images(tmp_path):
    """TensorFlow: compiled (uint8) and streamed; JAX: its loop over floats, and fit when
    streamed; torch: fit. The same data either way, so close first epochs."""
    image_folder(tmp_path)
    p = project(spec(tmp_path, standardize=True), epochs=2)
    results = [train(p, load_dataset(p.dataset, 3, memory_budget=b)) for b in (None, 100)]
    for result in results:
        assert result.status == "finished"
        assert np.isfinite(result.history[-1]["loss"])
    expected = {"tensorflow": ("compiled", "streamed"), "jax": ("jax", "fit")}
    loops = expected.get(keras.backend.backend(), ("fit", "fit"))
    assert (results[0].loop, results[1].loop) == loops
