"""Turn a plain Keras model of supported layers into a project (architecture, not weights)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.layer_kinds import shown
from dropout_studio.core.project import Project
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import (
    ACTIVATIONS,
    LAYER_KINDS,
    DropoutSpec,
    LayerSpec,
    NetworkSpec,
    OptionSpec,
)

DROPOUT_CLASSES = {
    "Dropout": "dropout",
    "SpatialDropout1D": "spatial",
    "SpatialDropout2D": "spatial",
    "GaussianDropout": "gaussian",
    "AlphaDropout": "alpha",
}


KERAS_CLASSES = {
    entry.keras_class: entry for entry in LAYER_KINDS.values() if entry.name != "Input"
}


class ImportModelError(ValueError):
    """A model that cannot become a project; the message names the layer."""


def _activation(layer: keras.layers.Layer) -> str:
    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", {}).get("name", str(name))
    if name not in ACTIVATIONS:
        raise ImportModelError(
            f"layer {layer.name!r} uses activation {name!r}, which Dropout "
            f"Studio does not offer ({', '.join(ACTIVATIONS)})"
        )
    return name


def _l2(layer: keras.layers.Layer, arguments: tuple[str, ...]) -> float:
    for name in arguments:
        reg = getattr(layer, name, None)
        if reg is None and hasattr(layer, "cell"):
            reg = getattr(layer.cell, name, None)
        if reg is not None:
            return float(getattr(reg, "l2", 0.0) or 0.0)
    return 0.0


def _size(value: Any) -> Any:
    parts = tuple(value) if isinstance(value, list | tuple) else (value,)
    return parts[0] if len(set(parts)) == 1 else parts


def _option_value(spec: OptionSpec, value: Any, config: dict[str, Any]) -> Any:
    """A Keras config value in the registry's form: equal sizes as one number, and pooling
    strides equal to the pool size as ``None`` (Keras stores the resolved strides)."""
    if spec.value_type != "size" or value is None:
        return value
    value = _size(value)
    if spec.nullable and spec.name == "strides" and value == _size(config.get("pool_size")):
        return None
    return value


def _layer_spec(layer: keras.layers.Layer) -> LayerSpec:
    cls = type(layer).__name__
    entry = KERAS_CLASSES.get(cls)
    if entry is None:
        raise ImportModelError(
            f"layer {layer.name!r} is a {cls}, which Dropout Studio does not support; "
            f"supported: {', '.join(k for k in LAYER_KINDS if k != 'Input')} and the dropout "
            "layers"
        )
    config = layer.get_config()
    options: dict[str, Any] = {}
    for option in entry.options:
        if option.name == "activation":
            options["activation"] = _activation(layer)
        elif option.name in config:
            options[option.name] = _option_value(option, config[option.name], config)
    fields: dict[str, Any] = {"l2": _l2(layer, entry.l2_arguments)}
    if entry.recurrent:
        fields.update(
            input_dropout=float(config.get("dropout", 0.0)),
            recurrent_dropout=float(config.get("recurrent_dropout", 0.0)),
        )
    imported = LayerSpec.make(entry.name, **fields, **options)
    _same_layer_or_refuse(layer, imported)
    return imported


# Config keys that do not change what the layer computes from its inputs.
_IRRELEVANT = {"name", "trainable", "dtype", "seed", "quantization_config"}


def _canonical(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, dict):
        return {
            k: _canonical(v) for k, v in value.items() if k not in ("module", "registered_name")
        }
    return value


def _same_layer_or_refuse(layer: keras.layers.Layer, spec: LayerSpec) -> None:
    """Refuse a layer whose Keras settings the spec cannot carry (dilation, groups, a GRU with
    ``reset_after=False``, channels-first pooling, BatchNorm without scale…): it would come back
    as a different network, with another parameter count."""
    entry = LAYER_KINDS[spec.kind]
    arguments = entry.keras_arguments(spec)
    if spec.l2:
        arguments.update({name: keras.regularizers.L2(spec.l2) for name in entry.l2_arguments})
    reference = getattr(keras.layers, entry.keras_class)(**arguments).get_config()
    actual = layer.get_config()
    for key in sorted(set(actual) | set(reference)):
        if key in _IRRELEVANT or key.endswith("_initializer"):
            continue
        mine, theirs = _canonical(reference.get(key)), _canonical(actual.get(key))
        if mine != theirs:
            editable = ", ".join(o.name for o in entry.options) or "none"
            raise ImportModelError(
                f"layer {layer.name!r} ({type(layer).__name__}) sets {key}={shown(theirs)}, "
                f"which Dropout Studio cannot represent (it builds {key}={shown(mine)}); its "
                f"editable options are: {editable}"
            )


def _is_input(operation: Any) -> bool:
    return type(operation).__name__ == "InputLayer"


def _graph_nodes(model: keras.Model, operation: Any) -> list[Any]:
    """The calls of ``operation`` that belong to ``model``'s graph (a layer also called in
    another model has further inbound nodes, which are not this model's business)."""
    keys = getattr(model, "_nodes", None)
    nodes = list(operation._inbound_nodes)
    if not isinstance(keys, set):
        return nodes
    return [node for i, node in enumerate(nodes) if f"{id(operation)}_ib-{i}" in keys]


def _what(operation: Any) -> str:
    kind = "layer" if isinstance(operation, keras.layers.Layer) else "operation"
    return f"{kind} {operation.name!r}"


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, when it is a single chain; otherwise names where it is not.

    A Sequential model is a chain by construction. A functional model is one when it has one
    input and one output, and every operation of its graph is a layer (``t + a``,
    ``keras.ops.relu(t)`` or ``t * 2.0`` are operations, not layers, and would otherwise be lost
    on import), called once (no shared layers) on exactly one tensor, and every operation's
    output feeds exactly one other (the last feeds none).
    """
    if isinstance(model, keras.Sequential):
        return [layer for layer in model.layers if not _is_input(layer)]
    operations = list(model.operations)
    consumers: dict[int, list[Any]] = {}
    merges: list[str] = []  # reported after branches, which name the layer to look at
    for operation in operations:
        nodes = _graph_nodes(model, operation)
        if len(nodes) != 1:
            raise ImportModelError(
                f"{_what(operation)} is shared (called {len(nodes)} times); only a single "
                "chain of layers can be imported"
            )
        inputs = nodes[0].input_tensors
        if len(inputs) != 1 and not _is_input(operation):
            merges.append(f"{_what(operation)} merges {len(inputs)} branches")
        for tensor in inputs:
            source = tensor._keras_history.operation
            consumers.setdefault(id(source), []).append(operation)
    for operation in operations:
        fed = consumers.get(id(operation), [])
        if len(fed) > 1:
            names = ", ".join(dict.fromkeys(repr(op.name) for op in fed))
            raise ImportModelError(
                f"the model branches after {_what(operation)} (its output is used {len(fed)} "
                f"times, by {names}); only a single chain of layers can be imported"
            )
    if merges:
        raise ImportModelError(f"{merges[0]}; only a single chain of layers can be imported")
    for what, tensors in (("inputs", model.inputs), ("outputs", model.outputs)):
        if len(tensors) != 1:
            raise ImportModelError(
                f"the model has {len(tensors)} {what}; only a single chain of layers "
                "(one input, one output) can be imported"
            )
    for operation in operations:
        if not isinstance(operation, keras.layers.Layer):
            before = [node.input_tensors for node in _graph_nodes(model, operation)]
            source = before[0][0]._keras_history.operation if before and before[0] else None
            after = f" to the output of {_what(source)}" if source is not None else ""
            raise ImportModelError(
                f"the model applies the operation {operation.name!r} "
                f"({type(operation).__name__}){after}, which is not a layer; only a chain of "
                "supported layers can be imported (use an activation option or a layer instead)"
            )
    # Walk the chain from the input, so the order is the order data flows in.
    chain: list[keras.layers.Layer] = []
    current = model.inputs[0]._keras_history.operation
    while consumers.get(id(current)):
        current = consumers[id(current)][0]
        chain.append(current)
    if len(chain) != len([op for op in operations if not _is_input(op)]):
        raise ImportModelError(
            "the model's operations do not form one chain from its input to its output; "
            "only a single chain of layers can be imported"
        )
    return chain


def project_from_model(model: keras.Model, name: str) -> Project:
    try:
        shape = tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        raise ImportModelError(
            f"the model {model.name!r} has no input shape (it was never built or called): "
            "save it after calling it once on data"
        ) from None
    layers: list[LayerSpec] = [LayerSpec.make("Input", shape=shape)]
    for layer in _chain(model):
        cls = type(layer).__name__
        if cls in DROPOUT_CLASSES:
            previous = layers[-1]
            if previous.dropout.active:
                raise ImportModelError(
                    f"layer {layer.name!r}: two dropout layers in a row; "
                    "Dropout Studio gives each layer one output dropout"
                )
            config = layer.get_config()
            if config.get("noise_shape") is not None:
                raise ImportModelError(
                    f"layer {layer.name!r} sets noise_shape={shown(config['noise_shape'])}, "
                    "which Dropout Studio cannot represent: use SpatialDropout for whole channels"
                )
            rate = float(config["rate"])
            layers[-1] = replace(previous, dropout=DropoutSpec(DROPOUT_CLASSES[cls], rate))
            continue
        layers.append(_layer_spec(layer))
    project = Project(
        name=name,
        network=NetworkSpec(tuple(layers)),
        dataset=DatasetSpec(source="npz", name="", path="data.npz"),
        description=f"imported from a Keras model ({model.name})",
    )
    report = infer(project.network)
    if report.errors:
        raise ImportModelError(f"the imported stack is not valid: {report.errors[0].message}")
    if report.total_params != model.count_params():
        raise ImportModelError(
            f"the imported stack would have {report.total_params:,} parameters but the model "
            f"has {model.count_params():,}: it uses settings Dropout Studio cannot represent"
        )
    return project


def import_model_file(path: str | os.PathLike[str]) -> Project:
    """A project from a ``.keras`` file, loaded with ``safe_mode`` on (no code is deserialized);
    legacy HDF5 files are refused, since their loader does not honour ``safe_mode``."""
    path = Path(path)
    if path.suffix.lower() != ".keras":
        raise ImportModelError(
            f"{shown(str(path))}: only .keras files can be imported (safe loading); re-save the "
            "model with model.save('model.keras')"
        )
    if not path.is_file():
        what = "no such file" if not path.exists() else "not a regular file"
        raise ImportModelError(f"{shown(str(path))}: {what}; choose a .keras model file")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ImportModelError(f"{path}: cannot be loaded as a Keras model ({exc})") from None
    if not isinstance(model, keras.Sequential) and len(model.inputs) != 1:
        raise ImportModelError(f"{path}: only models with one input can be imported")
    return project_from_model(model, path.stem)
