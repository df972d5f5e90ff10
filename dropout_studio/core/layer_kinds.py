"""The layer-kind registry: one entry per kind declares everything the app knows about it.

An entry holds the kind's options (value type, range, default, display precision), its shape
rule and parameter count (Keras' formulas), its Keras class (option names *are* the Keras
argument names) and its PyTorch code. Validation, the project loader, the property widgets,
the model builder, the importer and both code generators read these entries, so adding a layer
kind is one entry here — and the tests parametrized over :data:`LAYER_KINDS` cover it at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dropout_studio.core.spec import LayerSpec

Shape = tuple[int | None, ...]
OptionType = Literal["int", "float", "bool", "choice", "text", "size", "shape"]

MAX_UNITS = 65_536  # units, filters, vector sizes
MAX_WINDOW = 1_024  # kernel, pool and stride sizes
MAX_DIMENSION = 1_000_000  # one axis of a sample shape
MAX_RANK = 4  # axes of a sample shape
MAX_VOCABULARY = 10_000_000

ACTIVATIONS = (
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "gelu",
    "swish",
    "leaky_relu",
)
PADDINGS = ("valid", "same")


def shown(value: Any, limit: int = 60) -> str:
    """``repr`` that never fails or floods a message (4,301-digit numbers, huge strings)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a whole number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, list | tuple | dict) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class OptionSpec:
    """One editable setting: its value type, range, default and how editors show it.

    The same entry drives loading (types and ranges), the property widgets (range and precision,
    so nothing is rounded or clipped silently) and the Hypothesis strategies. ``size`` is a whole
    number or one per spatial axis (``axes``); ``shape`` is a list of dimensions (``None`` for a
    variable length). ``nullable`` means ``None`` is a meaningful value (pooling strides = pool
    size). ``precision`` is the number of decimals a value is usually shown with (editors keep
    every digit a value has, whatever it is).
    For ``text``, ``maximum`` is the length limit.
    """

    name: str
    value_type: OptionType
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    precision: int = 0
    exclusive_maximum: bool = False
    axes: int = 1

    def expected(self) -> str:
        """What a valid value looks like, for messages ("a whole number from 1 to 65536")."""
        if self.choices:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        elif self.value_type == "bool":
            text = "true or false"
        elif self.value_type == "text":
            text = f"text of at most {self.maximum:g} characters" if self.maximum else "text"
        elif self.value_type == "shape":
            text = (
                f"a list of 1 to {MAX_RANK} positive whole numbers (or null for a variable "
                f"length) up to {MAX_DIMENSION:,}, such as [32, 32, 1]"
            )
        else:
            what = "a whole number" if self.value_type in ("int", "size") else "a number"
            if self.value_type == "size" and self.axes > 1:
                what = f"a whole number or a list of {self.axes}"
            low, high = self.minimum, self.maximum
            if low is not None and high is not None:
                upper = (
                    f"up to (not including) {high:g}" if self.exclusive_maximum else f"to {high:g}"
                )
                text = f"{what} from {low:g} {upper}"
            elif low is not None:
                text = f"{what} of at least {low:g}"
            else:
                text = what
        return text + (" (or null)" if self.nullable else "")

    def _in_range(self, value: float) -> bool:
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None:
            return value < self.maximum if self.exclusive_maximum else value <= self.maximum
        return True

    def parse(self, value: Any) -> Any:
        """The value in its canonical form (lists become tuples, ints in float fields floats).

        Raises ``ValueError`` with :meth:`expected` when the value is not of this option's type
        or outside its range: the loader turns it into one message naming the field.
        """
        if value is None:
            if self.nullable:
                return None
            raise ValueError(self.expected())
        kind = self.value_type
        if kind == "bool":
            if isinstance(value, bool):
                return value
        elif kind == "text":
            if isinstance(value, str) and (self.maximum is None or len(value) <= self.maximum):
                if not self.choices or value in self.choices:
                    return value
        elif kind == "choice":
            if any(value == c and type(value) is type(c) for c in self.choices):
                return value
        elif kind == "int":
            if _is_int(value) and self._in_range(value):
                if not self.choices or value in self.choices:
                    return value
        elif kind == "float":
            if _is_number(value) and not (_is_int(value) and abs(value) > 2**1000):
                number = float(value)
                if math.isfinite(number) and self._in_range(number):
                    return number
        elif kind == "size":
            parts = value if isinstance(value, list | tuple) else (value,)
            if (
                1 <= len(parts) <= self.axes
                and (len(parts) == 1 or len(parts) == self.axes)
                and all(_is_int(p) and self._in_range(p) for p in parts)
            ):
                return tuple(parts) if isinstance(value, list | tuple) else value
        elif kind == "shape":
            if (
                isinstance(value, list | tuple)
                and 1 <= len(value) <= MAX_RANK
                and all(d is None or (_is_int(d) and 1 <= d <= MAX_DIMENSION) for d in value)
            ):
                return tuple(value)
        raise ValueError(self.expected())


def field_problems(values: Any, specs: Mapping[str, OptionSpec], what: str) -> list[str]:
    """One message per attribute of ``values`` outside its spec (objects built in code can hold
    anything; loading already refuses these in files)."""
    problems = []
    for key, spec in specs.items():
        value = getattr(values, key)
        try:
            spec.parse(value)
        except ValueError as exc:
            problems.append(f"{what} {key} must be {exc}, not {shown(value)}")
    return problems


def option_value_to_json(value: Any) -> Any:
    """Tuples as JSON lists; everything else as it is."""
    return list(value) if isinstance(value, tuple) else value


# ---------------------------------------------------------------- shape rules


class LayerError(ValueError):
    """Raised by a shape rule; carries the finished message."""


@dataclass(frozen=True)
class Where:
    """How a rule names the layer and its input in messages."""

    label: str  # "layer 3 (Conv2D)"
    previous: str  # "layer 2 (Input)" or "the input"
    index: int = 1  # the layer's position in the stack (0 is the Input)


def format_shape(shape: Sequence[int | None] | None) -> str:
    if shape is None:
        return "?"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


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


def _need_rank(rank: int, shape: Shape, at: Where) -> None:
    if len(shape) != rank:
        raise LayerError(
            f"{at.label} needs {_RANK_NAMES[rank]}, but {at.previous} outputs "
            f"{format_shape(shape)}: {_RANK_HINTS[rank]}"
        )


def _known_last(shape: Shape, at: Where, what: str = "channel count") -> int:
    last = shape[-1] if shape else None
    if last is None:
        raise LayerError(
            f"{at.label} needs a known {what}, but {at.previous} outputs {format_shape(shape)}"
        )
    return last


def _axes(value: Any, rank: int) -> tuple[int, ...]:
    """A size option (int or tuple) as one whole number per spatial axis."""
    parts = value if isinstance(value, tuple) else (value,)
    return tuple(parts) * rank if len(parts) == 1 else tuple(parts)


def _window(length: int | None, size: int, stride: int, padding: str) -> int | None:
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)  # integer ceil: no float overflow on huge inputs
    return (length - size) // stride + 1


_TOO_LARGE_HINTS = {
    "kernel": "use a smaller kernel_size or padding 'same'",
    "pool_size": "use a smaller pool_size or remove the layer",
}


def _sliding(
    shape: Shape,
    sizes: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    at: Where,
    window: str,
) -> list[int | None]:
    """The spatial output of a window slid over every axis but the channels (conv, pooling)."""
    spatial = [_window(n, k, s, padding) for n, k, s in zip(shape[:-1], sizes, strides)]
    if any(d is not None and d < 1 for d in spatial):
        raise LayerError(
            f"{at.label}: {window} {'×'.join(map(str, sizes))} is larger than its input "
            f"{format_shape(shape)} from {at.previous}: {_TOO_LARGE_HINTS[window]}"
        )
    return spatial


def _dense(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
    inputs = _known_last(shape, at, "last dimension")
    units = layer.option("units")
    params = inputs * units + (units if layer.option("use_bias") else 0)
    return (*shape[:-1], units), params, params


def _conv(rank: int) -> Callable[[LayerSpec, Shape, Where], tuple[Shape, int, int]]:
    def rule(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
        _need_rank(rank + 1, shape, at)
        channels = _known_last(shape, at)
        sizes = _axes(layer.option("kernel_size"), rank)
        strides = _axes(layer.option("strides"), rank)
        spatial = _sliding(shape, sizes, strides, layer.option("padding"), at, "kernel")
        filters = layer.option("filters")
        params = math.prod(sizes) * channels * filters + filters
        return (*spatial, filters), params, params

    return rule


def _pool(rank: int) -> Callable[[LayerSpec, Shape, Where], tuple[Shape, int, int]]:
    def rule(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
        _need_rank(rank + 1, shape, at)
        sizes = _axes(layer.option("pool_size"), rank)
        raw = layer.option("strides")
        strides = sizes if raw is None else _axes(raw, rank)
        spatial = _sliding(shape, sizes, strides, layer.option("padding"), at, "pool_size")
        return (*spatial, shape[-1]), 0, 0

    return rule


def _global_pool(rank: int) -> Callable[[LayerSpec, Shape, Where], tuple[Shape, int, int]]:
    def rule(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
        _need_rank(rank + 1, shape, at)
        return (shape[-1],), 0, 0

    return rule


def _flatten(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
    if any(d is None for d in shape):
        raise LayerError(
            f"{at.label} needs a fixed input size, but {at.previous} outputs "
            f"{format_shape(shape)}: give the Input a fixed sequence length"
        )
    return (math.prod(d for d in shape if d is not None),), 0, 0


def _batch_norm(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
    channels = _known_last(shape, at)
    return shape, 4 * channels, 2 * channels  # gamma, beta + moving mean, variance


def _embedding(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
    """Only directly after the Input: an Embedding looks up integer token ids, so the model's
    input is built as integers, and no other layer outputs token ids."""
    if at.index != 1:
        raise LayerError(
            f"{at.label} must come directly after the Input: it looks up integer token ids, "
            f"and {at.previous} outputs real numbers; move it to position 2"
        )
    _need_rank(1, shape, at)
    params = layer.option("input_dim") * layer.option("output_dim")
    return (shape[0], layer.option("output_dim")), params, params


def _recurrent(gates: int, biases: int) -> Callable[[LayerSpec, Shape, Where], tuple]:
    """LSTM: 4 gates, 1 bias each; GRU (reset_after=True): 3 gates, 2 biases; SimpleRNN: 1, 1."""

    def rule(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
        if len(shape) != 2:
            raise LayerError(
                f"{at.label} needs a sequence (steps, features), but {at.previous} outputs "
                f"{format_shape(shape)}: use an Input of shape (steps, features) or an Embedding"
            )
        features = _known_last(shape, at, "feature count")
        units = layer.option("units")
        params = gates * (units * (features + units) + biases * units)
        out: Shape = (shape[0], units) if layer.option("return_sequences") else (units,)
        return out, params, params

    return rule


def _input(layer: LayerSpec, shape: Shape, at: Where) -> tuple[Shape, int, int]:
    return tuple(layer.option("shape")), 0, 0


# ---------------------------------------------------------------- PyTorch code

TORCH_ACTIVATION = {
    "relu": "nn.ReLU()",
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
    "elu": "nn.ELU()",
    "selu": "nn.SELU()",
    "gelu": "nn.GELU()",
    "swish": "nn.SiLU()",
    "leaky_relu": "nn.LeakyReLU(0.2)  # Keras 3's default negative slope",
    "softmax": "nn.Softmax(dim=-1)",
}
TorchCode = Callable[["LayerSpec", Shape, Shape], list[str]]


def _with_activation(module: str, layer: LayerSpec) -> list[str]:
    act = TORCH_ACTIVATION.get(layer.option("activation"))
    return [module, act] if act else [module]


def _torch_dense(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
    o = layer.option
    return _with_activation(f"nn.Linear({inp[-1]}, {o('units')}, bias={o('use_bias')})", layer)


def _torch_conv(rank: int) -> TorchCode:
    def code(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
        o = layer.option
        module = (
            f"nn.Conv{rank}d({inp[-1]}, {o('filters')}, kernel_size={o('kernel_size')!r}, "
            f'stride={o("strides")!r}, padding="{o("padding")}")'
        )
        return _with_activation(module, layer)

    return code


def _torch_pool(cls: str) -> TorchCode:
    def code(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
        o = layer.option
        stride = o("strides") if o("strides") is not None else o("pool_size")
        return [f"{cls}(kernel_size={o('pool_size')!r}, stride={stride!r})"]

    return code


def _torch_fixed(*modules: str) -> TorchCode:
    return lambda layer, inp, out: list(modules)


def _torch_batch_norm(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
    dims = "2d" if len(inp) == 3 else "1d"
    return [f"nn.BatchNorm{dims}({inp[-1]}, eps=1e-3, momentum=0.01)"]


def _torch_embedding(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
    return [f"nn.Embedding({layer.option('input_dim')}, {layer.option('output_dim')})"]


def _torch_recurrent(cls: str, extra: str = "") -> TorchCode:
    def code(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
        modules = []
        if layer.input_dropout:
            modules.append(f"nn.Dropout({layer.input_dropout!r})  # per step, see the note above")
        modules.append(
            f"LastStep({cls}({inp[-1]}, {layer.option('units')}, batch_first=True{extra}), "
            f"return_sequences={layer.option('return_sequences')})"
        )
        return modules

    return code


def _no_torch(layer: LayerSpec, inp: Shape, out: Shape) -> list[str]:
    return []


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class LayerKind:
    """Everything the app knows about one layer kind.

    ``rule`` gives the output shape, total and trainable parameters for an input shape (raising
    :class:`LayerError`); the caller has already checked option types and ranges. ``l2_arguments``
    are the Keras arguments the layer's L2 penalty goes to. ``channels_first`` marks layers that
    PyTorch runs channels-first. ``torch_extra_params`` is what PyTorch counts beyond Keras.
    """

    name: str
    description: str
    rule: Callable[[LayerSpec, Shape, Where], tuple[Shape, int, int]]
    torch: TorchCode
    options: tuple[OptionSpec, ...] = ()
    weighted: bool = False
    recurrent: bool = False
    l2_arguments: tuple[str, ...] = ()
    channels_first: bool = False
    torch_extra_params: Callable[[LayerSpec], int] = lambda layer: 0

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    @property
    def keras_class(self) -> str:
        """The stock Keras layer class; option names are its argument names."""
        return self.name

    def keras_arguments(self, layer: LayerSpec) -> dict[str, Any]:
        """The Keras constructor arguments of ``layer``, without regularizers or name."""
        arguments = {o.name: layer.option(o.name) for o in self.options}
        if self.recurrent:
            arguments.update(dropout=layer.input_dropout, recurrent_dropout=layer.recurrent_dropout)
        return arguments


def _activation(default: str) -> OptionSpec:
    return OptionSpec(
        "activation", "choice", default, "function applied to the output", ACTIVATIONS
    )


def _units(name: str, default: int, help: str) -> OptionSpec:
    return OptionSpec(name, "int", default, help, minimum=1, maximum=MAX_UNITS)


def _size(name: str, default: Any, help: str, axes: int, nullable: bool = False) -> OptionSpec:
    return OptionSpec(
        name, "size", default, help, minimum=1, maximum=MAX_WINDOW, nullable=nullable, axes=axes
    )


def _padding(help: str) -> OptionSpec:
    return OptionSpec("padding", "choice", "valid", help, PADDINGS)


def _pool_options(axes: int) -> tuple[OptionSpec, ...]:
    return (
        _size("pool_size", 2, "window size", axes),
        _size("strides", None, "step between windows (empty = pool size)", axes, nullable=True),
        _padding("'same' keeps the size (with stride 1)"),
    )


def _rnn_options() -> tuple[OptionSpec, ...]:
    return (
        _units("units", 32, "size of the hidden state"),
        OptionSpec("return_sequences", "bool", False, "output every time step, not just the last"),
        _activation("tanh"),
    )


def _conv_kind(rank: int) -> LayerKind:
    axes = "(steps, channels)" if rank == 1 else "(height, width, channels)"
    return LayerKind(
        f"Conv{rank}D",
        f"{rank}-D convolution over {axes}",
        _conv(rank),
        _torch_conv(rank),
        (
            _units("filters", 32, "number of output channels"),
            _size(
                "kernel_size",
                3,
                "window length" if rank == 1 else "window size (n or [h, w])",
                rank,
            ),
            _size("strides", 1, "step between windows", rank),
            _padding("'same' keeps the size"),
            _activation("relu"),
        ),
        weighted=True,
        l2_arguments=("kernel_regularizer",),
        channels_first=True,
    )


def _recurrent_kind(
    name: str, description: str, rule: Any, torch: TorchCode, extra: Callable[[LayerSpec], int]
) -> LayerKind:
    return LayerKind(
        name,
        description,
        rule,
        torch,
        _rnn_options(),
        weighted=True,
        recurrent=True,
        l2_arguments=("kernel_regularizer", "recurrent_regularizer"),
        torch_extra_params=extra,
    )


LAYER_KINDS: dict[str, LayerKind] = {
    k.name: k
    for k in (
        LayerKind(
            "Input",
            "the shape of one sample; its dropout is input dropout",
            _input,
            _no_torch,
            (OptionSpec("shape", "shape", (2,), "sample shape without the batch axis"),),
        ),
        LayerKind(
            "Dense",
            "fully connected layer",
            _dense,
            _torch_dense,
            (
                _units("units", 64, "number of units"),
                _activation("relu"),
                OptionSpec("use_bias", "bool", True, "add a learned bias"),
            ),
            weighted=True,
            l2_arguments=("kernel_regularizer",),
        ),
        _conv_kind(1),
        _conv_kind(2),
        LayerKind(
            "MaxPooling1D",
            "maximum over windows of steps",
            _pool(1),
            _torch_pool("nn.MaxPool1d"),
            _pool_options(1),
            channels_first=True,
        ),
        LayerKind(
            "MaxPooling2D",
            "maximum over 2-D windows",
            _pool(2),
            _torch_pool("nn.MaxPool2d"),
            _pool_options(2),
            channels_first=True,
        ),
        LayerKind(
            "AveragePooling2D",
            "average over 2-D windows",
            _pool(2),
            _torch_pool("nn.AvgPool2d"),
            _pool_options(2),
            channels_first=True,
        ),
        LayerKind(
            "GlobalAveragePooling1D",
            "average over all steps, one value per channel",
            _global_pool(1),
            _torch_fixed("Lambda(lambda x: x.mean(dim=2))"),
            channels_first=True,
        ),
        LayerKind(
            "GlobalAveragePooling2D",
            "average over height and width, one value per channel",
            _global_pool(2),
            _torch_fixed("Lambda(lambda x: x.mean(dim=(2, 3)))"),
            channels_first=True,
        ),
        LayerKind("Flatten", "reshape to one long vector", _flatten, _torch_fixed("nn.Flatten()")),
        LayerKind(
            "BatchNormalization",
            "normalizes each channel over the batch",
            _batch_norm,
            _torch_batch_norm,
            weighted=True,
            l2_arguments=("gamma_regularizer",),
        ),
        LayerKind(
            "Embedding",
            "maps integer tokens to learned vectors",
            _embedding,
            _torch_embedding,
            (
                OptionSpec(
                    "input_dim",
                    "int",
                    100,
                    "vocabulary size (largest token + 1)",
                    minimum=1,
                    maximum=MAX_VOCABULARY,
                ),
                _units("output_dim", 16, "vector length per token"),
            ),
            weighted=True,
            l2_arguments=("embeddings_regularizer",),
        ),
        _recurrent_kind(
            "LSTM",
            "long short-term memory",
            _recurrent(4, 1),
            _torch_recurrent("nn.LSTM"),
            lambda layer: 4 * layer.option("units"),
        ),
        _recurrent_kind(
            "GRU",
            "gated recurrent unit",
            _recurrent(3, 2),
            _torch_recurrent("nn.GRU"),
            lambda layer: 0,
        ),
        _recurrent_kind(
            "SimpleRNN",
            "plain recurrent layer",
            _recurrent(1, 1),
            _torch_recurrent("nn.RNN", ", nonlinearity='tanh'"),
            lambda layer: layer.option("units"),
        ),
    )
}
