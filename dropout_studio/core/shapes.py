"""Validation and shape inference in pure Python, before any model is built.

Each problem names the layer by position and kind, the value, and what to change, so the GUI can
highlight the row and the CLI can print one sentence. Parameter counts follow Keras' formulas
(Keras 3 defaults: GRU with ``reset_after=True``, BatchNormalization counting its moving stats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dropout_studio.core.spec import (
    ACTIVATIONS,
    DROPOUT_TYPES,
    LAYER_KINDS,
    PADDINGS,
    LayerSpec,
    NetworkSpec,
    layer_label,
)

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class Problem:
    """A message about one layer (``layer_index`` 0-based) or the whole stack (``None``)."""

    message: str
    layer_index: int | None = None
    severity: str = "error"  # "error" blocks training; "warning" is advice


@dataclass(frozen=True)
class LayerReport:
    index: int
    kind: str
    output_shape: Shape | None
    params: int
    trainable_params: int


@dataclass(frozen=True)
class StackReport:
    layers: tuple[LayerReport, ...]
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.layers)

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output_shape if self.layers else None


class LayerError(ValueError):
    """Raised inside inference for one layer; carries the finished message."""


def format_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _pair(value: object, name: str, label: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        pair: tuple[object, ...] = (value, value)
    elif isinstance(value, tuple) and len(value) == 2:
        pair = value
    else:
        raise LayerError(f"{label}: {name} must be a whole number or two of them, not {value!r}")
    for v in pair:
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise LayerError(f"{label}: {name} must be at least 1, not {value!r}")
    return (int(pair[0]), int(pair[1]))  # type: ignore[call-overload]


def _single(value: object, name: str, label: str) -> int:
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LayerError(f"{label}: {name} must be a whole number of at least 1, not {value!r}")
    return value


def _window(length: int | None, size: int, stride: int, padding: str) -> int | None:
    if length is None:
        return None
    if padding == "same":
        return math.ceil(length / stride)
    return (length - size) // stride + 1


_RANK_NAMES = {
    1: "a 1-D input (features,)",
    2: "a 2-D input (steps, channels)",
    3: "a 3-D input (height, width, channels)",
}
_RANK_HINTS = {
    1: "add a Flatten or a global pooling layer before it",
    2: "use an Input of shape (steps, channels), or Conv2D/pooling 2D for images",
    3: "remove the Flatten or move it after the convolutions",
}


def _need_rank(rank: int, shape: Shape, label: str, previous: str) -> None:
    if len(shape) != rank:
        raise LayerError(
            f"{label} needs {_RANK_NAMES[rank]}, but {previous} outputs {format_shape(shape)}: "
            f"{_RANK_HINTS[rank]}"
        )


def _int_option(layer: LayerSpec, name: str, label: str) -> int:
    value = layer.option(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LayerError(f"{label}: {name} must be a whole number of at least 1, not {value!r}")
    return value


def _infer_layer(
    layer: LayerSpec, shape: Shape, label: str, previous: str
) -> tuple[Shape, int, int]:
    """Output shape, total parameters and trainable parameters of one layer."""
    kind = layer.kind
    if kind == "Dense":
        if not shape or shape[-1] is None:
            raise LayerError(
                f"{label} needs a known last dimension, but {previous} outputs "
                f"{format_shape(shape)}"
            )
        units = _int_option(layer, "units", label)
        bias = units if layer.option("use_bias") else 0
        params = shape[-1] * units + bias
        return (*shape[:-1], units), params, params
    if kind in ("Conv1D", "Conv2D"):
        rank = 2 if kind == "Conv1D" else 3
        _need_rank(rank, shape, label, previous)
        filters = _int_option(layer, "filters", label)
        padding = layer.option("padding")
        if kind == "Conv1D":
            sizes: tuple[int, ...] = (_single(layer.option("kernel_size"), "kernel_size", label),)
            strides: tuple[int, ...] = (_single(layer.option("strides"), "strides", label),)
        else:
            sizes = _pair(layer.option("kernel_size"), "kernel_size", label)
            strides = _pair(layer.option("strides"), "strides", label)
        spatial = [_window(n, k, s, padding) for n, k, s in zip(shape[:-1], sizes, strides)]
        if any(d is not None and d < 1 for d in spatial):
            raise LayerError(
                f"{label}: kernel {'×'.join(map(str, sizes))} is larger than its input "
                f"{format_shape(shape)} from {previous}: use a smaller kernel_size or padding 'same'"
            )
        channels = shape[-1]
        if channels is None:
            raise LayerError(f"{label} needs a known channel count, got {format_shape(shape)}")
        params = math.prod(sizes) * channels * filters + filters
        return (*spatial, filters), params, params
    if kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling2D"):
        rank = 2 if kind.endswith("1D") else 3
        _need_rank(rank, shape, label, previous)
        padding = layer.option("padding")
        if rank == 2:
            sizes = (_single(layer.option("pool_size"), "pool_size", label),)
            raw = layer.option("strides")
            strides = sizes if raw is None else (_single(raw, "strides", label),)
        else:
            sizes = _pair(layer.option("pool_size"), "pool_size", label)
            raw = layer.option("strides")
            strides = sizes if raw is None else _pair(raw, "strides", label)
        spatial = [_window(n, k, s, padding) for n, k, s in zip(shape[:-1], sizes, strides)]
        if any(d is not None and d < 1 for d in spatial):
            raise LayerError(
                f"{label}: pool_size {'×'.join(map(str, sizes))} is larger than its input "
                f"{format_shape(shape)} from {previous}: use a smaller pool_size or remove the layer"
            )
        return (*spatial, shape[-1]), 0, 0
    if kind in ("GlobalAveragePooling1D", "GlobalAveragePooling2D"):
        _need_rank(2 if kind.endswith("1D") else 3, shape, label, previous)
        return (shape[-1],), 0, 0
    if kind == "Flatten":
        if any(d is None for d in shape):
            raise LayerError(
                f"{label} needs a fixed input size, but {previous} outputs "
                f"{format_shape(shape)}: give the Input a fixed sequence length"
            )
        return (math.prod(shape),), 0, 0  # type: ignore[arg-type]
    if kind == "BatchNormalization":
        channels = shape[-1] if shape else None
        if channels is None:
            raise LayerError(f"{label} needs a known channel count, got {format_shape(shape)}")
        return shape, 4 * channels, 2 * channels
    if kind == "Embedding":
        _need_rank(1, shape, label, previous)
        input_dim = _int_option(layer, "input_dim", label)
        output_dim = _int_option(layer, "output_dim", label)
        params = input_dim * output_dim
        return (shape[0], output_dim), params, params
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        if len(shape) != 2:
            raise LayerError(
                f"{label} needs a sequence (steps, features), but {previous} outputs "
                f"{format_shape(shape)}: use an Input of shape (steps, features) or an Embedding"
            )
        units = _int_option(layer, "units", label)
        features = shape[1]
        if features is None:
            raise LayerError(f"{label} needs a known feature count, got {format_shape(shape)}")
        core = units * (features + units)
        params = {
            "LSTM": 4 * (core + units),
            "GRU": 3 * (core + 2 * units),
            "SimpleRNN": core + units,
        }[kind]
        out: Shape = (shape[0], units) if layer.option("return_sequences") else (units,)
        return out, params, params
    raise LayerError(f"{label}: unknown layer kind {kind!r}; use one of {', '.join(LAYER_KINDS)}")


def _check_rate(value: object, what: str, label: str) -> Problem | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return Problem(f"{label}: {what} rate must be a number between 0 and 1, not {value!r}")
    if value >= 1.0:
        return Problem(
            f"{label}: {what} rate {value:g} drops every unit, so nothing would reach the next "
            "layer: use a rate below 1 (0.5 is the classic hidden-layer value)"
        )
    if value < 0:
        return Problem(f"{label}: {what} rate {value:g} is negative: use a rate between 0 and 1")
    return None


def _check_dropout(layer: LayerSpec, out: Shape, label: str, index: int) -> list[Problem]:
    problems: list[Problem] = []
    d = layer.dropout
    if d.type not in DROPOUT_TYPES:
        return [
            Problem(
                f"{label}: dropout type {d.type!r} is unknown; use one of "
                f"{', '.join(DROPOUT_TYPES)}",
                index,
            )
        ]
    if d.type != "none":
        bad = _check_rate(d.rate, "dropout", label)
        if bad:
            problems.append(Problem(bad.message, index))
        if d.type == "spatial" and len(out) not in (2, 3):
            problems.append(
                Problem(
                    f"{label}: spatial dropout drops whole channels of a convolution output, but this "
                    f"layer outputs {format_shape(out)}: use plain 'dropout' here",
                    index,
                )
            )
    recurrent = layer.kind_info is not None and layer.kind_info.recurrent
    for what, value in (("input", layer.input_dropout), ("recurrent", layer.recurrent_dropout)):
        if value and not recurrent:
            problems.append(
                Problem(
                    f"{label}: {what}_dropout applies only to LSTM, GRU and SimpleRNN layers: set it "
                    "to 0 or use the layer's output dropout",
                    index,
                )
            )
        elif recurrent:
            bad = _check_rate(value, f"{what} dropout", label)
            if bad:
                problems.append(Problem(bad.message, index))
    if not isinstance(layer.l2, int | float) or layer.l2 < 0 or math.isnan(layer.l2):
        problems.append(Problem(f"{label}: l2 must be a number ≥ 0, not {layer.l2!r}", index))
    elif layer.l2 and not (layer.kind_info and layer.kind_info.weighted):
        problems.append(
            Problem(
                f"{label}: l2 needs weights, and a {layer.kind} layer has none: set l2 to 0", index
            )
        )
    return problems


def _advice(network: NetworkSpec, reports: list[LayerReport]) -> list[Problem]:
    """Gentle warnings: things that train but rarely do what the user wants."""
    warnings: list[Problem] = []
    last = len(network.layers) - 1
    for i, layer in enumerate(network.layers):
        label = layer_label(i, layer)
        d = layer.dropout
        if layer.recurrent_dropout:
            warnings.append(
                Problem(
                    f"{label}: recurrent dropout makes Keras fall back from the fast cuDNN kernel "
                    "on a GPU (several times slower); input dropout alone keeps it",
                    i,
                    "warning",
                )
            )
        if not d.active:
            continue
        if i == last and last > 0:
            warnings.append(
                Problem(
                    f"{label}: dropout on the output layer drops predictions; remove it",
                    i,
                    "warning",
                )
            )
        elif layer.kind in ("Conv1D", "Conv2D") and d.type == "dropout":
            warnings.append(
                Problem(
                    f"{label}: neighbouring pixels of a feature map are strongly "
                    "correlated, so plain dropout barely regularizes; try 'spatial'",
                    i,
                    "warning",
                )
            )
        elif layer.kind != "Input" and d.rate > 0.7:
            warnings.append(
                Problem(
                    f"{label}: a rate of {d.rate:g} keeps only {1 - d.rate:.0%} of "
                    "units and slows convergence; 0.5 is usual",
                    i,
                    "warning",
                )
            )
        elif layer.kind == "Input" and d.rate > 0.3:
            warnings.append(
                Problem(
                    f"{label}: input dropout above 0.2–0.3 hides much of each "
                    "sample; 0.1–0.2 is usual",
                    i,
                    "warning",
                )
            )
        out = reports[i].output_shape if i < len(reports) else None
        if out and out[-1] is not None and out[-1] < 8 and layer.kind == "Dense" and i != last:
            warnings.append(
                Problem(
                    f"{label}: dropout in a layer of {out[-1]} units can silence "
                    "it entirely in some steps; use more units or a lower rate",
                    i,
                    "warning",
                )
            )
    return warnings


def infer(network: NetworkSpec) -> StackReport:
    """Shapes and parameter counts of every layer, and every problem found.

    Inference stops at the first layer whose shape cannot be computed; later rows get no shape.
    """
    reports: list[LayerReport] = []
    problems: list[Problem] = []
    layers = network.layers
    if not layers:
        return StackReport((), (Problem("the stack is empty: add an Input layer first"),))
    if layers[0].kind != "Input":
        problems.append(
            Problem(
                f"{layer_label(0, layers[0])}: the first layer must be an Input "
                "that gives the sample shape: add one at the top",
                0,
            )
        )
    shape: Shape | None = None
    previous = "the input"
    for i, layer in enumerate(layers):
        label = layer_label(i, layer)
        if layer.kind not in LAYER_KINDS:
            problems.append(
                Problem(
                    f"{label}: unknown layer kind {layer.kind!r}; use one of "
                    f"{', '.join(LAYER_KINDS)}",
                    i,
                )
            )
            shape = None
        elif layer.kind == "Input":
            if i != 0:
                problems.append(
                    Problem(f"{label}: only the first layer may be an Input: remove this one", i)
                )
                shape = None
            else:
                raw = layer.option("shape")
                if (
                    not isinstance(raw, tuple)
                    or not raw
                    or not all(d is None or (isinstance(d, int) and d > 0) for d in raw)
                ):
                    problems.append(
                        Problem(
                            f"{label}: shape must be a list of positive whole "
                            f"numbers such as [32, 32, 1], not {raw!r}",
                            i,
                        )
                    )
                    shape = None
                else:
                    shape = raw
        elif shape is not None:
            try:
                out, params, trainable = _infer_layer(layer, shape, label, previous)
            except LayerError as exc:
                problems.append(Problem(str(exc), i))
                shape = None
            else:
                reports.append(LayerReport(i, layer.kind, out, params, trainable))
                shape = out
                activation = layer.option("activation")
                if activation is not None and activation not in ACTIVATIONS:
                    problems.append(
                        Problem(
                            f"{label}: activation {activation!r} is unknown; use "
                            f"one of {', '.join(ACTIVATIONS)}",
                            i,
                        )
                    )
                padding = layer.option("padding")
                if padding is not None and padding not in PADDINGS:
                    problems.append(
                        Problem(f"{label}: padding must be 'valid' or 'same', not {padding!r}", i)
                    )
                problems.extend(_check_dropout(layer, out, label, i))
                previous = label
                continue
        if layer.kind == "Input" and i == 0 and shape is not None:
            reports.append(LayerReport(i, "Input", shape, 0, 0))
            problems.extend(_check_dropout(layer, shape, label, i))
            previous = label
            continue
        reports.append(LayerReport(i, layer.kind, None, 0, 0))
    if not problems:
        problems.extend(_advice(network, reports))
    return StackReport(tuple(reports), tuple(problems))
