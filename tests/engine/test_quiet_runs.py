"""A run nobody listens to (``on_event=None``, as in an experiment) builds no events but trains
the same; the compiled loop's finite-weights check sees every NaN and infinity."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest

from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.train import train
from tests.engine.helpers import tiny_project


@pytest.mark.parametrize("batch_size", [16, 1000])  # mini-batches; one full batch
def test_a_run_without_a_listener_trains_the_same(batch_size):
    project = tiny_project(epochs=4, samples=120).with_training(batch_size=batch_size)
    data = load_dataset(project.dataset, 0)
    events = []
    heard = train(project, data, events.append, threading.Event())
    quiet = train(project, data, None, threading.Event())
    assert quiet.history == heard.history  # bitwise: floats compared exactly
    assert quiet.test_metrics == heard.test_metrics
    assert quiet.weights_epoch == heard.weights_epoch
    assert quiet.masks.keys() == heard.masks.keys()
    for name, record in heard.masks.items():
        for key, value in record.items():
            np.testing.assert_array_equal(np.asarray(quiet.masks[name][key]), np.asarray(value))
    kinds = [event.kind for event in events]
    assert kinds[0] == "started"
    assert kinds[-1] == "finished"
    assert kinds.count("epoch_ended") == 4
    assert "masks_recorded" in kinds


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the compiled step's check")
def test_all_finite_sees_nan_and_infinity_inside_a_traced_loop():
    import tensorflow as tf

    from dropout_studio.engine.train import all_finite

    weights = [tf.Variable(tf.ones((64, 50))), tf.Variable(tf.ones((3,), dtype=tf.float16))]

    @tf.function
    def check(n):
        ok = tf.constant(True)
        i = tf.constant(0)
        while i < n:  # inside a loop, as in the compiled step (grappler must not fold x * 0)
            weights[1].assign_add(tf.zeros((3,), dtype=tf.float16))
            ok = tf.logical_and(ok, all_finite(weights))
            i += 1
        return ok

    assert bool(check(tf.constant(2)))
    for bad in (np.nan, np.inf, -np.inf):
        weights[0][3, 4].assign(bad)
        assert not bool(check(tf.constant(2)))
        weights[0][3, 4].assign(1.0)
    weights[0][0, 0].assign(3e38)  # finite, however large: their sum would overflow
    weights[0][0, 1].assign(3e38)
    assert bool(check(tf.constant(2)))
    weights[1][0].assign(np.inf)
    assert not bool(check(tf.constant(2)))
