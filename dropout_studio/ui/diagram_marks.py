"""What each column of the network diagram shows, computed from the recorded masks (no Qt).

The diagram draws these arrays; keeping them apart from the drawing lets a mask update cost a few
numpy operations per layer, and lets tooltips be built only for the unit under the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from dropout_studio.core.shapes import StackReport
from dropout_studio.core.spec import NetworkSpec, dropout_name, layer_name

RNN_KINDS = ("LSTM", "GRU", "SimpleRNN")
# An image-shaped Input with (non-spatial) dropout is drawn pixel by pixel up to this size;
# larger inputs, and convolutions' outputs, are drawn one mark per channel.
MAX_ELEMENTS = 4096
Style = Literal["plain", "dropout", "spatial", "noise"]


@dataclass
class LayerMarks:
    """One column: a value per unit (or per channel) and how to read it.

    ``keep`` is 1 for a kept unit and 0 for a dropped one; between 0 and 1 it is the kept
    fraction of a feature map's positions (plain dropout on a convolution). For Gaussian
    dropout (``style == "noise"``) ``keep`` is 1 and ``noise`` holds the multiplier.
    """

    index: int
    name: str
    title: str
    shape_text: str
    noun: str
    keep: np.ndarray
    freq: np.ndarray
    noise: np.ndarray | None = None
    style: Style = "plain"
    step: int | None = None
    source: str = ""
    caption: str = ""
    image: tuple[int, int] | None = None  # (rows, columns): units laid out as the picture

    @property
    def count(self) -> int:
        return len(self.keep)

    def tooltip(self, unit: int) -> str:
        """Layer, unit index, kept or dropped in the step, and how often dropped so far."""
        where = f"{self.title}, {self.noun} {unit + 1} of {self.count:,}"
        if self.image is not None:
            row, column = divmod(unit, self.image[1])
            where += f" (row {row + 1}, column {column + 1})"
        if self.source:
            where += f" ({self.source})"
        if self.style == "plain":
            return f"{where}: active"
        if self.noise is not None:
            return (
                f"{where}: multiplied by {float(self.noise[unit]):.2f} in step {self.step} "
                f"(Gaussian noise, nothing dropped)"
            )
        keep = float(self.keep[unit])
        state = "dropped" if keep < 0.5 else "kept"
        if 0 < keep < 1:
            state = f"kept at {keep:.0%} of positions"
        return (
            f"{where}: {state} in step {self.step}; "
            f"dropped in {float(self.freq[unit]):.1%} of samples so far"
        )


def per_unit(mask: Any) -> np.ndarray:
    """Value per unit (last axis); a mask over positions becomes the kept fraction per channel."""
    array = np.asarray(mask, dtype=float)
    if array.ndim <= 1:
        return array.reshape(-1)
    return array.reshape(-1, array.shape[-1]).mean(axis=0)


def _flat(mask: Any) -> np.ndarray:
    """Value per element, row by row (an image's pixels, as Flatten orders them)."""
    return np.asarray(mask, dtype=float).reshape(-1)


def displayed_layers(network: NetworkSpec) -> list[int]:
    """Layers drawn as columns: Flatten and pooling without dropout add nothing to see (with
    dropout they are drawn: mnist-classic drops 20 % of its 784 pixels on the Flatten layer)."""
    return [
        i
        for i, layer in enumerate(network.layers)
        if layer.dropout.active
        or not (layer.kind == "Flatten" or layer.kind.startswith(("Max", "Average", "Global")))
    ]


def picture_shape(shape: tuple[int | None, ...] | None) -> tuple[int, int] | None:
    """(rows, columns) of an image-like shape (h, w) or (h, w, c), read row by row as Flatten
    does; None for other shapes."""
    if shape is None or len(shape) not in (2, 3) or any(d is None for d in shape):
        return None
    rows = int(shape[0] or 0)
    columns = int(np.prod([int(d or 0) for d in shape[1:]]))
    return (rows, columns) if rows > 1 and columns > 1 else None


def _elementwise(layer: Any, shape: tuple[int | None, ...] | None) -> bool:
    """An image-shaped Input whose dropout drops single values: draw every value, not channels."""
    return (
        layer.kind == "Input"
        and layer.dropout.active
        and layer.dropout.type != "spatial"
        and picture_shape(shape) is not None
        and int(np.prod([int(d or 0) for d in shape or ()])) <= MAX_ELEMENTS
    )


def widest_caption(network: NetworkSpec, marks: LayerMarks) -> str:
    """The longest caption this column can get while training runs (digits at their widest),
    so the layout reserves the height captions need and no more."""
    layer = network.layers[marks.index]
    full = f"dropped {marks.count:,}/{marks.count:,} (100%)"
    following = marks.index + 1
    if layer.kind in RNN_KINDS:
        return f"recurrent mask: {full}"
    if following < len(network.layers) and network.layers[following].kind in RNN_KINDS:
        return f"input mask of layer {following + 1}: {full}"
    if not layer.dropout.active:
        return marks.caption
    if layer.dropout.type == "gaussian":
        return "Gaussian noise: nothing dropped (shade = multiplier)"
    return ("channels " if layer.dropout.type == "spatial" else "") + full


def _fit(values: np.ndarray, count: int, fill: float) -> np.ndarray:
    out = np.full(count, fill, dtype=float)
    n = min(count, len(values))
    out[:n] = values[:n]
    return out


def layer_marks(
    network: NetworkSpec,
    report: StackReport | None,
    masks: dict[str, dict[str, Any]],
    inference: bool,
) -> list[LayerMarks]:
    """The columns to draw, each with its layer's recorded mask (or every unit active)."""
    shapes = {r.index: r.output_shape for r in report.layers} if report else {}
    marks = []
    for i in displayed_layers(network):
        column = _marks_for(network, i, shapes.get(i), masks, inference)
        if network.layers[i].kind == "Flatten" and i > 0:
            picture = picture_shape(shapes.get(i - 1))
            if picture is not None and picture[0] * picture[1] == column.count:
                column.image = picture
        marks.append(column)
    return marks


def _shape_text(shape: tuple[int | None, ...] | None, count: int, noun: str) -> str:
    plural = noun if count == 1 else noun + "s"
    units = f"{count:,}\u00a0{plural}"  # never break "64 units" across lines
    if shape is not None and len(shape) >= 2:
        dims = "×".join("?" if d is None else str(d) for d in shape)
        return f"{dims} · {units}"
    return units


def _marks_for(
    network: NetworkSpec,
    index: int,
    shape: tuple[int | None, ...] | None,
    masks: dict[str, dict[str, Any]],
    inference: bool,
) -> LayerMarks:
    layer = network.layers[index]
    count = int(shape[-1] or 0) if shape else 0
    noun = "channel" if shape is not None and len(shape) >= 2 else "unit"
    elementwise = _elementwise(layer, shape)
    if elementwise:
        count, noun = int(np.prod([int(d or 0) for d in shape or ()])), "unit"
    key = dropout_name(index, layer)
    if layer.kind in RNN_KINDS:
        key = f"{layer_name(index, layer)}.recurrent"
    record = None if inference else masks.get(key)
    source = "recurrent mask" if layer.kind in RNN_KINDS else ""
    following = index + 1
    if (
        record is None
        and not inference
        and following < len(network.layers)
        and network.layers[following].kind in RNN_KINDS
    ):
        # An RNN's input dropout drops features of what this layer outputs: draw it here.
        record = masks.get(f"{layer_name(following, network.layers[following])}.input")
        source = f"input mask of layer {following + 1}"
    marks = LayerMarks(
        index=index,
        name=layer_name(index, layer),
        title=f"layer {index + 1} ({layer.kind})",
        shape_text=_shape_text(shape, count, noun),
        noun=noun,
        keep=np.ones(count),
        freq=np.zeros(count),
        image=picture_shape(shape) if elementwise else None,
    )
    if record is None:
        if inference and (layer.dropout.active or layer.recurrent_dropout or layer.input_dropout):
            marks.caption = "all active (inference)"
        return marks
    marks.step, marks.source = int(record.get("step", 0)), source
    read = _flat if elementwise else per_unit
    values = _fit(read(record["last_mask"]), count, 1.0)
    marks.freq = _fit(read(record["drop_frequency"]), count, 0.0)
    if record.get("mode") == "gaussian":
        marks.style, marks.noise = "noise", values
        marks.caption = "Gaussian noise: nothing dropped (shade = multiplier)"
        return marks
    marks.keep = values
    marks.style = "spatial" if record.get("mode") == "spatial" else "dropout"
    dropped = int(np.count_nonzero(values < 0.5))
    prefix = f"{source}: " if source else ""
    what = f"{noun}s " if marks.style == "spatial" else ""
    marks.caption = f"{prefix}{what}dropped {dropped:,}/{count:,} ({dropped / max(count, 1):.0%})"
    return marks
