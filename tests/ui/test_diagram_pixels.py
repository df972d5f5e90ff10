"""Dropout on pixels: Flatten's and an image Input's masks are drawn unit by unit, as a picture."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from dropout_studio.core.project import load_preset
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec
from dropout_studio.ui.diagram import NetworkDiagram
from dropout_studio.ui.diagram_marks import displayed_layers


@pytest.fixture
def view(qtbot):
    def make(network: NetworkSpec, width: int = 1000, height: int = 560) -> NetworkDiagram:
        diagram = NetworkDiagram()
        qtbot.addWidget(diagram)
        diagram.resize(width, height)
        diagram.show()
        diagram.set_network(network)
        return diagram

    return make


def mask(shape: tuple[int, ...], rate: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) >= rate).astype("float32")


def record(last: np.ndarray, step: int = 4) -> dict:
    return {"last_mask": last, "drop_frequency": 1.0 - last, "step": step, "mode": "dropout"}


@pytest.mark.parametrize(("width", "height"), [(720, 330), (1060, 300), (1860, 560)])
def test_mnist_classic_flatten_dropout_draws_784_pixels_as_28_by_28(view, width, height):
    network = load_preset("mnist-classic").network
    assert 1 in displayed_layers(network)  # Flatten carries the 20 % input dropout
    diagram = view(network, width, height)
    last = mask((784,), 0.2)
    diagram.set_masks({"flatten_2_dropout": record(last)}, 4)
    item = next(c for c in diagram.columns if c.marks.name == "flatten_2")
    assert item.marks.count == 784
    assert item.more == 0
    assert (item.columns, item.grid_rect.height() // item.cell) == (28, 28)
    np.testing.assert_array_equal(item.marks.keep, last)
    dropped = int((last == 0).sum())
    assert f"dropped {dropped}/784" in item.marks.caption
    assert "row 1, column 1" in item.marks.tooltip(0)


def test_flatten_without_dropout_stays_hidden():
    assert 1 not in displayed_layers(load_preset("mlp-classic").network)


def test_dropout_on_an_image_input_is_drawn_pixel_by_pixel(view):
    network = NetworkSpec(
        (
            LayerSpec.make("Input", DropoutSpec("dropout", 0.3), shape=(12, 12, 1)),
            LayerSpec.make("Flatten"),
            LayerSpec.make("Dense", units=10),
        )
    )
    diagram = view(network)
    last = mask((12, 12, 1), 0.3, seed=2)
    diagram.set_masks({"input_1_dropout": record(last)}, 4)
    item = diagram.columns[0]
    assert item.marks.count == 144  # every pixel, not one averaged channel
    assert item.marks.image == (12, 12)
    np.testing.assert_array_equal(item.marks.keep, last.reshape(-1))
    assert set(np.unique(item.marks.keep)) <= {0.0, 1.0}


def test_presentation_grids_use_the_height(view):
    """3 × 1,024 units in a projector-sized short diagram: cells stay visible, no strips."""
    stack = [LayerSpec.make("Input", shape=(1024,))]
    stack += [LayerSpec.make("Dense", DropoutSpec("dropout", 0.5), units=1024) for _ in range(3)]
    network = NetworkSpec((*stack, LayerSpec.make("Dense", units=10)))
    diagram = view(network, 1060, 330)
    diagram.set_presentation(True)
    for item in diagram.columns[1:4]:
        assert item.more == 0
        assert item.cell >= 4, item.cell
        rows = item.grid_rect.height() / item.cell
        assert rows >= 8, rows
    legend_top = min(
        i.sceneBoundingRect().top()
        for i in diagram.scene().items()
        if type(i).__name__ == "LegendItem"
    )
    bottoms = [QRectF(c.sceneBoundingRect()).bottom() for c in diagram.columns]
    assert legend_top - max(bottoms) < 70  # no band of empty space above the legend
