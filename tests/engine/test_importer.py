"""Import takes a single chain of supported layers, or refuses with the layer to look at."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from dropout_studio.core.shapes import infer  # noqa: E402
from dropout_studio.engine.importer import (  # noqa: E402
    ImportModelError,
    import_model_file,
    project_from_model,
)


def _two_heads():
    inputs = keras.Input((4,))
    trunk = keras.layers.Dense(5, name="trunk")(inputs)
    heads = [keras.layers.Dense(2, name=n)(trunk) for n in ("a", "b")]
    return keras.Model(inputs, heads)


def _shared_trunk_merged():
    inputs = keras.Input((4,))
    trunk = keras.layers.Dense(4, name="trunk")(inputs)
    a = keras.layers.Dense(4, name="a")(trunk)
    b = keras.layers.Dense(4, name="b")(trunk)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Add()([a, b])))


def _shared_layer():
    inputs = keras.Input((4,))
    shared = keras.layers.Dense(4, name="shared")
    return keras.Model(inputs, shared(shared(inputs)))


def _two_inputs():
    a, b = keras.Input((4,)), keras.Input((4,))
    return keras.Model([a, b], keras.layers.Dense(2)(keras.layers.Concatenate()([a, b])))


def _branch_at_input():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(2, name="a")(inputs)
    b = keras.layers.Dense(2, name="b")(inputs)
    return keras.Model(inputs, keras.layers.Concatenate()([a, b]))


def _residual(add):
    def make():
        inputs = keras.Input((4,))
        trunk = keras.layers.Dense(4, name="trunk")(inputs)
        a = keras.layers.Dense(4, name="a")(trunk)
        return keras.Model(inputs, keras.layers.Dense(2)(add(trunk, a)))

    return make


def _input_added_to_output():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(4, name="a")(inputs) + inputs)


def _op_in_chain(op):
    def make():
        inputs = keras.Input((4,))
        trunk = keras.layers.Dense(4, name="trunk")(inputs)
        return keras.Model(inputs, keras.layers.Dense(2)(op(trunk)))

    return make


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (_two_heads, "branches after layer 'trunk'"),
        (_shared_trunk_merged, "branches after layer 'trunk'"),
        (_shared_layer, "'shared' is shared"),
        (_two_inputs, "branches|merges|2 inputs"),
        (_branch_at_input, "branches after layer"),
        (_residual(lambda t, a: t + a), "branches after layer 'trunk'"),
        (_residual(lambda t, a: keras.ops.add(t, a)), "branches after layer 'trunk'"),
        (_input_added_to_output, "branches after layer 'input_layer.*'a'"),
        (_op_in_chain(lambda t: t * 2.0), "operation 'multiply.* layer 'trunk'"),
        (_op_in_chain(keras.ops.relu), "operation 'relu.* layer 'trunk'"),
        (_op_in_chain(keras.ops.stop_gradient), "operation 'stop_gradient"),
    ],
)
def test_graphs_that_are_not_a_chain_are_refused(make, pattern):
    with pytest.raises(ImportModelError, match=pattern):
        project_from_model(make(), "x")


def test_operations_that_are_not_layers_are_refused_from_a_file_too(tmp_path):
    """Keras 3 saves ``t + a`` and ``keras.ops.relu`` as graph operations (not layers), and
    ``safe_mode`` loads them back: the importer sees them in ``model.operations``."""
    for name, make in (
        ("plus", _residual(lambda t, a: t + a)),
        ("relu", _op_in_chain(keras.ops.relu)),
    ):
        make().save(tmp_path / f"{name}.keras")
        with pytest.raises(ImportModelError, match=r"branches after layer 'trunk'|operation 'relu"):
            import_model_file(tmp_path / f"{name}.keras")


def test_a_layer_called_in_another_model_too_still_imports():
    """Only the calls inside this model's graph count: a layer reused by another model is not
    shared within this one."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, dense(inputs))
    dense(keras.Input((4,)))
    assert [layer.kind for layer in project_from_model(model, "x").network.layers] == [
        "Input",
        "Dense",
    ]


def test_a_functional_chain_imports_with_its_dropout(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.SpatialDropout2D(0.25)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    project = import_model_file(tmp_path / "m.keras")
    report = infer(project.network)
    assert report.ok
    assert report.total_params == model.count_params()
    assert project.network.layers[2].dropout.type == "spatial"
    assert project.network.layers[2].option("strides") is None  # = pool size, as built


def test_unsupported_layers_and_files_are_one_message(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.LayerNormalization()(inputs))
    with pytest.raises(ImportModelError, match="LayerNormalization"):
        project_from_model(model, "x")
    (tmp_path / "empty.keras").write_bytes(b"")
    with pytest.raises(ImportModelError, match="cannot be loaded"):
        import_model_file(tmp_path / "empty.keras")
    with pytest.raises(ImportModelError, match=r"only \.keras files"):
        import_model_file(tmp_path)
    (tmp_path / "legacy.h5").write_bytes(b"\x89HDF\r\n\x1a\n")  # legacy loader: no safe_mode
    with pytest.raises(ImportModelError, match=r"only \.keras files"):
        import_model_file(tmp_path / "legacy.h5")


@pytest.mark.parametrize(
    ("layer", "setting"),
    [
        (lambda: keras.layers.Conv1D(4, 3, dilation_rate=2), "dilation_rate"),
        (lambda: keras.layers.Conv1D(4, 3, groups=2), "groups"),
        (lambda: keras.layers.GRU(4, reset_after=False), "reset_after"),
        (lambda: keras.layers.BatchNormalization(center=False), "center"),
        (lambda: keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L1(0.1)), "kernel"),
        (lambda: keras.layers.MaxPooling1D(data_format="channels_first"), "data_format"),
    ],
)
def test_settings_the_registry_cannot_carry_are_refused(layer, setting):
    """Imported as the registry's kind they would be another network (another param count)."""
    inputs = keras.Input((8, 4))
    model = keras.Model(inputs, layer()(inputs))
    with pytest.raises(ImportModelError, match=setting):
        project_from_model(model, "x")


def test_dropout_with_a_noise_shape_is_refused():
    inputs = keras.Input((8,))
    x = keras.layers.Dense(4)(inputs)
    model = keras.Model(inputs, keras.layers.Dropout(0.5, noise_shape=(None, 1))(x))
    with pytest.raises(ImportModelError, match="noise_shape"):
        project_from_model(model, "x")


def test_a_missing_or_odd_path_names_what_it_is(tmp_path):
    with pytest.raises(ImportModelError, match="no such file"):
        import_model_file(tmp_path / "missing.keras")
    (tmp_path / "folder.keras").mkdir()
    with pytest.raises(ImportModelError, match="not a regular file"):
        import_model_file(tmp_path / "folder.keras")


def test_a_model_without_an_input_shape_is_one_message():
    with pytest.raises(ImportModelError, match="no input shape"):
        project_from_model(keras.Sequential([keras.layers.Dense(2)]), "x")


def test_lambda_layers_are_not_executed_on_load(tmp_path):
    """``safe_mode`` stays on: a Lambda's code in a .keras file is never deserialized."""
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ImportModelError, match=r"cannot be loaded|Lambda"):
        import_model_file(tmp_path / "lambda.keras")


def test_a_model_with_no_layer_after_its_input_is_refused():
    inputs = keras.Input((4,))
    with pytest.raises(ImportModelError, match="only an Input"):
        project_from_model(keras.Model(inputs, inputs), "x")
