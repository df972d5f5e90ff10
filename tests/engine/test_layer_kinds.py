"""Every registry entry, tested the day it is added: Keras' parameter count, build, Keras code
that builds the same model, and the import round trip back to the same spec."""

from __future__ import annotations

import pytest

from dropout_studio.core.codegen import keras_script
from dropout_studio.core.project import Project
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import LAYER_KINDS, DropoutSpec, LayerSpec, NetworkSpec

KINDS = [name for name in LAYER_KINDS if name != "Input"]
CANDIDATE_INPUTS = [(12,), (12, 3), (12, 12, 3)]


def _non_default(layer: LayerSpec) -> LayerSpec:
    """The layer with a non-default value for every option the registry lets us vary freely."""
    changes = {}
    for option in LAYER_KINDS[layer.kind].options:
        if option.value_type == "int":
            changes[option.name] = option.default + 1
        elif option.value_type == "bool":
            changes[option.name] = not option.default
        elif option.name == "activation":
            changes[option.name] = "elu"
    changed = layer.with_options(**changes)
    if LAYER_KINDS[layer.kind].recurrent:
        changed = LayerSpec.make(
            layer.kind, input_dropout=0.25, recurrent_dropout=0.125, **changed.option_dict
        )
    return changed


def stack_for(kind: str) -> NetworkSpec:
    """The smallest valid stack that holds ``kind``: Input, the layer, and a Dense head."""
    layer = _non_default(LayerSpec.make(kind))
    if LAYER_KINDS[kind].weighted and kind != "BatchNormalization":
        layer = LayerSpec(
            layer.kind,
            layer.options,
            layer.dropout,
            layer.input_dropout,
            layer.recurrent_dropout,
            l2=1e-4,
        )
    for shape in CANDIDATE_INPUTS:
        body = [
            LayerSpec.make("Input", shape=shape),
            layer.with_dropout(DropoutSpec("dropout", 0.3)),
        ]
        out = infer(NetworkSpec.of(body)).output_shape
        if out is None:
            continue
        if len(out) > 1:
            body.append(LayerSpec.make("Flatten"))
        body.append(LayerSpec.make("Dense", units=3, activation="softmax"))
        network = NetworkSpec.of(body)
        if infer(network).ok:
            return network
    raise AssertionError(f"no valid example stack for {kind}")


def test_every_kind_has_options_with_valid_defaults():
    for entry in LAYER_KINDS.values():
        for option in entry.options:
            assert option.parse(option.default) == option.default, (entry.name, option.name)


@pytest.mark.parametrize("kind", KINDS)
def test_parameter_count_matches_keras(kind):
    from dropout_studio.engine.build import build_model, parameter_counts

    network = stack_for(kind)
    report = infer(network)
    counts = parameter_counts(build_model(network, seed=1))
    assert list(counts.values()) == [r.params for r in report.layers[1:]]


@pytest.mark.parametrize("kind", KINDS)
def test_keras_code_builds_the_same_model(kind):
    network = stack_for(kind)
    script = keras_script(Project(network=network))
    namespace: dict = {"__name__": "exported"}
    exec(compile(script, f"<{kind}>", "exec"), namespace)
    model = namespace["build_model"]()
    assert model.count_params() == infer(network).total_params


@pytest.mark.parametrize("kind", KINDS)
def test_import_round_trip(kind):
    from dropout_studio.engine.build import build_model, plain_clone
    from dropout_studio.engine.importer import project_from_model

    network = stack_for(kind)
    imported = project_from_model(plain_clone(build_model(network, seed=2)), "x").network
    assert imported == network
