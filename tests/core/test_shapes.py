"""Shape inference and validation: Keras' parameter counts, and messages that say what to change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import load_preset, preset_names
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec


def stack(*layers: LayerSpec) -> NetworkSpec:
    return NetworkSpec(tuple(layers))


def test_mlp_classic_has_the_reference_parameter_count():
    report = load_preset("mlp-classic").check()
    assert report.ok
    assert report.total_params == 67_845
    assert [r.output_shape for r in report.layers] == [(32, 32, 1), (1024,), (64,), (32,), (5,)]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_valid(name):
    report = load_preset(name).check()
    assert report.ok, report.errors


def test_conv_pool_shapes_and_params():
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(32, 32, 3)),
            LayerSpec.make("Conv2D", filters=32, kernel_size=9),
            LayerSpec.make("MaxPooling2D", pool_size=2),
            LayerSpec.make("Conv2D", filters=8, kernel_size=(3, 5), padding="same", strides=2),
            LayerSpec.make("GlobalAveragePooling2D"),
        )
    )
    assert report.ok
    shapes = [r.output_shape for r in report.layers]
    assert shapes == [(32, 32, 3), (24, 24, 32), (12, 12, 32), (6, 6, 8), (8,)]
    assert [r.params for r in report.layers] == [0, 9 * 9 * 3 * 32 + 32, 0, 3 * 5 * 32 * 8 + 8, 0]


def test_recurrent_and_embedding_params_follow_keras_formulas():
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(20,)),
            LayerSpec.make("Embedding", input_dim=50, output_dim=8),
            LayerSpec.make("LSTM", units=16, return_sequences=True),
            LayerSpec.make("GRU", units=4, return_sequences=True),
            LayerSpec.make("SimpleRNN", units=3),
            LayerSpec.make("BatchNormalization"),
        )
    )
    assert report.ok
    params = [r.params for r in report.layers]
    assert params == [
        0,
        400,
        4 * (16 * (8 + 16) + 16),
        3 * (4 * (16 + 4) + 2 * 4),
        3 * (4 + 3) + 3,
        12,
    ]
    assert report.layers[-1].trainable_params == 6
    assert report.output_shape == (3,)


def test_conv_after_flatten_names_both_layers_and_the_fix():
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(64, 64, 1)),
            LayerSpec.make("Flatten"),
            LayerSpec.make("Conv2D", filters=4, kernel_size=3),
        )
    )
    (error,) = report.errors
    assert error.layer_index == 2
    assert error.message == (
        "layer 3 (Conv2D) needs a 3-D input (height, width, channels), but layer 2 (Flatten) "
        "outputs (4096,): remove the Flatten or move it after the convolutions"
    )


def test_kernel_larger_than_input_suggests_padding():
    report = infer(
        stack(LayerSpec.make("Input", shape=(4, 4, 1)), LayerSpec.make("Conv2D", kernel_size=9))
    )
    assert "smaller kernel_size or padding 'same'" in report.errors[0].message


@pytest.mark.parametrize("rate", [1.0, 1.5])
def test_rate_of_one_or_more_is_rejected_with_advice(rate):
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(4,)),
            LayerSpec.make("Dense", units=8, dropout=DropoutSpec("dropout", rate)),
        )
    )
    (error,) = report.errors
    assert error.layer_index == 1
    assert "drops every unit" in error.message
    assert "below 1" in error.message


def test_spatial_dropout_on_dense_output_is_an_error():
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(4,)),
            LayerSpec.make("Dense", units=8, dropout=DropoutSpec("spatial", 0.2)),
        )
    )
    assert "use plain 'dropout'" in report.errors[0].message


def test_recurrent_dropout_only_on_rnn_layers():
    report = infer(
        stack(LayerSpec.make("Input", shape=(4,)), LayerSpec.make("Dense", recurrent_dropout=0.2))
    )
    assert "recurrent_dropout applies only to LSTM" in report.errors[0].message


def test_lstm_after_dense_explains_what_it_needs():
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(10,)),
            LayerSpec.make("Dense", units=4),
            LayerSpec.make("LSTM", units=4),
        )
    )
    assert report.errors[0].message.startswith("layer 3 (LSTM) needs a sequence (steps, features)")
    assert report.layers[-1].output_shape is None  # later rows get no shape


def test_missing_input_and_second_input_are_errors():
    report = infer(stack(LayerSpec.make("Dense", units=3)))
    assert "first layer must be an Input" in report.errors[0].message
    report = infer(stack(LayerSpec.make("Input", shape=(3,)), LayerSpec.make("Input", shape=(3,))))
    assert "only the first layer may be an Input" in report.errors[0].message


def test_advice_warns_without_blocking():
    report = infer(
        stack(
            LayerSpec.make("Input", shape=(8, 8, 1)),
            LayerSpec.make("Conv2D", filters=4, dropout=DropoutSpec("dropout", 0.3)),
            LayerSpec.make("Flatten"),
            LayerSpec.make("Dense", units=3, dropout=DropoutSpec("dropout", 0.5)),
        )
    )
    assert report.ok
    messages = " ".join(w.message for w in report.warnings)
    assert "try 'spatial'" in messages
    assert "output layer" in messages


def test_keep_probability_is_shown_beside_the_rate():
    d = DropoutSpec("dropout", 0.2)
    assert d.keep_probability == pytest.approx(0.8)
    assert d.describe() == "dropout · drop 20% · keep 80%"


def test_without_dropout_removes_every_rate():
    network = load_preset("lstm-sequence").network.without_dropout()
    assert all(not layer.dropout.active for layer in network.layers)
    assert all(layer.input_dropout == layer.recurrent_dropout == 0 for layer in network.layers)


def test_a_stack_with_only_an_input_is_a_problem():
    report = infer(stack(LayerSpec.make("Input", shape=(2,))))
    assert not report.ok
    assert "only an Input: add at least one layer" in report.errors[0].message


def test_an_input_only_project_fails_check():
    project = load_preset("mlp-classic")
    project = replace(project, network=stack(project.network.layers[0]))
    assert any("only an Input" in p.message for p in project.check().errors)


@pytest.mark.parametrize("before", ["Dense", "Flatten"])
def test_an_embedding_only_follows_the_input(before):
    layers = [LayerSpec.make("Input", shape=(10,)), LayerSpec.make(before)]
    layers += [LayerSpec.make("Embedding", input_dim=50, output_dim=8), LayerSpec.make("Flatten")]
    report = infer(stack(*layers))
    assert any("must come directly after the Input" in p.message for p in report.errors)


def _embedding_project(**dataset):
    project = load_preset("mlp-classic")
    return replace(
        project,
        network=stack(
            LayerSpec.make("Input", shape=(2,)),
            LayerSpec.make("Embedding", input_dim=5, output_dim=2),
            LayerSpec.make("Flatten"),
            LayerSpec.make("Dense", units=2, activation="softmax"),
        ),
        dataset=DatasetSpec(source="synthetic", name="moons", **dataset),
    )


@pytest.mark.parametrize("standardize", [True, False])
def test_an_embedding_on_real_valued_data_fails_check(standardize):
    errors = _embedding_project(standardize=standardize).check().errors
    assert any("Embedding) looks up integer token ids" in p.message for p in errors)


def test_an_embedding_on_integer_data_passes_check(tmp_path):
    (tmp_path / "tokens.csv").write_text("a,b,label\n" + "1,2,0\n3,4,1\n" * 5)
    project = replace(
        _embedding_project(),
        dataset=DatasetSpec(source="csv", path="tokens.csv", standardize=False),
    )
    assert project.check(tmp_path / "p.json").ok
