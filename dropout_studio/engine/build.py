"""Keras models from a network spec, with recording dropout layers, and their plain twins."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import keras

from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import (
    LAYER_KINDS,
    LayerSpec,
    NetworkSpec,
    dropout_name,
    layer_name,
)
from dropout_studio.engine.layers import RECORDING_LAYERS, RecordingDropout, is_inert
from dropout_studio.engine.runtime import set_random_seed

RNN_CLASSES = {"LSTM": "RecordingLSTM", "GRU": "RecordingGRU", "SimpleRNN": "RecordingSimpleRNN"}
SEED_SPACE = 2**32  # seeds every Keras backend accepts (JAX takes uint32)


class BuildError(ValueError):
    """The spec cannot become a model; the message is the first validation problem."""


def derived_seed(seed: int, salt: int) -> int:
    """A per-layer seed from the run's seed, always in [0, 2**32), distinct per ``salt``."""
    return (seed * 1_000_003 + salt * 7_919) % SEED_SPACE


def _keras_layer(index: int, layer: LayerSpec, seed: int) -> keras.layers.Layer:
    """The Keras layer of one registry entry: option names are Keras argument names."""
    from dropout_studio.engine import layers as rec

    entry = LAYER_KINDS[layer.kind]
    arguments = entry.keras_arguments(layer)
    if layer.l2:
        arguments.update({name: keras.regularizers.L2(layer.l2) for name in entry.l2_arguments})
    if entry.recurrent:
        cls = getattr(rec, RNN_CLASSES[layer.kind])
        arguments["seed"] = derived_seed(seed, index + 1)
    else:
        cls = getattr(keras.layers, entry.keras_class)
    return cls(**arguments, name=layer_name(index, layer))


def _seed_keras_only(seed: int) -> None:
    """What ``set_random_seed`` does for Keras' initializers, without ``tf.random.set_seed``:
    that clears TensorFlow's kernel caches, which cost a reused compiled step ~0.15 s per run
    to instantiate again. Initializers draw from Keras' global seed and Python's ``random``."""
    import random

    import numpy as np
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator

    global_state.set_global_attribute("global_random_seed", seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def build_model(network: NetworkSpec, seed: int = 0, *, keep_caches: bool = False) -> keras.Model:
    """A Sequential model with a recording dropout layer after each layer that asks for one.

    Weights are initialised from ``seed``; each dropout layer gets its own derived seed so that
    the same seed gives the same masks. A layer whose dropout has a type but rate 0 keeps its
    (inert) dropout layer, so that stacks differing only in output rates share one compiled
    step; it is invisible to users (no masks, not exported, no parameters counted).

    ``keep_caches`` seeds Keras without ``tf.random.set_seed`` (same weights; for a model whose
    values are copied into a reused compiled step).
    """
    report = infer(network)
    if report.errors:
        raise BuildError(report.errors[0].message)
    if keep_caches:
        _seed_keras_only(seed)
    else:
        set_random_seed(seed)  # Keras' own imports TensorFlow even on the JAX backend
    first = network.layers[0]
    shape = tuple(first.option("shape"))
    dtype = "int32" if len(network.layers) > 1 and network.layers[1].kind == "Embedding" else None
    model_layers: list[Any] = [keras.Input(shape=shape, dtype=dtype, name="input")]
    for index, layer in enumerate(network.layers):
        if index > 0:
            model_layers.append(_keras_layer(index, layer, seed))
        if layer.dropout.type != "none":
            mode = layer.dropout.type
            model_layers.append(
                RecordingDropout(
                    layer.dropout.rate,
                    mode=mode,
                    seed=derived_seed(seed, 1000 + index),
                    name=dropout_name(index, layer),
                )
            )
    return keras.Sequential(model_layers, name="dropout_studio_model")


_PROBE_LOCK = threading.Lock()
_probe_depth = 0


@contextlib.contextmanager
def tensorflow_unprobed() -> Iterator[None]:
    """Keras serialization (``get_config``, ``save``) without importing TensorFlow.

    ``serialize_keras_object`` asks ``tf.available`` (Keras' lazy TensorFlow module) to check
    for ``tf.TensorShape``/``tf.DType``, and that imports TensorFlow: 3.3 s of saving a run on
    the JAX backend here. While TensorFlow is not imported no object can be one of its types,
    so inside this block the lazy module answers "not available" (Keras' private
    ``module_utils.tensorflow._available``; ``tests/engine/test_jax_loop.py`` pins it).
    """
    global _probe_depth
    from keras.src.utils import module_utils

    lazy = getattr(module_utils, "tensorflow", None)
    if (
        keras.backend.backend() == "tensorflow"
        or "tensorflow" in sys.modules
        or not hasattr(lazy, "_available")
    ):
        yield
        return
    with _PROBE_LOCK:
        if _probe_depth == 0 and lazy._available is not None:  # type: ignore[union-attr]
            owned = False  # already probed (TensorFlow imported or missing): nothing to hide
        else:
            owned = True
            _probe_depth += 1
            lazy._available = False  # type: ignore[union-attr]
    try:
        yield
    finally:
        if owned:
            with _PROBE_LOCK:
                _probe_depth -= 1
                if _probe_depth == 0:
                    lazy._available = None  # type: ignore[union-attr]


def plain_clone(model: keras.Model) -> keras.Model:
    """The same model with stock Keras layers only, weights copied: what every export saves."""
    with tensorflow_unprobed():
        return _plain_clone(model)


def _plain_clone(model: keras.Model) -> keras.Model:

    def to_stock(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, RECORDING_LAYERS):
            return layer.stock_layer()
        return layer.__class__.from_config(layer.get_config())

    if any(is_inert(layer) for layer in model.layers):
        if not isinstance(model, keras.Sequential):
            raise ValueError("rate-0 dropout layers are only left out of Sequential models")
        kept = [layer for layer in model.layers if not is_inert(layer)]
        first = model.inputs[0]
        clone = keras.Sequential(
            [
                keras.Input(shape=tuple(first.shape[1:]), dtype=first.dtype, name="input"),
                *(to_stock(layer) for layer in kept),
            ],
            name=model.name,
        )
        pairs = list(zip(kept, clone.layers))
    else:
        clone = keras.models.clone_model(model, clone_function=to_stock)
        pairs = list(zip(model.layers, clone.layers))
    for source, target in pairs:
        if hasattr(source, "cell"):
            target.cell.set_weights(source.cell.get_weights())
        elif source.weights and not isinstance(source, RecordingDropout):
            target.set_weights(source.get_weights())
    return clone


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Keras' own parameter count per layer, excluding the recording variables."""
    counts: dict[str, int] = {}
    for layer in model.layers:
        if isinstance(layer, RecordingDropout):
            continue
        if hasattr(layer, "cell"):
            counts[layer.name] = layer.cell.count_params()
        else:
            counts[layer.name] = layer.count_params()
    return counts
