"""Turn a plain Keras model of supported layers into a project (architecture, not weights)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project
from dropout_studio.core.spec import ACTIVATIONS, DropoutSpec, LayerSpec, NetworkSpec

DROPOUT_CLASSES = {
    "Dropout": "dropout",
    "SpatialDropout1D": "spatial",
    "SpatialDropout2D": "spatial",
    "GaussianDropout": "gaussian",
    "AlphaDropout": "alpha",
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


def _l2(layer: keras.layers.Layer) -> float:
    reg = getattr(layer, "kernel_regularizer", None) or getattr(
        layer, "embeddings_regularizer", None
    )
    return float(getattr(reg, "l2", 0.0) or 0.0)


def _layer_spec(layer: keras.layers.Layer) -> LayerSpec:
    cls = type(layer).__name__
    c = layer.get_config()
    if cls == "Dense":
        return LayerSpec.make(
            "Dense",
            units=c["units"],
            activation=_activation(layer),
            use_bias=c["use_bias"],
            l2=_l2(layer),
        )
    if cls in ("Conv1D", "Conv2D"):

        def size(v: Any) -> Any:
            v = tuple(v)
            return v[0] if len(set(v)) == 1 else v

        return LayerSpec.make(
            cls,
            filters=c["filters"],
            kernel_size=size(c["kernel_size"]),
            strides=size(c["strides"]),
            padding=c["padding"],
            activation=_activation(layer),
            l2=_l2(layer),
        )
    if cls in ("MaxPooling1D", "MaxPooling2D", "AveragePooling2D"):

        def size(v: Any) -> Any:
            v = tuple(v) if isinstance(v, list | tuple) else (v,)
            return v[0] if len(set(v)) == 1 else v

        return LayerSpec.make(
            cls, pool_size=size(c["pool_size"]), strides=size(c["strides"]), padding=c["padding"]
        )
    if cls in ("Flatten", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "BatchNormalization"):
        return LayerSpec.make(cls)
    if cls == "Embedding":
        return LayerSpec.make(
            "Embedding", input_dim=c["input_dim"], output_dim=c["output_dim"], l2=_l2(layer)
        )
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        return LayerSpec.make(
            cls,
            units=c["units"],
            return_sequences=c["return_sequences"],
            activation=_activation(layer),
            input_dropout=c["dropout"],
            recurrent_dropout=c["recurrent_dropout"],
            l2=_l2(layer),
        )
    raise ImportModelError(
        f"layer {layer.name!r} is a {cls}, which Dropout Studio does not "
        "support; supported: Dense, Conv1D/2D, pooling, Flatten, "
        "BatchNormalization, Embedding, LSTM, GRU, SimpleRNN and the dropout "
        "layers"
    )


def project_from_model(model: keras.Model, name: str) -> Project:
    shape = tuple(model.input_shape[1:])
    layers: list[LayerSpec] = [LayerSpec.make("Input", shape=shape)]
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        if cls in DROPOUT_CLASSES:
            previous = layers[-1]
            if previous.dropout.active:
                raise ImportModelError(
                    f"layer {layer.name!r}: two dropout layers in a row; "
                    "Dropout Studio gives each layer one output dropout"
                )
            rate = float(layer.get_config()["rate"])
            layers[-1] = replace(previous, dropout=DropoutSpec(DROPOUT_CLASSES[cls], rate))
            continue
        layers.append(_layer_spec(layer))
    return Project(
        name=name,
        network=NetworkSpec(tuple(layers)),
        dataset=DatasetSpec(source="npz", name="", path="data.npz"),
        description=f"imported from a Keras model ({model.name})",
    )


def import_model_file(path: str | os.PathLike[str]) -> Project:
    path = Path(path)
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ImportModelError(f"{path}: cannot be loaded as a Keras model ({exc})") from None
    if not isinstance(model, keras.Sequential) and len(model.inputs) != 1:
        raise ImportModelError(f"{path}: only models with one input can be imported")
    return project_from_model(model, path.stem)
