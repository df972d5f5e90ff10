"""Inside the network: MC dropout leaves training state alone; probes measure what they say."""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pytest

from dropout_studio.core.spec import LayerSpec, NetworkSpec
from dropout_studio.engine.analysis import (
    activation_sparsity,
    coadaptation,
    decision_grid,
    first_layer_features,
    mc_dropout,
    unit_correlations,
)
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.layers import read_masks
from dropout_studio.engine.train import train
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained():
    project = tiny_project(epochs=5)
    layers = list(project.network.layers)
    layers.insert(2, LayerSpec.make("BatchNormalization"))
    project = replace(project, network=NetworkSpec(tuple(layers)))
    data = load_dataset(project.dataset, 0)
    return train(project, data).model, data


def test_mc_dropout_varies_without_touching_masks_or_batchnorm(trained):
    model, data = trained
    before_masks = read_masks(model)
    bn = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    before_stats = [np.array(w) for w in bn.get_weights()]
    samples = mc_dropout(model, data.x_val[:20], samples=15)
    assert samples.shape == (15, 20, 2)
    assert samples.std(axis=0).mean() > 1e-3  # dropout is on: predictions vary
    for w, old in zip(bn.get_weights(), before_stats, strict=True):
        np.testing.assert_array_equal(w, old)  # moving statistics untouched
    after = read_masks(model)
    for key, record in before_masks.items():
        assert after[key]["step"] == record["step"]
        np.testing.assert_array_equal(after[key]["last_mask"], record["last_mask"])
    deterministic = model.predict(data.x_val[:20], verbose=0)
    np.testing.assert_allclose(deterministic, model.predict(data.x_val[:20], verbose=0))


def test_decision_grid_for_two_features(trained):
    model, data = trained
    xs, ys, uncertainty = decision_grid(model, data.x_train, resolution=12, samples=5)
    assert uncertainty.mean.shape == (144, 2)
    assert np.all(uncertainty.entropy >= 0)
    assert len(xs) == len(ys) == 12


def test_sparsity_and_coadaptation(trained):
    model, data = trained
    rows = activation_sparsity(model, data.x_val)
    assert rows[0].name == "dense_2"
    assert all(0 <= r.zero_fraction <= 1 for r in rows)
    assert rows[0].zero_fraction > 0  # ReLU layer: some units are off
    corr = unit_correlations(model, data.x_val, "dense_2")
    assert corr.shape == (16, 16)
    assert 0 <= coadaptation(corr) <= 1
    np.testing.assert_allclose(corr, corr.T, atol=1e-6)
    identity = np.eye(4)
    assert coadaptation(identity) == 0
    assert coadaptation(np.ones((4, 4))) == 1


def test_first_layer_features_are_images():
    from dropout_studio.core.project import load_preset
    from dropout_studio.engine.build import build_model

    mlp = build_model(load_preset("mlp-classic").network, 0)
    assert first_layer_features(mlp, (32, 32, 1)).shape == (64, 32, 32)
    cnn = build_model(load_preset("cnn-classic").network, 0)
    assert first_layer_features(cnn, (32, 32, 3)).shape == (32, 9, 9)
