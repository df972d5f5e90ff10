"""Dropout layers that compute exactly what Keras' stock layers compute and remember their masks.

Each recording layer writes, inside the compiled training step, into non-trainable variables:
``last_mask`` (sample 0's keep-mask of the latest training step; for Gaussian dropout the
multiplicative noise), ``drop_count`` (how often each unit was dropped, summed over every sample
of every step), ``draws`` (how many samples were counted) and ``steps`` (training calls so far,
the step ``last_mask`` came from). Reading these is what costs, so callers read them throttled.

Output-dropout rates live in a non-trainable variable (``coefficients``: the rate and the
factors derived from it, each computed in float64 as the stock layers do and stored as float32), so
a compiled step traced once serves every rate (:meth:`RecordingDropout.set_rate`). A rate of 0
keeps the layer: it passes its inputs through unchanged, records nothing the user sees
(:func:`read_masks` leaves it out) and is left out of exports (``build.plain_clone``). RNN rates
stay Python constants (one trace per value).

Exported models must be plain Keras: :func:`stock_layer_for` maps every recording layer to the
stock layer with the same configuration.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

PACKAGE = "dropout_studio"
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
MODES = ("dropout", "spatial", "gaussian", "alpha")
# Positions in RecordingDropout.coefficients
RATE, SCALE, KEEP, STDDEV, ALPHA_A, ALPHA_B = range(6)


def coefficients(rate: float) -> list[float]:
    """[rate, 1/(1-rate), 1-rate, Gaussian stddev, alpha a, alpha b], in float64 like the stock
    layers' Python arithmetic (then cast to float32 in the variable, as they cast constants)."""
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    stddev = math.sqrt(rate / (1.0 - rate))
    return [rate, 1.0 / (1.0 - rate), 1.0 - rate, stddev, a, -a * alpha_p * rate]


def _check_rate(rate: float) -> None:
    if not 0 <= rate < 1:
        raise ValueError(
            f"Invalid value received for argument `rate`. Expected a float "
            f"value from 0 up to (not including) 1. Received: rate={rate}"
        )


class _MaskRecords:
    """Mixin: the recording variables and the update applied in a training call."""

    def _add_records(self: Any, mask_shape: tuple[int, ...], prefix: str = "") -> None:
        def weight(name: str, shape: tuple[int, ...], init: str) -> Any:
            return self.add_weight(
                name=prefix + name, shape=shape, initializer=init, trainable=False, dtype="float32"
            )

        self.record_names = [*getattr(self, "record_names", []), prefix]
        setattr(self, prefix + "last_mask", weight("last_mask", mask_shape, "ones"))
        setattr(self, prefix + "drop_count", weight("drop_count", mask_shape, "zeros"))
        setattr(self, prefix + "draws", weight("draws", (), "zeros"))
        if not hasattr(self, "steps"):
            self.steps = weight("steps", (), "zeros")

    recording = True  # Monte Carlo sampling switches this off so the records stay training's

    def _record(self: Any, keep: Any, prefix: str = "", values: Any = None) -> None:
        """``keep``: boolean/0-1 keep mask with a leading batch axis, squeezed to mask shape."""
        if not self.recording:
            return
        keep = ops.cast(keep, "float32")
        getattr(self, prefix + "last_mask").assign(values if values is not None else keep[0])
        getattr(self, prefix + "drop_count").assign_add(ops.sum(1.0 - keep, axis=0))
        getattr(self, prefix + "draws").assign_add(ops.cast(ops.shape(keep)[0], "float32"))

    def _count_step(self: Any) -> None:
        if self.recording:
            self.steps.assign_add(1.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class RecordingDropout(_MaskRecords, keras.layers.Layer):
    """Dropout, SpatialDropout1D/2D, GaussianDropout or AlphaDropout, with recorded masks.

    Masks are per unit for ``dropout``, ``alpha`` and ``gaussian``; per channel for ``spatial``.
    """

    def __init__(
        self, rate: float, mode: str = "dropout", seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        _check_rate(rate)
        if mode not in MODES:
            raise ValueError(f"Invalid `mode` {mode!r}; expected one of {MODES}")
        self.rate, self.mode, self.seed = float(rate), mode, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        features = tuple(input_shape[1:])
        if self.mode == "spatial":
            if len(features) not in (2, 3):
                raise ValueError(
                    f"spatial dropout needs a 1-D or 2-D feature map, got {input_shape}"
                )
            mask_shape: tuple[int, ...] = (int(features[-1] or 0),)
        else:
            if any(d is None for d in features):
                raise ValueError(
                    f"{self.mode} dropout needs a static feature shape to record "
                    f"masks, got {input_shape}"
                )
            mask_shape = tuple(int(d) for d in features)  # type: ignore[arg-type]
        self._mask_shape = mask_shape
        self._feature_rank = len(features)
        self._add_records(mask_shape)
        self.coefficients = self.add_weight(
            name="coefficients", shape=(6,), initializer="zeros", trainable=False, dtype="float32"
        )
        self.coefficients.assign(coefficients(self.rate))

    def set_rate(self, rate: float) -> None:
        """A new rate for the next training calls, without retracing a compiled step."""
        _check_rate(rate)
        self.rate = float(rate)
        if self.built:
            self.coefficients.assign(coefficients(self.rate))

    def _noise_shape(self, inputs: Any) -> Any:
        shape = ops.shape(inputs)
        if self.mode == "spatial":
            return (shape[0], *([1] * (len(inputs.shape) - 2)), shape[-1])
        return shape

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training:
            return inputs
        # The rate is read from ``coefficients`` (never the Python attribute), so one trace
        # serves every rate, 0 included (then the output equals the input).
        self._count_step()
        coef = ops.cast(self.coefficients, inputs.dtype)
        if self.mode == "gaussian":
            noise = keras.random.normal(
                ops.shape(inputs),
                mean=1.0,
                stddev=coef[STDDEV],
                dtype=inputs.dtype,
                seed=self.seed_generator,
            )
            if self.recording:
                self.last_mask.assign(ops.cast(noise[0], "float32"))
                self.draws.assign_add(ops.cast(ops.shape(inputs)[0], "float32"))
            return inputs * noise
        noise = keras.random.uniform(
            self._noise_shape(inputs), dtype=inputs.dtype, seed=self.seed_generator
        )
        # Draw the keep-mask as the backend's stock dropout does, so outputs stay bitwise equal:
        # JAX keeps where bernoulli(1 - rate), i.e. uniform < 1 - rate, and divides by the keep
        # probability; on TensorFlow the stock layer drops where uniform < rate.
        stock_jax = self.mode != "alpha" and keras.backend.backend() == "jax"
        keep = ops.less(noise, coef[KEEP]) if stock_jax else ops.greater_equal(noise, coef[RATE])
        flat_keep = ops.reshape(keep, (-1, *self._mask_shape)) if self.mode == "spatial" else keep
        self._record(flat_keep)
        if self.mode == "alpha":
            alpha_p = -SELU_ALPHA * SELU_SCALE
            kept = ops.cast(keep, inputs.dtype)
            return coef[ALPHA_A] * (inputs * kept + alpha_p * (1 - kept)) + coef[ALPHA_B]
        if stock_jax:
            return ops.where(keep, inputs / coef[KEEP], ops.zeros((), dtype=inputs.dtype))
        return ops.where(keep, inputs * coef[SCALE], ops.zeros((), dtype=inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "mode": self.mode, "seed": self.seed}

    def stock_layer(self) -> keras.layers.Layer:
        """The plain Keras layer that computes the same thing (for export)."""
        kw = {"rate": self.rate, "seed": self.seed, "name": self.name}
        if self.mode == "gaussian":
            return keras.layers.GaussianDropout(**kw)
        if self.mode == "alpha":
            return keras.layers.AlphaDropout(**kw)
        if self.mode == "spatial":
            rank = getattr(self, "_feature_rank", 3)
            cls = keras.layers.SpatialDropout1D if rank == 2 else keras.layers.SpatialDropout2D
            return cls(**kw)
        return keras.layers.Dropout(**kw)


class _RecordingRNN(_MaskRecords):
    """Records the input and recurrent masks an RNN draws once per sequence.

    Keras draws them in ``RNN.call`` (``_maybe_config_dropout_masks``) before ``inner_loop`` and
    caches them on the cell as ``_dropout_mask`` / ``_recurrent_dropout_mask`` (private
    attributes: ``tests/engine/test_layers.py`` pins them). LSTM with recurrent dropout draws one
    mask per gate; the first gate's mask is recorded as the unit's mask.
    """

    def build(self: Any, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        super().build(sequences_shape, initial_state_shape)  # type: ignore[misc]
        if self.cell.dropout > 0:
            self._add_records((int(sequences_shape[-1]),), "input_")
        if self.cell.recurrent_dropout > 0:
            self._add_records((int(self.cell.units),), "recurrent_")

    def inner_loop(
        self: Any, sequences: Any, initial_state: Any, mask: Any, training: bool = False
    ) -> Any:
        if training and (self.cell.dropout > 0 or self.cell.recurrent_dropout > 0):
            self._count_step()
            for prefix, attr in (
                ("input_", "_dropout_mask"),
                ("recurrent_", "_recurrent_dropout_mask"),
            ):
                cached = getattr(self.cell, attr, None)
                if cached is None:
                    continue
                first = cached[0] if isinstance(cached, list | tuple) else cached
                self._record(ops.greater(first, 0), prefix)
        return super().inner_loop(sequences, initial_state, mask, training)  # type: ignore[misc]

    def stock_layer(self: Any) -> keras.layers.Layer:
        return self.stock_class.from_config(self.get_config())


@keras.saving.register_keras_serializable(package=PACKAGE)
class RecordingLSTM(_RecordingRNN, keras.layers.LSTM):
    stock_class = keras.layers.LSTM


@keras.saving.register_keras_serializable(package=PACKAGE)
class RecordingGRU(_RecordingRNN, keras.layers.GRU):
    stock_class = keras.layers.GRU


@keras.saving.register_keras_serializable(package=PACKAGE)
class RecordingSimpleRNN(_RecordingRNN, keras.layers.SimpleRNN):
    stock_class = keras.layers.SimpleRNN


RECORDING_LAYERS = (RecordingDropout, RecordingLSTM, RecordingGRU, RecordingSimpleRNN)


def is_inert(layer: keras.layers.Layer) -> bool:
    """A rate-0 output dropout layer: kept so that models differing only in rates share one
    compiled step, but it changes nothing, so users never see it (masks, exports)."""
    return isinstance(layer, RecordingDropout) and layer.rate == 0


def recording_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Layers whose records users see: rate-0 dropout layers are left out."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, RECORDING_LAYERS)
        and getattr(layer, "record_names", None)
        and not is_inert(layer)
    ]


def read_masks(model: keras.Model) -> dict[str, dict[str, Any]]:
    """Current records of every recording layer, as numpy arrays, keyed like ``masks.npz``.

    Keys: ``<layer>`` for output dropout, ``<layer>.input`` / ``<layer>.recurrent`` for RNN masks.
    Each value holds ``last_mask``, ``drop_frequency``, ``step`` and ``mode``.
    """
    out: dict[str, dict[str, Any]] = {}
    for layer in recording_layers(model):
        step = int(ops.convert_to_numpy(layer.steps))
        for prefix in layer.record_names:
            draws = float(ops.convert_to_numpy(getattr(layer, prefix + "draws")))
            counts = ops.convert_to_numpy(getattr(layer, prefix + "drop_count"))
            key = layer.name + ("." + prefix.rstrip("_") if prefix else "")
            out[key] = {
                "last_mask": ops.convert_to_numpy(getattr(layer, prefix + "last_mask")),
                "drop_frequency": counts / draws if draws else counts * 0.0,
                "step": step,
                "mode": getattr(layer, "mode", prefix.rstrip("_")),
            }
    return out


def reset_masks(model: keras.Model) -> None:
    for layer in model.layers:
        if not (isinstance(layer, RECORDING_LAYERS) and getattr(layer, "record_names", None)):
            continue
        layer.steps.assign(0.0)
        for prefix in layer.record_names:
            getattr(layer, prefix + "last_mask").assign(
                ops.ones_like(getattr(layer, prefix + "last_mask"))
            )
            getattr(layer, prefix + "drop_count").assign(
                ops.zeros_like(getattr(layer, prefix + "drop_count"))
            )
            getattr(layer, prefix + "draws").assign(0.0)
