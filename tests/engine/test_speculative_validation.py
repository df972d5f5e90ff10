"""Speculative validation: a full-batch run validates each epoch beside the next step and undoes
that step when the epoch was the last. It must train exactly as the serial loop does."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project, TrainingSpec
from dropout_studio.core.spec import LayerSpec, NetworkSpec
from dropout_studio.engine import compare as compare_module
from dropout_studio.engine import train as train_module
from dropout_studio.engine.compare import arm_project, compare
from dropout_studio.engine.data import Dataset, load_dataset
from dropout_studio.engine.train import StepCache, TrainingResult, train
from tests.engine.divergence import divergent_regression
from tests.engine.helpers import record_step_caches, tiny_project

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the compiled step is the TensorFlow loop's"
)


def _both(monkeypatch, project, data, **options) -> tuple[TrainingResult, TrainingResult]:
    """The same run, serial then speculative; each builds its own step. Their optimizers end
    alike too (its step count included: an undone step is not counted)."""
    results, optimizers = [], []
    for speculate in (False, True):
        monkeypatch.setattr(train_module, "SPECULATE_AFTER_EPOCHS", -1 if speculate else 10**9)
        cache = StepCache()
        result = train(project, data, steps=cache, **options)
        (step,) = cache.steps.values()
        assert step.speculative is speculate
        results.append(result)
        optimizers.append([np.asarray(v) for v in step.optimizer.variables])
    for a, b in zip(*optimizers, strict=True):
        np.testing.assert_array_equal(a, b)
    return results[0], results[1]


def _identical(serial: TrainingResult, speculative: TrainingResult) -> None:
    assert speculative.status == serial.status
    assert speculative.history == serial.history  # bitwise: floats compared exactly
    assert speculative.weights_epoch == serial.weights_epoch
    assert speculative.best_epoch == serial.best_epoch
    assert speculative.samples_seen == serial.samples_seen
    assert speculative.test_metrics == serial.test_metrics
    assert speculative.best_test_metrics == serial.best_test_metrics
    for a, b in zip(serial.model.variables, speculative.model.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    assert serial.masks.keys() == speculative.masks.keys()
    for name, record in serial.masks.items():
        for key, value in record.items():
            np.testing.assert_array_equal(speculative.masks[name][key], value, err_msg=key)


def _full_batch(epochs: int, **training):
    project = tiny_project(epochs=epochs, rate=0.4, samples=120, **training)
    project = project.with_training(batch_size=256)
    return project, load_dataset(project.dataset, 0)


def test_a_full_run_trains_as_the_serial_loop_does(monkeypatch):
    project, data = _full_batch(epochs=60)
    serial, speculative = _both(monkeypatch, project, data)
    assert serial.status == "finished"
    assert len(serial.history) == 60
    _identical(serial, speculative)


def test_early_stopping_undoes_the_step_taken_beside_the_last_epoch(monkeypatch):
    project, data = _full_batch(epochs=400, early_stopping=2, learning_rate=0.05)
    serial, speculative = _both(monkeypatch, project, data, keep_best=True)
    assert serial.status == "early_stopped"
    assert len(serial.history) < 400
    _identical(serial, speculative)


def test_a_diverging_run_keeps_the_same_last_good_weights(monkeypatch):
    data, project = divergent_regression()
    serial, speculative = _both(monkeypatch, project, data)
    assert serial.status == "failed"
    assert serial.weights_epoch is not None
    _identical(serial, speculative)


def test_a_speculative_run_events_match_the_serial_ones(monkeypatch):
    project, data = _full_batch(epochs=30)
    seen: dict[bool, list[tuple[int, dict[str, float]]]] = {}
    for speculate in (False, True):
        monkeypatch.setattr(train_module, "SPECULATE_AFTER_EPOCHS", -1 if speculate else 10**9)
        events = seen.setdefault(speculate, [])
        train(
            project,
            data,
            lambda e, events=events: (
                events.append((e.epoch, e.metrics)) if e.kind == "epoch_ended" else None
            ),
        )
    assert seen[True] == seen[False]
    assert [epoch for epoch, _ in seen[True]] == list(range(30))


def test_a_validation_loss_that_overflows_undoes_the_step_beside_its_epoch(monkeypatch):
    """Training diverges slowly on small inputs while huge validation inputs overflow the
    validation loss some epochs in, with the training loss still finite: only that epoch's
    validation, computed beside the next step, ends the run, and the step is undone."""
    rng = np.random.default_rng(0)
    x = (rng.random((60, 1)) + 0.5).astype("float32")
    x[40:] *= 1e16
    y = rng.random(60).astype("float32")
    data = Dataset(x[:40], y[:40], x[40:], y[40:], x[:0], y[:0], [])
    project = Project(
        name="overflow",
        dataset=DatasetSpec("synthetic", "moons"),
        network=NetworkSpec(
            (
                LayerSpec.make("Input", shape=(1,)),
                LayerSpec.make("Dense", units=1, activation="linear"),
            )
        ),
        training=TrainingSpec(optimizer="sgd", learning_rate=1.2, batch_size=1000, epochs=500),
    )
    serial, speculative = _both(monkeypatch, project, data)
    assert serial.status == "failed"
    assert len(serial.history) > 3
    assert np.isfinite(serial.history[-1]["loss"])
    _identical(serial, speculative)


def test_speculation_is_chosen_when_the_runs_sharing_a_trace_pay_for_it():
    """It costs tracing once and saves time every epoch: chosen by the planned epochs in all."""
    project, data = _full_batch(epochs=100)
    alone = StepCache()
    train(project, data, steps=alone)
    experiment = StepCache(runs=10)
    train(project, data, steps=experiment)
    minibatches = StepCache(runs=10)
    train(project.with_training(batch_size=16), data, steps=minibatches)
    assert [s.speculative for s in alone.steps.values()] == [False]
    assert [s.speculative for s in experiment.steps.values()] == [True]
    assert [s.speculative for s in minibatches.steps.values()] == [False]


def test_a_seed_gives_the_same_history_standalone_and_inside_a_speculating_compare(monkeypatch):
    project, _ = _full_batch(epochs=130)
    runs = {}
    caches = record_step_caches(monkeypatch, compare_module)
    compare(
        project,
        seeds=2,
        arms=("dropout", "no dropout"),
        on_run=lambda arm, seed, r: runs.__setitem__((arm, seed), (r.history, r.test_metrics)),
    )
    assert [s.speculative for s in caches[0].steps.values()] == [True]  # 4 runs x 130 epochs
    for arm in ("dropout", "no dropout"):  # 130 epochs alone: the serial loop
        configured = arm_project(project, arm).with_training(seed=1)
        cache = StepCache()
        alone = train(configured, load_dataset(project.dataset, 1), steps=cache)
        assert [s.speculative for s in cache.steps.values()] == [False]
        assert (alone.history, alone.test_metrics) == runs[(arm, 1)]


def _recurrent(**dropouts) -> tuple[Project, Dataset]:
    project = Project(
        name="rnn",
        dataset=DatasetSpec("synthetic", "sine"),
        network=NetworkSpec(
            (
                LayerSpec.make("Input", shape=(20, 1)),
                LayerSpec.make("LSTM", units=8, **dropouts),
                LayerSpec.make("Dense", units=1, activation="linear"),
            )
        ),
        training=TrainingSpec(epochs=5, batch_size=4096),
    )
    return project, load_dataset(project.dataset, 0)


def test_an_rnn_without_dropout_speculates_and_trains_as_serially(monkeypatch):
    project, data = _recurrent()
    _identical(*_both(monkeypatch, project, data))


def test_rnn_dropout_is_validated_serially(monkeypatch):
    """Keras' RNN layers draw dropout masks while validating too: validated beside the next
    step, the draws would come in another order (the reviewer saw another history)."""
    monkeypatch.setattr(train_module, "SPECULATE_AFTER_EPOCHS", -1)
    for dropouts in ({"input_dropout": 0.2}, {"recurrent_dropout": 0.2}):
        project, data = _recurrent(**dropouts)
        cache = StepCache()
        train(project, data, steps=cache)
        assert [s.speculative for s in cache.steps.values()] == [False], dropouts


def test_slow_steps_go_back_to_the_serial_loop_and_train_the_same(monkeypatch):
    """Fewer steps per call than SPECULATE_MIN_STEPS: the serial loop takes over mid-run."""
    project, data = _full_batch(epochs=200)
    monkeypatch.setattr(train_module, "SPECULATE_AFTER_EPOCHS", 10**9)
    serial = train(project, data)
    monkeypatch.setattr(train_module, "SPECULATE_AFTER_EPOCHS", -1)
    monkeypatch.setattr(train_module, "SPECULATE_MIN_STEPS", 10**9)
    cache = StepCache()
    switched = train(project, data, steps=cache)
    (step,) = cache.steps.values()
    assert not step.speculative
    assert step.run_steps is step.serial_steps
    assert step.speculative_steps.experimental_get_tracing_count() == 1  # it ran first
    _identical(serial, switched)


def test_one_delayed_call_does_not_turn_a_cached_step_serial(monkeypatch):
    """A window's frame beside a run's start once delayed its second call (one step, 16 ms):
    the step went serial for good. It takes SPECULATE_SLOW_CALLS slow calls in a row."""
    import time

    project, data = _full_batch(epochs=200)
    monkeypatch.setattr(train_module, "SPECULATE_AFTER_EPOCHS", -1)
    cache = StepCache()
    train(project, data, steps=cache)
    (step,) = cache.steps.values()
    assert step.speculative
    speculative_steps, calls = step.run_steps, []

    def delayed(*args):
        calls.append(len(calls))
        if len(calls) == 2:  # the second call: a few steps, as at a run's start
            time.sleep(0.4)  # its few steps look 100x slower than they are
        return speculative_steps(*args)

    delayed.get_concrete_function = speculative_steps.get_concrete_function  # traced as before
    step.run_steps, step.steps_per_call = delayed, 1
    again = train(project, data, steps=cache)
    assert len(calls) > 3
    assert step.speculative
    assert step.run_steps is delayed  # never switched to the serial loop
    assert again.status == "finished"
