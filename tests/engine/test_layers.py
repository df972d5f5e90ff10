"""Recording dropout layers: identical to Keras' stock layers, masks that tell the truth."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import ops

from dropout_studio.engine.layers import (
    SELU_ALPHA,
    SELU_SCALE,
    RecordingDropout,
    RecordingGRU,
    RecordingLSTM,
    RecordingSimpleRNN,
    read_masks,
)

STOCK = {
    "dropout": lambda: keras.layers.Dropout(0.3, seed=5),
    "spatial": lambda: keras.layers.SpatialDropout2D(0.3, seed=5),
    "alpha": lambda: keras.layers.AlphaDropout(0.3, seed=5),
    "gaussian": lambda: keras.layers.GaussianDropout(0.3, seed=5),
}


def positive(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32") + 0.1


@pytest.mark.parametrize("mode", list(STOCK))
def test_same_seed_output_is_bitwise_equal_to_stock(mode):
    x = positive((6, 5, 7, 4))
    recording, stock = RecordingDropout(0.3, mode=mode, seed=5), STOCK[mode]()
    for _ in range(3):  # successive draws stay in step too
        a = ops.convert_to_numpy(recording(x, training=True))
        b = ops.convert_to_numpy(stock(x, training=True))
        assert np.array_equal(a, b)


@pytest.mark.parametrize("mode", list(STOCK))
def test_inference_applies_no_dropout(mode):
    x = positive((3, 4, 4, 2))
    layer = RecordingDropout(0.5, mode=mode, seed=1)
    assert np.array_equal(ops.convert_to_numpy(layer(x, training=False)), x)


def test_dropped_units_are_exactly_the_zeros_of_the_output():
    layer = RecordingDropout(0.4, seed=3)
    for seed in range(20):
        x = positive((1, 50), seed)
        out = ops.convert_to_numpy(layer(x, training=True))[0]
        mask = ops.convert_to_numpy(layer.last_mask)
        assert np.array_equal(out == 0, mask == 0)
        np.testing.assert_allclose(out[mask == 1], x[0][mask == 1] / 0.6, rtol=1e-6)


def test_spatial_masks_drop_whole_channels():
    layer = RecordingDropout(0.5, mode="spatial", seed=2)
    x = positive((1, 6, 6, 16))
    out = ops.convert_to_numpy(layer(x, training=True))[0]
    mask = ops.convert_to_numpy(layer.last_mask)
    assert mask.shape == (16,)
    channel_zero = (out == 0).all(axis=(0, 1))
    assert np.array_equal(channel_zero, mask == 0)
    assert 0 < mask.sum() < 16


def test_alpha_dropout_sets_dropped_units_to_the_alpha_value():
    rate = 0.3
    layer = RecordingDropout(rate, mode="alpha", seed=4)
    x = positive((1, 40))
    out = ops.convert_to_numpy(layer(x, training=True))[0]
    mask = ops.convert_to_numpy(layer.last_mask)
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    np.testing.assert_allclose(out[mask == 0], a * alpha_p + b, rtol=1e-5)
    np.testing.assert_allclose(out[mask == 1], a * x[0][mask == 1] + b, rtol=1e-5)


def test_gaussian_records_the_multiplicative_noise():
    layer = RecordingDropout(0.5, mode="gaussian", seed=6)
    x = positive((1, 30))
    out = ops.convert_to_numpy(layer(x, training=True))[0]
    noise = ops.convert_to_numpy(layer.last_mask)
    np.testing.assert_allclose(out / x[0], noise, rtol=1e-5)
    assert noise.std() > 0.5  # stddev sqrt(rate / (1 - rate)) = 1


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_drop_frequency_matches_the_rate_within_a_binomial_bound(rate):
    layer = RecordingDropout(rate, seed=7)
    batch, steps, units = 50, 80, 20
    for step in range(steps):
        layer(positive((batch, units), step), training=True)
    masks = read_masks(keras.Sequential([keras.Input((units,)), layer]))
    record = masks[layer.name]
    draws = batch * steps
    bound = 5 * math.sqrt(rate * (1 - rate) / draws)  # per unit; a swapped rate/keep fails
    assert np.all(np.abs(record["drop_frequency"] - rate) < bound)
    assert record["step"] == steps


def _stock_twin(recording):
    return recording.stock_class.from_config(recording.get_config())


@pytest.mark.parametrize("cls", [RecordingLSTM, RecordingGRU, RecordingSimpleRNN])
def test_rnn_masks_are_recorded_and_outputs_match_stock(cls):
    x = positive((64, 5, 3))
    layer = cls(12, dropout=0.3, recurrent_dropout=0.4, seed=11)
    stock = _stock_twin(layer)
    a = ops.convert_to_numpy(layer(x, training=True))
    stock.build(x.shape)
    stock.set_weights(layer.cell.get_weights())
    b = ops.convert_to_numpy(stock(x, training=True))
    if cls is not RecordingSimpleRNN:  # stock SimpleRNN ignores its seed: not even self-equal
        np.testing.assert_array_equal(a, b)
    # Keras caches the per-sequence masks on the cell as _dropout_mask/_recurrent_dropout_mask
    # (private): if that changes, nothing is recorded and this fails.
    model = keras.Sequential([keras.Input((5, 3)), layer])
    for seed in range(30):
        layer(positive((64, 5, 3), seed), training=True)
    masks = read_masks(model)
    assert set(masks) == {f"{layer.name}.input", f"{layer.name}.recurrent"}
    assert masks[f"{layer.name}.input"]["last_mask"].shape == (3,)
    assert masks[f"{layer.name}.recurrent"]["last_mask"].shape == (12,)
    draws = 31 * 64
    for key, rate in ((".input", 0.3), (".recurrent", 0.4)):
        freq = masks[layer.name + key]["drop_frequency"]
        assert np.all(np.abs(freq - rate) < 5 * math.sqrt(rate * (1 - rate) / draws))


def test_stock_layer_for_export_keeps_the_configuration():
    for mode, expected in (
        ("dropout", "Dropout"),
        ("gaussian", "GaussianDropout"),
        ("alpha", "AlphaDropout"),
    ):
        stock = RecordingDropout(0.25, mode=mode, seed=3, name="d").stock_layer()
        assert type(stock).__name__ == expected
        assert stock.rate == 0.25


def test_rate_of_one_is_refused():
    with pytest.raises(ValueError, match="not including"):
        RecordingDropout(1.0)
