"""The Inside tab at laptop sizes: titles that wrap instead of being clipped, every sparsity row
visible, layers named as the stack names them, and a features panel that is never empty."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel, QScrollArea

from dropout_studio.core.project import load_preset
from dropout_studio.ui.inside import InsideReport, InsideView
from dropout_studio.ui.inside_pictures import stack_label, stack_labels


@dataclass
class _Activity:
    """Shaped like ``engine.analysis.LayerActivity``."""

    name: str
    zero_fraction: float
    mean_activation: float


def _report(features: np.ndarray | None, twin: bool = True, grid: bool = False) -> InsideReport:
    network = load_preset("mlp-classic").network
    labels = stack_labels(network)
    names = ["dense_3", "dense_4", "dense_5"]
    rng = np.random.default_rng(0)
    sparsity = [_Activity(n, 0.1 * k, 0.2) for k, n in enumerate(names)]
    plane = (np.linspace(0, 1, 5), np.linspace(0, 1, 4), rng.random(20)) if grid else None
    return InsideReport(
        class_names=[f"class {k}" for k in range(5)],
        sample_index=3,
        mc_mean=rng.random(5),
        mc_std=rng.random(5) * 0.1,
        grid=plane,
        sparsity=sparsity,
        correlations=rng.random((64, 64)),
        coadaptation=0.25,
        layer="dense_3",
        features=features,
        twin_sparsity=sparsity if twin else None,
        twin_correlations=rng.random((64, 64)) if twin else None,
        twin_coadaptation=0.2 if twin else None,
        twin_features=features if twin else None,
        labels=labels,
        feature_layer="dense_3",
    )


def test_layers_are_named_as_the_stack_shows_them():
    network = load_preset("mlp-classic").network
    labels = stack_labels(network)
    assert labels["dense_3"] == "layer 3 (Dense 64)"
    assert labels["flatten_2"] == "layer 2 (Flatten)"
    cnn = load_preset("cnn-classic").network
    assert stack_label(1, cnn.layers[1]) == "layer 2 (Conv2D 32)"
    assert stack_labels(None) == {}


def _titles_fit(view: InsideView) -> bool:
    """Every title has the height its wrapped text needs at its width (nothing clipped)."""
    titles: list[QLabel] = [p.title for p in (view.mc_panel, view.corr_panel, view.feature_panel)]
    return all(t.wordWrap() and t.height() >= t.heightForWidth(t.width()) for t in titles)


@pytest.mark.parametrize("size", [(900, 600), (1300, 800), (640, 380)])
def test_inside_tab_is_readable(qtbot, size):
    """In a scrolling tab page as the window has it (``PageTabs``), at 3 sizes."""
    view = InsideView()
    page = QScrollArea()
    page.setWidgetResizable(True)
    page.setWidget(view)
    qtbot.addWidget(page)
    page.resize(*size)
    page.show()
    qtbot.waitExposed(page)
    view.show_report(_report(np.random.default_rng(1).random((64, 32, 32))))
    qtbot.waitUntil(lambda: view.table.height() > 3 * view.table.rowHeight(0))
    qtbot.waitUntil(lambda: _titles_fit(view))  # once the layout has taken the new titles
    assert "mean ± std" in view.mc_panel.title.text()
    table = view.table
    assert table.rowCount() == 3
    rows = sum(table.rowHeight(r) for r in range(3))
    # every row shows, no scrolling inside the table (once the layout has settled)
    qtbot.waitUntil(lambda: table.viewport().height() >= rows)
    assert [table.item(r, 0).text() for r in range(3)] == [
        "layer 3 (Dense 64)",
        "layer 4 (Dense 32)",
        "layer 5 (Dense 5)",
    ]
    assert "layer 3 (Dense 64)" in view.summary.text()
    assert "dense_3" not in view.summary.text()
    assert "layer 3 (Dense 64)" in view.corr_panel.toolTip()
    for panel in (view.mc_panel, view.corr_panel, view.feature_panel):
        assert panel.plot.height() >= 100  # below that the page scrolls
    assert not view.map_panel.isVisible()  # the digits are not 2-D: no empty map panel


def test_two_d_data_shows_the_uncertainty_map(qtbot):
    view = InsideView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.show_report(_report(np.random.default_rng(1).random((8, 4, 4)), grid=True))
    assert view.map_panel.isVisible()
    assert view.map_plot.getPlotItem().items
    assert "entropy" in view.map_panel.title.text()


def test_features_panel_shows_weights_when_the_input_is_no_image(qtbot):
    """2-D points or sequences: the first layer's weight matrix, one row per unit."""
    view = InsideView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    weights = np.random.default_rng(2).normal(size=(64, 2))
    view.show_report(_report(weights, twin=False))
    items = view.feature_plot.getPlotItem().items
    assert len(items) == 1
    image = items[0].image
    assert image.shape == (64, 2)
    assert 0.0 <= image.min()
    assert image.max() <= 1.0
    assert "layer 3 (Dense 64)" in view.feature_panel.title.text()
    view.clear()
    assert not view.feature_plot.getPlotItem().items
    assert view.table.rowCount() == 0


class _Variable(np.ndarray):
    """A named weight, as Keras variables are (``name`` without the layer's path)."""

    def __new__(cls, values, name):
        out = np.asarray(values, dtype=float).view(cls)
        out.name = name
        return out


class _Layer:
    def __init__(self, name, trainable, non_trainable=()):
        self.name = name
        self.trainable_weights = list(trainable)
        self.weights = [*non_trainable, *trainable]

    def get_weights(self):
        return [np.asarray(w) for w in self.weights]

    def __call__(self, x, training=False):
        return x


class _Model:
    def __init__(self, layers):
        self.layers = layers


@pytest.mark.slow  # imports the engine (Keras)
def test_first_layer_weights_skip_masks_and_biases():
    """A recording layer keeps its dropout masks as (non-trainable) weights listed first; the
    picture must show the kernel, never a mask."""
    from dropout_studio.ui.inside import _first_layer_picture

    kernel = np.arange(2 * 6, dtype=float).reshape(2, 6)
    mask = _Variable(np.ones(6), "last_mask")
    dropout = _Layer("input_1_dropout", [], [mask])
    lstm = _Layer("lstm_2", [_Variable(np.zeros(6), "bias"), _Variable(kernel, "kernel")], [mask])
    picture, layer = _first_layer_picture(_Model([dropout, lstm]), (5, 2))
    assert layer == "lstm_2"
    np.testing.assert_array_equal(picture, kernel.T)


@pytest.mark.parametrize("tab", [(717, 296), (1028, 299), (1100, 480)])
def test_inside_fits_a_short_tab_without_scrolling(qtbot, tab):
    """A laptop's or a projector's 300 px centre tab: one row of plots and the table."""
    from dropout_studio.ui.window_layout import scrolled

    view = InsideView()
    area = scrolled(view)
    qtbot.addWidget(area)
    area.resize(*tab)
    area.show()
    qtbot.waitExposed(area)
    view.show_report(_report(np.random.default_rng(1).random((64, 32, 32))))
    qtbot.waitUntil(lambda: _titles_fit(view))
    qtbot.waitUntil(lambda: not area.verticalScrollBar().isVisible())
    assert view.compact
    assert not area.horizontalScrollBar().isVisible()
    for panel in (view.mc_panel, view.corr_panel, view.feature_panel):
        assert panel.plot.height() >= 100
        assert view.rect().contains(panel.geometry())


@pytest.mark.parametrize("tab", [(717, 380), (1000, 380)])
def test_inside_plots_use_a_380px_tab(qtbot, tab):
    """Short titles (one or two lines): the plots get the height, not the words."""
    from dropout_studio.ui.window_layout import scrolled

    view = InsideView()
    area = scrolled(view)
    qtbot.addWidget(area)
    area.resize(*tab)
    area.show()
    qtbot.waitExposed(area)
    view.show_report(_report(np.random.default_rng(1).random((64, 32, 32))))
    qtbot.waitUntil(lambda: _titles_fit(view))
    line = view.mc_panel.title.fontMetrics().lineSpacing()
    for panel in (view.mc_panel, view.corr_panel, view.feature_panel):
        qtbot.waitUntil(lambda panel=panel: panel.plot.height() >= 200)
        assert panel.title.height() <= 3 * line + 2, panel.title.text()
        assert len(panel.title.text()) <= 50
