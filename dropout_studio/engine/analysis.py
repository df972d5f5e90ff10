"""Looking inside a trained network: Monte Carlo dropout, sparsity, co-adaptation, features.

Every probe runs in inference mode except Monte Carlo sampling, which switches on the dropout
layers alone (BatchNorm stays in inference mode, so its moving statistics are untouched) and
turns off mask recording, so the training masks shown in the app stay those of training.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from dropout_studio.engine.layers import RECORDING_LAYERS, RecordingDropout


@contextlib.contextmanager
def _not_recording(model: keras.Model) -> Iterator[None]:
    layers = [layer for layer in model.layers if isinstance(layer, RECORDING_LAYERS)]
    for layer in layers:
        layer.recording = False
    try:
        yield
    finally:
        for layer in layers:
            layer.recording = True


def _is_dropout(layer: keras.layers.Layer) -> bool:
    return isinstance(
        layer,
        RecordingDropout
        | keras.layers.Dropout
        | keras.layers.GaussianDropout
        | keras.layers.AlphaDropout,
    ) or (
        isinstance(layer, keras.layers.RNN)
        and (layer.cell.dropout > 0 or layer.cell.recurrent_dropout > 0)
    )


def forward(
    model: keras.Model, x: np.ndarray, dropout_on: bool = False, until: str | None = None
) -> np.ndarray:
    """Run the layers one by one; only dropout layers see ``training=dropout_on``."""
    out = ops.convert_to_tensor(x)
    for layer in model.layers:
        out = layer(out, training=dropout_on and _is_dropout(layer))
        if layer.name == until:
            break
    return ops.convert_to_numpy(out)


def mc_dropout(model: keras.Model, x: np.ndarray, samples: int = 30) -> np.ndarray:
    """``samples`` stochastic forward passes with dropout on: shape (samples, N, outputs)."""
    with _not_recording(model):
        return np.stack([forward(model, x, dropout_on=True) for _ in range(samples)])


@dataclass
class Uncertainty:
    mean: np.ndarray  # (N, outputs): mean prediction
    std: np.ndarray  # (N, outputs): spread over samples
    entropy: np.ndarray  # (N,): predictive entropy of the mean (classification)


def predictive_uncertainty(samples: np.ndarray) -> Uncertainty:
    mean = samples.mean(axis=0)
    std = samples.std(axis=0)
    p = np.clip(mean, 1e-12, 1.0)
    entropy = -(p * np.log(p)).sum(axis=-1) if mean.shape[-1] > 1 else std[:, 0]
    return Uncertainty(mean, std, entropy)


def decision_grid(
    model: keras.Model, x: np.ndarray, resolution: int = 60, samples: int = 20
) -> tuple[np.ndarray, np.ndarray, Uncertainty]:
    """For 2-D inputs: a grid over the data's range and MC-dropout uncertainty on it."""
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError("a decision map needs 2-D samples (two features)")
    low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype("float32")
    return xs, ys, predictive_uncertainty(mc_dropout(model, grid, samples))


@dataclass
class LayerActivity:
    name: str
    zero_fraction: float  # fraction of exactly-zero activations on the probe batch
    mean_activation: float


def activation_sparsity(model: keras.Model, probe: np.ndarray) -> list[LayerActivity]:
    """Per weighted layer, in inference mode: how many activations are zero, and their mean."""
    out = ops.convert_to_tensor(probe)
    rows = []
    for layer in model.layers:
        out = layer(out, training=False)
        if (
            layer.weights
            and not isinstance(layer, RECORDING_LAYERS[:1])
            and layer.trainable_weights
        ):
            values = ops.convert_to_numpy(out)
            rows.append(
                LayerActivity(
                    layer.name, float(np.mean(np.abs(values) < 1e-7)), float(values.mean())
                )
            )
    return rows


def unit_correlations(model: keras.Model, probe: np.ndarray, layer_name: str) -> np.ndarray:
    """Pairwise correlations between the units of ``layer_name`` over the probe batch.

    Units that never vary get correlation 0 (a dead unit co-adapts with nothing)."""
    acts = forward(model, probe, until=layer_name)
    acts = acts.reshape(len(acts), -1)
    centred = acts - acts.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    safe = np.where(norms > 1e-12, norms, 1.0)
    corr = (centred.T @ centred) / np.outer(safe, safe)
    dead = norms <= 1e-12
    corr[dead, :] = 0.0
    corr[:, dead] = 0.0
    return corr


def coadaptation(corr: np.ndarray) -> float:
    """Mean absolute off-diagonal correlation: lower means more independent units."""
    n = len(corr)
    if n < 2:
        return 0.0
    off = np.abs(corr[~np.eye(n, dtype=bool)])
    return float(off.mean())


def first_layer_features(model: keras.Model, input_shape: tuple[int, ...]) -> np.ndarray:
    """The first weighted layer's weights as images: Dense columns reshaped to the input
    image, or conv kernels (first input channel). Shape (units, height, width)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel = ops.convert_to_numpy(layer.kernel)
            if int(np.prod(input_shape)) != kernel.shape[0]:
                raise ValueError("the first Dense layer does not see the raw input")
            image = input_shape[:2] if len(input_shape) >= 2 else _square(kernel.shape[0])
            channels = kernel.shape[0] // int(np.prod(image))
            return kernel.T.reshape(-1, *image, channels).mean(axis=-1)
        if isinstance(layer, keras.layers.Conv2D):
            kernel = ops.convert_to_numpy(layer.kernel)  # (kh, kw, cin, filters)
            return np.moveaxis(kernel.mean(axis=2), -1, 0)
    raise ValueError("the model has no Dense or Conv2D layer")


def _square(n: int) -> tuple[int, int]:
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f"{n} inputs do not form a square image")
    return side, side
