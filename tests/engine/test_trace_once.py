"""Trace once per experiment: rates, seeds, data and patience reach a reused compiled step as
variables or arguments, and a seed trains the same, bitwise, standalone or in an experiment."""

from __future__ import annotations

import math
from dataclasses import replace

import keras
import numpy as np
import pytest

from dropout_studio.core.spec import DropoutSpec
from dropout_studio.engine import sweep as sweep_module
from dropout_studio.engine.build import build_model, parameter_counts, plain_clone
from dropout_studio.engine.compare import arm_project, compare
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.layers import RecordingDropout, read_masks
from dropout_studio.engine.sweep import SweepPlan, run_sweep
from dropout_studio.engine.train import StepCache, train
from tests.engine.helpers import record_step_caches, tiny_project

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the compiled step is the TensorFlow loop's"
)


def _with_rate(project, rate):
    layers = list(project.network.layers)
    layers[1] = replace(layers[1], dropout=DropoutSpec("dropout", rate))
    return replace(project, network=replace(project.network, layers=tuple(layers)))


def _traces(cache: StepCache) -> int:
    return sum(step.run_steps.experimental_get_tracing_count() for step in cache.steps.values())


def test_a_new_rate_in_a_reused_step_drops_at_the_new_rate():
    project = tiny_project(epochs=6, rate=0.1)
    data = load_dataset(project.dataset, 0)
    cache = StepCache()
    first = train(project, data, steps=cache)
    assert first.status == "finished"
    rate = 0.6
    second = train(_with_rate(project, rate), data, steps=cache)
    assert second.status == "finished"
    assert cache.traces == 1
    assert _traces(cache) == 1
    (record,) = second.masks.values()
    # The records restart per run: every draw counted is one of the second run's, one per
    # training sample seen.
    draws = second.samples_seen
    frequency = record["drop_frequency"]
    bound = 5 * math.sqrt(rate * (1 - rate) / draws)  # per unit
    assert np.all(np.abs(frequency - rate) < bound), (frequency.min(), frequency.max())
    overall = 5 * math.sqrt(rate * (1 - rate) / (draws * frequency.size))
    assert abs(frequency.mean() - rate) < overall


def _same_history(a, b):
    assert len(a.history) == len(b.history)
    for row_a, row_b in zip(a.history, b.history, strict=True):
        assert row_a == row_b  # bitwise: floats compared exactly
    assert a.test_metrics == b.test_metrics
    assert a.best_test_metrics == b.best_test_metrics


def test_a_seed_gives_the_same_history_standalone_and_inside_compare():
    project = tiny_project(epochs=5, rate=0.4)
    arms = ("dropout", "no dropout", "early stopping")
    runs = {}
    summaries = compare(
        project, seeds=2, arms=arms, on_run=lambda arm, seed, r: runs.__setitem__((arm, seed), r)
    )
    assert [len(s.runs) for s in summaries] == [2, 2, 2]
    for arm in arms:  # seed 1 runs on a reused step: weights, optimizer and state reset
        configured = arm_project(project, arm).with_training(seed=1)
        alone = train(configured, load_dataset(project.dataset, 1), keep_best=True)
        _same_history(alone, runs[(arm, 1)])
    first = train(project, load_dataset(project.dataset, 0), keep_best=True)
    _same_history(first, runs[("dropout", 0)])


def test_dropout_and_no_dropout_arms_share_one_trace():
    project = tiny_project(epochs=3, rate=0.5)
    created: list[StepCache] = []
    original = StepCache.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self)

    StepCache.__init__ = spy  # type: ignore[method-assign]
    try:
        compare(project, seeds=3, arms=("dropout", "no dropout", "early stopping"))
    finally:
        StepCache.__init__ = original  # type: ignore[method-assign]
    assert len(created) == 1
    assert created[0].traces == 1
    assert _traces(created[0]) == 1


def test_a_sweep_traces_once_for_every_rate_and_seed(tmp_path, monkeypatch):
    caches = record_step_caches(monkeypatch, sweep_module)
    rows = run_sweep(
        tiny_project(epochs=3), SweepPlan(rates=(0.0, 0.3, 0.6), seeds=2), tmp_path / "s"
    )
    assert sorted(r["rate"] for r in rows) == [0.0, 0.3, 0.6]
    assert len(caches) == 1
    assert caches[0].traces == 1
    assert _traces(caches[0]) == 1


def test_a_rate_zero_layer_is_kept_but_invisible():
    """Rate 0 keeps an inert dropout layer (so it shares a trace); users never see it: no
    masks, no parameters, not in exports, and the output is the input."""
    project = _with_rate(tiny_project(epochs=2), 0.0)
    model = build_model(project.network, 0)
    inert = [layer for layer in model.layers if isinstance(layer, RecordingDropout)]
    assert len(inert) == 1
    assert inert[0].rate == 0
    hidden = np.random.default_rng(0).normal(size=(8, 16)).astype("float32")
    np.testing.assert_array_equal(np.asarray(inert[0](hidden, training=True)), hidden)
    assert read_masks(model) == {}
    plain = plain_clone(model)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    bare = build_model(
        replace(
            project.network,
            layers=tuple(replace(layer, dropout=DropoutSpec()) for layer in project.network.layers),
        ),
        0,
    )
    assert plain.count_params() == bare.count_params()
    assert parameter_counts(model) == parameter_counts(bare)
    x = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    np.testing.assert_array_equal(np.asarray(plain(x)), np.asarray(model(x)))
    result = train(project, load_dataset(project.dataset, 0))
    assert result.masks == {}  # the diagram gets no record for it


def test_the_step_traces_without_autograph_in_every_branch(monkeypatch):
    """The step's control flow is explicit (``tf.while_loop``/``tf.cond``): autograph converts
    nothing, for mini-batches, one full batch and a validation set taken in chunks, and the
    chunked validation loss equals the one-pass one."""
    from tensorflow.python.autograph.impl import api

    from dropout_studio.engine import train as train_module

    converted = []
    real = api._convert_actual

    def spy(entity, program_ctx):
        converted.append(getattr(entity, "__qualname__", repr(entity)))
        return real(entity, program_ctx)

    monkeypatch.setattr(api, "_convert_actual", spy)
    project = tiny_project(epochs=3, samples=120)
    data = load_dataset(project.dataset, 0)
    one_pass = {}
    for batch_size in (16, 1000):
        run = train(project.with_training(batch_size=batch_size), data)
        assert run.status == "finished"
        assert len(run.history) == 3
        one_pass[batch_size] = [row["val_loss"] for row in run.history]
    monkeypatch.setattr(train_module, "EVAL_CHUNK_MAX", 7)  # 24 validation rows: 4 chunks
    chunked = train(project.with_training(batch_size=1000), data)
    assert converted == []
    np.testing.assert_allclose(
        [row["val_loss"] for row in chunked.history], one_pass[1000], rtol=1e-5
    )


def test_a_limited_cache_keeps_only_the_newest_steps():
    project = tiny_project(epochs=1)
    data = load_dataset(project.dataset, 0)
    cache = StepCache(limit=1)
    train(project, data, steps=cache)
    wider = replace(
        project,
        network=replace(
            project.network,
            layers=(
                project.network.layers[0],
                replace(project.network.layers[1], options=(("units", 8),)),
                project.network.layers[2],
            ),
        ),
    )
    run = train(wider, data, steps=cache)
    assert cache.traces == 2
    (kept,) = cache.steps.values()
    assert kept.model is run.model


def test_the_same_project_again_starts_from_remembered_values_bitwise(monkeypatch):
    """Train pressed twice: the second run starts from the values the first run's build gave
    (no model is built again) and trains bitwise as the first did; another seed in between
    builds its own, and the first seed afterwards is still exact."""
    from dropout_studio.engine import train as train_module

    project = tiny_project(epochs=3, samples=120)
    data = load_dataset(project.dataset, 0)
    cache = StepCache()
    first = train(project, data, steps=cache)
    builds = []
    real_build = train_module.build_model

    def counting(*args, **kwargs):
        builds.append(args)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(train_module, "build_model", counting)
    again = train(project, data, steps=cache)
    assert builds == []
    assert again.history == first.history
    other = train(project.with_training(seed=3), data, steps=cache)
    assert len(builds) == 1
    assert other.history != first.history
    back = train(project, data, steps=cache)
    assert back.history == first.history
    for name, record in first.masks.items():  # the records restarted from zero too
        np.testing.assert_array_equal(back.masks[name]["drop_frequency"], record["drop_frequency"])
        np.testing.assert_array_equal(back.masks[name]["last_mask"], record["last_mask"])
