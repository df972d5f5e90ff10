"""Validation and shape inference in pure Python, before any model is built.

Each problem names the layer by position and kind, the value, and what to change, so the GUI can
highlight the row and the CLI can print one sentence. Parameter counts follow Keras' formulas
(Keras 3 defaults: GRU with ``reset_after=True``, BatchNormalization counting its moving stats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dropout_studio.core.layer_kinds import LayerError, Shape, Where, format_shape, shown
from dropout_studio.core.spec import (
    DROPOUT_RATE,
    DROPOUT_TYPES,
    L2,
    LAYER_KINDS,
    LayerSpec,
    NetworkSpec,
    layer_label,
)

__all__ = ["LayerError", "LayerReport", "Problem", "Shape", "StackReport", "format_shape", "infer"]


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


MAX_PARAMETERS = 100_000_000  # what a desktop trains in reasonable time and memory
MAX_SAMPLE_VALUES = 50_000_000  # values one sample occupies in any layer's output


def _option_problems(layer: LayerSpec, label: str, index: int) -> list[Problem]:
    """Type and range of every option and layer field, from the registry entry."""
    info = LAYER_KINDS[layer.kind]
    problems = []
    for name, value in layer.options:
        spec = info.option(name)
        if spec is None:
            problems.append(
                Problem(
                    f"{label} has no option {name!r}; its options are "
                    f"{', '.join(o.name for o in info.options) or 'none'}",
                    index,
                )
            )
            continue
        try:
            spec.parse(value)
        except ValueError as exc:
            problems.append(Problem(f"{label}: {name} must be {exc}, not {shown(value)}", index))
    return problems


def _check_rate(value: object, what: str, label: str) -> Problem | None:
    try:
        DROPOUT_RATE.parse(value)
        return None
    except ValueError:
        pass
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 1e300:
        return Problem(
            f"{label}: {what} rate {value:g} drops every unit, so nothing would reach the next "
            "layer: use a rate below 1 (0.5 is the classic hidden-layer value)"
        )
    return Problem(
        f"{label}: {what} rate must be a number from 0 up to (not including) 1, not {shown(value)}"
    )


def _check_dropout(layer: LayerSpec, out: Shape, label: str, index: int) -> list[Problem]:
    problems: list[Problem] = []
    d = layer.dropout
    if d.type not in DROPOUT_TYPES:
        return [
            Problem(
                f"{label}: dropout type {shown(d.type)} is unknown; use one of "
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
    try:
        L2.parse(layer.l2)
    except ValueError as exc:
        problems.append(Problem(f"{label}: l2 must be {exc}, not {shown(layer.l2)}", index))
    else:
        if layer.l2 and not (layer.kind_info and layer.kind_info.weighted):
            problems.append(
                Problem(
                    f"{label}: l2 needs weights, and a {layer.kind} layer has none: set l2 to 0",
                    index,
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


def _size_problem(label: str, index: int, out: Shape, params: int) -> Problem | None:
    values = math.prod(d or 1 for d in out)
    if values > MAX_SAMPLE_VALUES:
        return Problem(
            f"{label} outputs {values:,} values per sample (more than {MAX_SAMPLE_VALUES:,}): "
            "use a smaller input, fewer units or filters, or pool before flattening",
            index,
        )
    return None


def infer(network: NetworkSpec) -> StackReport:
    """Shapes and parameter counts of every layer, and every problem found.

    Options are checked against the registry first, so shape rules only see valid values.
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
    total = 0
    for i, layer in enumerate(layers):
        label = layer_label(i, layer)
        info = LAYER_KINDS.get(layer.kind)
        out: Shape | None = None
        if info is None:
            problems.append(
                Problem(
                    f"{label}: unknown layer kind {shown(layer.kind)}; use one of "
                    f"{', '.join(LAYER_KINDS)}",
                    i,
                )
            )
        elif layer.kind == "Input" and i != 0:
            problems.append(
                Problem(f"{label}: only the first layer may be an Input: remove this one", i)
            )
        else:
            bad_options = _option_problems(layer, label, i)
            problems.extend(bad_options)
            if not bad_options and (shape is not None or layer.kind == "Input"):
                try:
                    out, params, trainable = info.rule(
                        layer, shape or (), Where(label, previous, i)
                    )
                except LayerError as exc:
                    problems.append(Problem(str(exc), i))
                else:
                    reports.append(LayerReport(i, layer.kind, out, params, trainable))
                    total += params
                    too_big = _size_problem(label, i, out, params)
                    if too_big:
                        problems.append(too_big)
                    problems.extend(_check_dropout(layer, out, label, i))
                    shape, previous = out, label
                    continue
        reports.append(LayerReport(i, layer.kind, None, 0, 0))
        shape = None
    if len(layers) == 1 and layers[0].kind == "Input":
        problems.append(
            Problem(
                "the stack has only an Input: add at least one layer after it (a Dense layer "
                "with one unit per class makes the smallest model)",
                0,
            )
        )
    if total > MAX_PARAMETERS:
        problems.append(
            Problem(
                f"the stack has {total:,} parameters, more than the {MAX_PARAMETERS:,} Dropout "
                "Studio trains: use fewer units or filters, or pool before Dense layers"
            )
        )
    if not problems:
        problems.extend(_advice(network, reports))
    return StackReport(tuple(reports), tuple(problems))
