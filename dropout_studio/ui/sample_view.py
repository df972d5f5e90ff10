"""Pictures of samples: images as images, 2-D points on a scatter of their set, sequences as lines,
other feature vectors as bars. Used by the dataset preview and the Evaluate tab."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pyqtgraph as pg

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
MIN_FLAT_IMAGE = 64  # flat vectors of a square length from 8×8 up are drawn as images
Picture = Literal["image", "point", "sequence", "features"]


def picture_kind(x: np.ndarray) -> Picture:
    """How samples of the array ``x`` (first axis: samples) are best drawn."""
    shape = x.shape[1:]
    if len(shape) == 3 or (len(shape) == 1 and as_square(shape[0]) is not None):
        return "image"
    if len(shape) == 2:
        return "sequence"
    if len(shape) == 1 and shape[0] <= 2:
        return "point"
    return "features"


def as_square(n: int) -> tuple[int, int] | None:
    side = math.isqrt(n)
    return (side, side) if n >= MIN_FLAT_IMAGE and side * side == n else None


def as_image(sample: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 3) or a flat square vector as a 2-D (or RGB) array for an ImageItem."""
    if sample.ndim == 1:
        side = as_square(len(sample))
        assert side is not None
        return sample.reshape(side)
    if sample.ndim == 3 and sample.shape[-1] == 1:
        return sample[..., 0]
    if sample.ndim == 3 and sample.shape[-1] != 3:
        return sample.mean(axis=-1)
    return sample


def reset(plot: pg.PlotWidget) -> None:
    plot.clear()
    box = plot.getViewBox()
    box.invertY(False)
    box.setAspectLocked(False)
    for side in ("left", "bottom"):
        plot.showAxis(side)
        plot.getAxis(side).setTicks(None)
        plot.setLabel(side, "")


def show_image(plot: pg.PlotWidget, image: np.ndarray) -> None:
    plot.addItem(pg.ImageItem(image, axisOrder="row-major"))
    plot.getViewBox().invertY(True)
    plot.getViewBox().setAspectLocked(True)
    plot.hideAxis("left")
    plot.hideAxis("bottom")


def draw_sample(
    plot: pg.PlotWidget,
    x: np.ndarray,
    y: np.ndarray,
    index: int,
    classes: int,
    predicted: float | None = None,
) -> str:
    """Draw sample ``index`` of ``x`` on ``plot``; returns a caption saying what is shown.

    Points are drawn on a faint scatter of the whole set (by class, or x against y for one
    feature); a regression's ``predicted`` value is drawn beside the true one."""
    kind = picture_kind(x)
    sample = x[index]
    if kind == "image":
        image = as_image(sample)
        items = plot.getPlotItem().items
        shown = items[0] if len(items) == 1 and isinstance(items[0], pg.ImageItem) else None
        if shown is not None and shown.image is not None and shown.image.shape == image.shape:
            shown.setImage(image)  # the same frame: a new item re-laid the plot (~10 ms)
        else:
            reset(plot)
            show_image(plot, image)
        return f"sample {index} as an image ({'×'.join(map(str, image.shape[:2]))})"
    reset(plot)
    if kind == "sequence":
        steps = np.arange(len(sample))
        for f in range(min(sample.shape[1], len(PALETTE))):
            plot.plot(steps, sample[:, f], pen=pg.mkPen(PALETTE[f], width=1.5))
        plot.setLabel("bottom", "time step")
        if predicted is not None and not classes:
            _true_and_predicted(plot, len(sample), float(y[index]), predicted)
            return (
                f"sample {index}: a sequence of {len(sample)} steps; after it the true next "
                "value (green dot) and the prediction (red ×)"
            )
        return f"sample {index}: a sequence of {len(sample)} steps"
    if kind == "point":
        if x.shape[1] == 2:
            _scatter(plot, x[:, 0], x[:, 1], y if classes else None)
            _highlight(plot, sample[0], sample[1])
            plot.setLabel("bottom", "feature 1")
            plot.setLabel("left", "feature 2")
            return f"sample {index} (ringed) among the test samples"
        _scatter(plot, x[:, 0], y, None)
        _highlight(plot, sample[0], float(y[index]))
        plot.setLabel("bottom", "x")
        plot.setLabel("left", "y")
        if predicted is not None and not classes:
            _true_and_predicted(plot, sample[0], float(y[index]), predicted)
            return (
                f"sample {index} (ringed) among the test samples: true value (green dot), "
                "prediction (red ×)"
            )
        return f"sample {index} (ringed) among the test samples"
    bars = pg.BarGraphItem(x=np.arange(len(sample)), height=sample, width=0.7, brush=PALETTE[0])
    plot.addItem(bars)
    plot.setLabel("bottom", "feature")
    return f"sample {index}: its {len(sample)} feature values"


def _scatter(
    plot: pg.PlotWidget, xs: np.ndarray, ys: np.ndarray, labels: np.ndarray | None
) -> None:
    if labels is None:
        plot.plot(xs, ys, pen=None, symbol="o", symbolSize=4, symbolBrush="#9e9e9e", symbolPen=None)
        return
    for k in np.unique(labels.astype(int)):
        pts = labels.astype(int) == k
        plot.plot(
            xs[pts],
            ys[pts],
            pen=None,
            symbol="o",
            symbolSize=5,
            symbolBrush=pg.mkBrush(pg.mkColor(PALETTE[k % len(PALETTE)]).lighter(150)),
            symbolPen=None,
        )


def _highlight(plot: pg.PlotWidget, x: float, y: float) -> None:
    plot.plot(
        [x],
        [y],
        pen=None,
        symbol="o",
        symbolSize=14,
        symbolBrush=None,
        symbolPen=pg.mkPen("#000000", width=2.5),
    )


def _true_and_predicted(plot: pg.PlotWidget, x: float, truth: float, predicted: float) -> None:
    plot.plot(
        [x],
        [truth],
        pen=None,
        symbol="o",
        symbolSize=9,
        symbolBrush="#2ca02c",
        symbolPen=None,
        name="true",
    )
    plot.plot(
        [x],
        [predicted],
        pen=None,
        symbol="x",
        symbolSize=12,
        symbolBrush="#d62728",
        symbolPen=pg.mkPen("#d62728", width=2),
        name="predicted",
    )


def draw_preview(plot: pg.PlotWidget, data: Any) -> str:
    """A sample of a dataset's training part: a scatter by class, 8 images, 5 sequences or
    x against y. Returns what the images show ("shown: 5, 3, 1 …"), else ''."""
    reset(plot)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    shown = ""
    x, y = data.x_train, data.y_train
    if x.ndim == 2 and x.shape[1] == 2 and data.class_names:
        for k, _name in enumerate(data.class_names):
            pts = x[y == k]
            plot.plot(
                pts[:, 0],
                pts[:, 1],
                pen=None,
                symbol="o",
                symbolSize=5,
                symbolBrush=PALETTE[k % len(PALETTE)],
                symbolPen=None,
            )
    elif x.ndim == 4 or (x.ndim == 2 and data.class_names and as_square(x.shape[1])):
        side = as_square(x.shape[1]) if x.ndim == 2 else None
        images = x if side is None else x.reshape(-1, *side, 1)
        count = min(8, len(images))
        rows = [
            np.concatenate(list(images[r : r + 4]), axis=1)
            for r in (0, 4)
            if r < count and len(images[r : r + 4]) == 4
        ]
        montage = np.concatenate(rows, axis=0) if rows else images[0]
        if montage.shape[-1] == 1:
            montage = montage[..., 0]
        item = pg.ImageItem(montage, axisOrder="row-major")
        plot.addItem(item)
        plot.getViewBox().invertY(True)
        plot.getViewBox().setAspectLocked(True)
        names = ", ".join(data.class_names[int(v)] for v in y[:count]) if data.class_names else ""
        shown = f"shown: {names}"
    elif x.ndim == 3:
        for i in range(min(5, len(x))):
            plot.plot(x[i, :, 0], pen=pg.mkPen(PALETTE[i], width=1))
    elif x.ndim == 2 and x.shape[1] == 1:
        plot.plot(
            x[:, 0],
            y,
            pen=None,
            symbol="o",
            symbolSize=5,
            symbolBrush=PALETTE[0],
            symbolPen=None,
        )
    plot.autoRange()
    return shown
