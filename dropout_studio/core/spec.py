"""The network spec: an ordered, immutable stack of layers, each with its own dropout.

Everything here is plain Python so the GUI, the CLI and the training worker can share one
snapshot without copying: a spec never changes, edits make a new one (``dataclasses.replace``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dropout_studio.core.layer_kinds import (
    ACTIVATIONS,
    LAYER_KINDS,
    PADDINGS,
    LayerKind,
    OptionSpec,
)

__all__ = [
    "ACTIVATIONS",
    "DROPOUT_TYPES",
    "LAYER_KINDS",
    "PADDINGS",
    "DropoutSpec",
    "LayerKind",
    "LayerSpec",
    "NetworkSpec",
    "OptionSpec",
    "drop_keep_text",
    "rnn_dropout_text",
]

DROPOUT_TYPES = ("none", "dropout", "spatial", "gaussian", "alpha")

# The settings every layer has besides its kind's options: output dropout, RNN dropouts, L2.
DROPOUT_TYPE = OptionSpec(
    "type", "choice", "none", "how the layer's outputs are dropped", DROPOUT_TYPES
)
DROPOUT_RATE = OptionSpec(
    "rate",
    "float",
    0.0,
    "fraction of units dropped in each training step (Keras convention)",
    minimum=0.0,
    maximum=1.0,
    exclusive_maximum=True,
    precision=4,
)
INPUT_DROPOUT = replace(
    DROPOUT_RATE,
    name="input_dropout",
    help="fraction of input features dropped, one mask per sequence",
)
RECURRENT_DROPOUT = replace(
    DROPOUT_RATE,
    name="recurrent_dropout",
    help="fraction of the recurrent state dropped, one mask per sequence",
)
L2 = OptionSpec(
    "l2", "float", 0.0, "L2 penalty on the layer's weights", minimum=0.0, maximum=10.0, precision=8
)
LAYER_FIELDS = (INPUT_DROPOUT, RECURRENT_DROPOUT, L2)


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _normalized(kind: str, options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Sorted, frozen options without those equal to the kind's default, so equal layers compare
    equal however they were written."""
    info = LAYER_KINDS.get(kind)
    out = []
    for key, value in options.items():
        value = _freeze(value)
        spec = info.option(key) if info else None
        if spec is not None and spec.default == value and type(spec.default) is type(value):
            continue
        out.append((key, value))
    return tuple(sorted(out))


@dataclass(frozen=True)
class DropoutSpec:
    """Dropout applied to a layer's output. ``rate`` is the fraction dropped (Keras convention)."""

    type: str = "none"
    rate: float = 0.0

    def __post_init__(self) -> None:
        # "none" has no rate: one value per meaning, so a save/load round trip is exact.
        if self.type == "none" and self.rate != 0.0:
            object.__setattr__(self, "rate", 0.0)

    @property
    def active(self) -> bool:
        return self.type != "none" and self.rate > 0

    @property
    def keep_probability(self) -> float:
        return 1.0 - self.rate if self.type != "none" else 1.0

    def describe(self) -> str:
        """What the layer does to its outputs in words.

        Gaussian dropout zeroes nothing: it multiplies every output by noise of mean 1 and
        standard deviation sqrt(rate / (1 - rate)), so it is described by that deviation."""
        if not self.active:
            return "no dropout"
        if self.type == "gaussian":
            return f"Gaussian noise · std {math.sqrt(self.rate / (1 - self.rate)):.2f}"
        return f"{self.type} · {drop_keep_text(self.rate)}"


NO_DROPOUT = DropoutSpec()


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"


def drop_keep_text(rate: float) -> str:
    """'drop 20% · keep 80%': the rate is the fraction dropped, the keep probability beside it."""
    return f"drop {_percent(rate)} · keep {_percent(1 - rate)}"


def rnn_dropout_text(input_dropout: float, recurrent_dropout: float) -> str:
    """An RNN's input and recurrent dropout in words ('' when both are 0); each mask is drawn
    once per sequence."""
    parts = [
        f"{what} {drop_keep_text(rate)}"
        for what, rate in (("input", input_dropout), ("recurrent", recurrent_dropout))
        if rate
    ]
    return "; ".join(parts)


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its kind, kind-specific options, output dropout, RNN dropouts and L2 penalty."""

    kind: str
    options: tuple[tuple[str, Any], ...] = ()
    dropout: DropoutSpec = NO_DROPOUT
    input_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        # Options in one canonical form however the layer was built (``LayerSpec("Dense",
        # (("units", 64),))`` included): sorted, frozen, defaults left out. A save/load round
        # trip then gives an equal layer. Options that are not (name, value) pairs stay as
        # they are, for check() to report.
        try:
            options = _normalized(self.kind, dict(self.options))
        except (TypeError, ValueError):
            return
        object.__setattr__(self, "options", options)

    @classmethod
    def make(cls, kind: str, dropout: DropoutSpec = NO_DROPOUT, **options: Any) -> LayerSpec:
        """Build a layer from keyword options; RNN dropouts and l2 are recognised by name."""
        extra = {
            k: options.pop(k) for k in ("input_dropout", "recurrent_dropout", "l2") if k in options
        }
        return cls(kind, _normalized(kind, options), dropout, **extra)

    @property
    def kind_info(self) -> LayerKind | None:
        return LAYER_KINDS.get(self.kind)

    def option(self, name: str) -> Any:
        """The option's value, or the kind's default when the layer does not set it."""
        for key, value in self.options:
            if key == name:
                return value
        info = self.kind_info
        spec = info.option(name) if info else None
        return spec.default if spec else None

    @property
    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)

    def with_options(self, **changes: Any) -> LayerSpec:
        return replace(self, options=_normalized(self.kind, {**self.option_dict, **changes}))

    def with_dropout(self, dropout: DropoutSpec) -> LayerSpec:
        return replace(self, dropout=dropout)


@dataclass(frozen=True)
class NetworkSpec:
    layers: tuple[LayerSpec, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, layers: Iterable[LayerSpec]) -> NetworkSpec:
        return cls(tuple(layers))

    def __len__(self) -> int:
        return len(self.layers)

    def without_dropout(self) -> NetworkSpec:
        """The same stack with every dropout rate set to 0 (the 'no dropout' twin)."""
        return NetworkSpec(
            tuple(
                replace(layer, dropout=NO_DROPOUT, input_dropout=0.0, recurrent_dropout=0.0)
                for layer in self.layers
            )
        )

    def with_layer(self, index: int, layer: LayerSpec) -> NetworkSpec:
        layers = list(self.layers)
        layers[index] = layer
        return NetworkSpec(tuple(layers))


def layer_name(index: int, layer: LayerSpec) -> str:
    """The Keras name of layer ``index``: position and kind, so masks and tables agree."""
    return f"{layer.kind.lower()}_{index + 1}"


def dropout_name(index: int, layer: LayerSpec) -> str:
    """The Keras name of the output-dropout layer after layer ``index`` (its mask key)."""
    return f"{layer_name(index, layer)}_dropout"


def layer_label(index: int, layer: LayerSpec) -> str:
    """How messages name a layer: 1-based position and kind, as the layer table shows it."""
    return f"layer {index + 1} ({layer.kind})"


def options_from_mapping(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``raw`` that are options of ``kind`` (used by project loading and import)."""
    info = LAYER_KINDS[kind]
    return {o.name: _freeze(raw[o.name]) for o in info.options if o.name in raw}
