"""The JAX compiled loop and the recording layers under JAX.

Keras picks its backend once per process, so these run only under ``KERAS_BACKEND=jax``;
``test_train.py::test_engine_tests_pass_under_jax`` runs them in a subprocess from the default
(TensorFlow) suite, and CI also runs ``KERAS_BACKEND=jax python -m pytest tests/engine``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter

import keras
import numpy as np
import pytest

from dropout_studio.core.project import load_preset
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.layers import RecordingDropout
from dropout_studio.engine.train import TrainingError, train
from tests.engine.divergence import divergent_regression
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="runs under KERAS_BACKEND=jax only"
)


@pytest.fixture(scope="module")
def tiny_data():
    project = tiny_project()
    return load_dataset(project.dataset, project.training.seed)


def test_jax_backend_uses_the_jax_loop_with_the_same_events(tiny_data):
    events = []
    result = train(tiny_project(epochs=6), tiny_data, events.append)
    assert result.loop == "jax"
    assert result.status == "finished"
    assert result.weights_epoch == 5
    assert [row["epoch"] for row in result.history] == list(range(6))
    assert set(result.history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    kinds = [e.kind for e in events]
    assert kinds[0] == "started"
    assert kinds[-1] == "finished"
    assert Counter(kinds)["epoch_ended"] == 6
    snapshot = next(e for e in events if e.kind == "masks_recorded")
    assert snapshot.step > 0
    assert set(result.test_metrics) == {"loss", "accuracy"}
    # The masks are read back from the state the jitted loop returned: 6 epochs x 8 steps.
    record = result.masks["dense_2_dropout"]
    assert record["step"] == 6 * 8
    draws = 6 * len(tiny_data.x_train)
    bound = 5 * math.sqrt(0.25 / draws)
    assert np.all(np.abs(record["drop_frequency"] - 0.5) < bound)


def test_loss_decreases_and_same_seed_repeats(tiny_data):
    a = train(tiny_project(epochs=30), tiny_data)
    b = train(tiny_project(epochs=30), tiny_data)
    assert a.history[-1]["val_loss"] < a.history[0]["val_loss"] * 0.8
    assert a.history == b.history
    assert train(tiny_project(epochs=2, seed=2**31 - 1), tiny_data).status == "finished"


def test_step_count_is_traced_so_call_sizing_never_recompiles(tiny_data, caplog):
    caplog.set_level(logging.WARNING, logger="jax")
    import jax

    with jax.log_compiles():
        result = train(tiny_project(epochs=300), tiny_data)
    assert len(result.history) == 300
    compiles = [r for r in caplog.records if "Compiling jit(run_steps)" in r.getMessage()]
    assert len(compiles) == 1


def test_stop_within_half_a_second_once_compiled(tiny_data):
    stop = threading.Event()
    stopped_at = []

    def on_event(event):
        if event.kind == "epoch_ended" and event.epoch == 50 and not stop.is_set():
            stop.set()
            stopped_at.append(time.perf_counter())

    result = train(tiny_project(epochs=100_000), tiny_data, on_event, stop)
    latency = time.perf_counter() - stopped_at[0]
    assert result.status == "stopped"
    assert result.weights_epoch == len(result.history) - 1
    assert latency < 0.5


def test_early_stopping_and_keep_best(tiny_data):
    project = tiny_project(epochs=3000, early_stopping=3).with_training(learning_rate=0.05)
    result = train(project, tiny_data, keep_best=True)
    assert result.status == "early_stopped"
    assert len(result.history) < 3000
    assert set(result.best_test_metrics) == {"loss", "accuracy"}


def test_nan_runs_keep_finite_weights_of_the_last_good_epoch():
    data, project = divergent_regression()
    blown = train(project.with_training(learning_rate=1e30), data)
    assert blown.status == "failed"
    assert blown.weights_epoch is None
    assert "initial weights" in blown.message
    assert all(np.isfinite(w).all() for w in blown.model.get_weights())

    late = train(project, data)
    assert late.status == "failed"
    assert late.weights_epoch is not None
    assert late.weights_epoch >= 2
    assert late.weights_epoch == len(late.history) - 1
    again = train(project.with_training(epochs=late.weights_epoch + 1), data)
    for kept, expected in zip(late.model.get_weights(), again.model.get_weights()):
        np.testing.assert_allclose(kept, expected, rtol=1e-5)


def test_unavailable_device_and_tensorboard_are_explained(tiny_data, tmp_path):
    with pytest.raises(TrainingError, match="'gpu:7' is not available; this machine has cpu"):
        train(tiny_project(epochs=1, device="gpu:7"), tiny_data)
    assert train(tiny_project(epochs=1, device="cpu"), tiny_data).status == "finished"
    result = train(tiny_project(epochs=1, tensorboard=True), tiny_data, log_dir=str(tmp_path))
    assert result.status == "finished"
    assert "TensorBoard event files are not supported on the jax backend" in result.message


def test_recorded_mask_is_the_zeros_of_the_output_inside_jit():
    import jax

    layer = RecordingDropout(0.4, seed=3)
    model = keras.Sequential([keras.Input((50,)), layer])
    names = [v.path for v in model.non_trainable_variables]

    @jax.jit
    def forward(ntv, x):
        return model.stateless_call([], ntv, x, training=True)

    ntv = [v.value for v in model.non_trainable_variables]
    for seed in range(20):
        x = np.random.default_rng(seed).random((8, 50)).astype("float32") + 0.1
        out, ntv = forward(ntv, x)
        mask = np.asarray(ntv[next(i for i, n in enumerate(names) if "last_mask" in n)])
        assert np.array_equal(np.asarray(out)[0] == 0, mask == 0)
    counts = np.asarray(ntv[next(i for i, n in enumerate(names) if "drop_count" in n)])
    draws = 20 * 8
    assert np.all(np.abs(counts / draws - 0.4) < 5 * math.sqrt(0.24 / draws))


@pytest.mark.parametrize(
    "name", ["mlp-classic", "cnn-classic", "lstm-sequence", "digits-mlp", "small-data"]
)
def test_every_preset_trains_an_epoch_with_masks_under_jax(name):
    project = load_preset(name)
    spec = project.dataset
    if spec.source == "synthetic":
        spec = spec.with_options(samples=150)
    data = load_dataset(spec, 0)
    result = train(project.with_training(epochs=1), data)
    assert result.loop == "jax"
    assert result.status == "finished"
    assert np.isfinite(result.history[0]["val_loss"])
    assert result.masks
    assert all(record["step"] > 0 for record in result.masks.values())


def test_seeding_without_tensorflow_matches_keras():
    from dropout_studio.engine.runtime import set_random_seed

    set_random_seed(7)
    ours = (np.random.rand(), keras.ops.convert_to_numpy(keras.random.uniform((3,))))
    keras.utils.set_random_seed(7)
    theirs = (np.random.rand(), keras.ops.convert_to_numpy(keras.random.uniform((3,))))
    assert ours[0] == theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
