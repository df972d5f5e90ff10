"""The network diagram: every unit drawn from the recorded masks, legible, and cheap to update."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF
from PySide6.QtWidgets import QGraphicsSceneHoverEvent, QGraphicsTextItem

from dropout_studio.core.project import load_preset
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec
from dropout_studio.ui.diagram import NetworkDiagram
from dropout_studio.ui.unit_grid import LayerItem, LegendItem


def wide_stack(units: int = 1024, layers: int = 3) -> NetworkSpec:
    stack = [LayerSpec.make("Input", shape=(units,))]
    stack += [
        LayerSpec.make("Dense", DropoutSpec("dropout", 0.5), units=units) for _ in range(layers)
    ]
    return NetworkSpec((*stack, LayerSpec.make("Dense", units=10)))


def records(network: NetworkSpec, step: int, mode: str = "dropout") -> dict:
    """Arrays shaped like ``engine.layers.read_masks`` gives them (tests have no TensorFlow)."""
    rng = np.random.default_rng(step)
    report = infer(network)
    out = {}
    for i, layer in enumerate(network.layers):
        if layer.dropout.active:
            shape = report.layers[i].output_shape
            units = shape[-1]
            if mode == "gaussian":
                mask = rng.normal(1.0, 0.6, units).astype("float32")
            else:
                mask = (rng.random(units) >= layer.dropout.rate).astype("float32")
            name = f"{layer.kind.lower()}_{i + 1}_dropout"
            out[name] = {
                "last_mask": mask,
                "drop_frequency": np.full(units, layer.dropout.rate),
                "step": step,
                "mode": layer.dropout.type if mode == "dropout" else mode,
            }
    return out


@pytest.fixture
def diagram(qtbot):
    def make(network: NetworkSpec, width: int = 1000, height: int = 560) -> NetworkDiagram:
        view = NetworkDiagram()
        qtbot.addWidget(view)
        view.resize(width, height)
        view.show()
        view.set_network(network)
        return view

    return make


def layer_item(view: NetworkDiagram, name: str) -> LayerItem:
    return next(item for item in view.columns if item.marks.name == name)


def test_every_unit_of_a_wide_layer_is_drawn_from_its_mask(diagram):
    network = wide_stack()
    view = diagram(network)
    masks = records(network, 3)
    view.set_masks(masks, 3)
    for name in ("dense_2", "dense_3", "dense_4"):
        drawn = [unit.data(0) for unit in view.unit_items[name]]
        np.testing.assert_array_equal(drawn, masks[f"{name}_dropout"]["last_mask"])
        item = layer_item(view, name)
        assert item.more == 0  # no "+N more": all 1,024 are in the grid
        assert item.cell >= 2
        assert item.columns * (item.grid_rect.height() // item.cell) >= 1024


def test_one_graphics_item_per_layer_not_per_unit(diagram):
    view = diagram(wide_stack())
    view.set_masks(records(view.network, 1), 1)
    assert len(view.scene().items()) < 40  # 3,072 units + inputs, a dozen labels


def test_tooltip_maps_the_point_under_the_cursor_to_its_unit(diagram):
    network = wide_stack()
    view = diagram(network)
    masks = records(network, 5)
    view.set_masks(masks, 5)
    item = layer_item(view, "dense_3")
    mask = masks["dense_3_dropout"]["last_mask"]
    unit = int(np.flatnonzero(mask == 0)[-1])  # a dropped unit far down the grid
    row, col = divmod(unit, item.columns)
    local = item.grid_rect.topLeft() + QPointF((col + 0.5) * item.cell, (row + 0.5) * item.cell)
    scene_pos = item.mapToScene(local)
    assert view.unit_at(scene_pos) == ("dense_3", unit)
    text = view.tooltip_at(scene_pos)
    assert f"layer 3 (Dense), unit {unit + 1} of 1,024: dropped in step 5" in text
    assert "dropped in 50.0% of samples so far" in text
    circle = item.mapToScene(item.centres[0])
    assert view.unit_at(circle) == ("dense_3", 0)
    assert view.tooltip_at(QPointF(-50, -50)) == ""


def test_spatial_dropout_shows_every_channel(diagram):
    network = load_preset("cnn-classic").network
    view = diagram(network)
    masks = records(network, 2)
    view.set_masks(masks, 2)
    conv = layer_item(view, "conv2d_4")
    assert conv.marks.count == 64
    assert conv.marks.style == "spatial"
    assert "channels dropped" in conv.marks.caption
    assert "channel 1 of 64" in view.unit_items["conv2d_4"][0].toolTip()


def test_gaussian_noise_is_drawn_as_intensity_and_drops_nothing(diagram):
    network = load_preset("mlp-classic").network
    layers = list(network.layers)
    layers[2] = replace(layers[2], dropout=DropoutSpec("gaussian", 0.3))
    network = replace(network, layers=tuple(layers))
    view = diagram(network)
    view.set_masks(records(network, 4, mode="gaussian"), 4)
    units = view.unit_items["dense_3"]
    assert {u.data(0) for u in units} == {1.0}
    assert "Gaussian noise, nothing dropped" in units[0].toolTip()


def test_inference_shows_every_unit_active(diagram):
    view = diagram(wide_stack(64))
    view.set_masks(records(view.network, 1), 1)
    view.set_inference(True)
    assert {u.data(0) for units in view.unit_items.values() for u in units} == {1.0}


def text_items(view: NetworkDiagram) -> list[QGraphicsTextItem]:
    return [i for i in view.scene().items() if isinstance(i, QGraphicsTextItem)]


@pytest.mark.parametrize(("width", "height"), [(500, 300), (860, 440), (1366, 768)])
@pytest.mark.parametrize("preset", ["mlp-classic", "cnn-classic", "lstm-sequence"])
def test_labels_are_unscaled_and_nothing_overlaps(diagram, preset, width, height):
    network = load_preset(preset).network
    view = diagram(network, width, height)
    view.set_masks(records(network, 7), 7)
    assert view.transform().isIdentity()  # labels are drawn at their point size
    for item in view.columns:  # every unit is drawn, as a circle or in a grid
        assert item.more == 0
        assert len(item.centres) == item.marks.count or item.grid_rect.height() >= item.cell > 0
    labels = text_items(view)
    assert all(label.font().pointSizeF() >= 9 for label in labels)
    scene = view.scene().sceneRect()
    boxes = [i.sceneBoundingRect() for i in labels if i.toPlainText()]
    boxes += [c.sceneBoundingRect() for c in view.columns]
    legend = next(i for i in view.scene().items() if isinstance(i, LegendItem))
    boxes.append(legend.sceneBoundingRect())
    for k, box in enumerate(boxes):
        assert scene.contains(box), f"{box} outside {scene}"
        for other in boxes[k + 1 :]:
            overlap: QRectF = box.intersected(other)
            assert overlap.width() * overlap.height() < 4, (box, other)


def test_presentation_mode_enlarges_the_labels(diagram):
    view = diagram(load_preset("mlp-classic").network)
    view.set_presentation(True)
    assert min(label.font().pointSizeF() for label in text_items(view)) >= 14
    view.set_presentation(False)
    assert min(label.font().pointSizeF() for label in text_items(view)) >= 9


def test_never_smaller_than_a_usable_size():
    view = NetworkDiagram()
    assert view.minimumSize().width() >= 500
    assert view.minimumSize().height() >= 300


def test_updating_three_wide_layers_costs_a_few_milliseconds(diagram):
    view = diagram(wide_stack(), 1366, 640)
    snapshots = [records(view.network, step) for step in range(1, 42)]
    view.set_masks(snapshots[0], 0)  # layout once
    times = []
    for step, masks in enumerate(snapshots[1:], start=1):
        start = time.perf_counter()
        view.set_masks(masks, step)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"3 × 1,024-unit mask update: median {median * 1000:.2f} ms")
    assert median < 0.010  # ~1 ms here; generous for a loaded 2-core machine


def test_hovering_a_grid_cell_sets_that_units_tooltip(diagram):
    network = wide_stack(256, 1)
    view = diagram(network)
    view.set_masks(records(network, 9), 9)
    item = layer_item(view, "dense_2")
    row, col = divmod(200, item.columns)
    event = QGraphicsSceneHoverEvent(QEvent.Type.GraphicsSceneHoverMove)
    event.setPos(
        item.grid_rect.topLeft() + QPointF((col + 0.5) * item.cell, (row + 0.5) * item.cell)
    )
    item.hoverMoveEvent(event)
    assert item.toolTip().startswith("layer 2 (Dense), unit 201 of 256: ")
