"""A Stop pressed while the compiled step traces ends the run without finishing the trace.

Tracing is the longest uninterruptible stretch of a run's start (0.5–1.5 s on these machines),
so the step's Python body checks the run's stop event while it is being traced.
"""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest

from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.train import StepCache, _TraceStopped, train
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the compiled loop is TensorFlow's"
)


def test_a_set_stop_aborts_the_trace_and_the_step_still_trains_afterwards():
    import tensorflow as tf

    project = tiny_project(epochs=2)
    data = load_dataset(project.dataset, project.training.seed)
    cache = StepCache()
    step = cache.step_for(project, data, keep_best=False)
    step.reset_loop(1, 0)
    stop = threading.Event()
    stop.set()
    step.stop = stop
    args = (
        tf.constant(data.x_train),
        tf.constant(data.y_train),
        tf.constant(data.x_val),
        tf.constant(data.y_val),
        step.seed,
        tf.constant(1),
        tf.constant(1),
    )
    with pytest.raises(_TraceStopped):  # as it is: the step is traced without autograph
        step.run_steps.get_concrete_function(*args)
    step.stop = None
    result = train(project, data, steps=cache)
    assert result.status == "finished"
    assert len(result.history) == 2
    assert cache.traces == 1


def test_a_stop_at_the_start_keeps_the_initial_weights_and_no_epoch():
    project = tiny_project(epochs=50)
    data = load_dataset(project.dataset, project.training.seed)
    stop = threading.Event()

    def on_event(event):
        if event.kind == "started":
            stop.set()

    result = train(project, data, on_event, stop)
    assert result.status == "stopped"
    assert result.history == []
    assert result.weights_epoch is None
    assert all(np.isfinite(w).all() for w in result.model.get_weights())
