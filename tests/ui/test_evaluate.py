"""Classifier outputs are shown as probabilities, also when the last layer emits logits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from dropout_studio.core.document import replace_layer
from dropout_studio.core.project import load_preset
from dropout_studio.ui.evaluate import (
    EvaluatePanel,
    output_is_probability,
    probabilities,
    with_probabilities,
)


@dataclass
class _Evaluation:
    """Shaped like ``engine.evaluate.Evaluation`` (importing it would import TensorFlow)."""

    predictions: np.ndarray
    confusion: np.ndarray | None
    metrics: dict = field(default_factory=lambda: {"accuracy": 1.0})


class _Data:
    x_test = np.zeros((2, 3))
    y_test = np.array([1, 0])
    class_names = ("a", "b", "c")


def logits_project():
    project = load_preset("mlp-classic")
    last = project.network.layers[-1].with_options(activation="linear")
    return replace_layer(project, len(project.network.layers) - 1, last)


def test_softmax_and_sigmoid():
    p = probabilities(np.array([[2.0, 0.0, -1.0]]))
    assert p.sum() == pytest.approx(1.0)
    assert p.argmax() == 0
    assert probabilities(np.array([[0.0]]))[0, 0] == pytest.approx(0.5)


def test_logits_become_probabilities_in_the_evaluate_tab(qtbot):
    project = logits_project()
    assert not output_is_probability(project)
    assert output_is_probability(load_preset("mlp-classic"))
    raw = _Evaluation(np.array([[3.0, 9.0, -2.0], [4.0, 1.0, 0.0]]), np.eye(3, dtype=int))
    shown = with_probabilities(raw, project)
    np.testing.assert_allclose(shown.predictions.sum(axis=1), 1.0)
    panel = EvaluatePanel()
    qtbot.addWidget(panel)
    panel.show_evaluation(_Data(), shown)
    text = panel.prediction.text()
    assert "predicted b 99.8%" in text  # not "b 900.0%"
    assert with_probabilities(raw, load_preset("mlp-classic")) is raw


class _Set:
    """Shaped like ``engine.data.Dataset``'s test part."""

    def __init__(self, x, y, names=()):
        self.x_test, self.y_test, self.class_names = np.asarray(x), np.asarray(y), list(names)


def _panel(qtbot, data, predictions, confusion, size=(380, 700)):
    panel = EvaluatePanel()
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_evaluation(data, _Evaluation(np.asarray(predictions, dtype=float), confusion))
    return panel


def _items(panel, kind):
    return [i for i in panel.picture.getPlotItem().items if isinstance(i, kind)]


def test_the_chosen_sample_is_drawn_as_an_image(qtbot):
    import pyqtgraph as pg

    rng = np.random.default_rng(0)
    x = rng.random((6, 64))  # digits: 8×8 images, flattened
    names = [str(k) for k in range(10)]
    panel = _panel(qtbot, _Set(x, [1, 2, 3, 4, 5, 6], names), np.eye(10)[:6], np.eye(10, dtype=int))
    panel.sample.setValue(4)
    (image,) = _items(panel, pg.ImageItem)
    np.testing.assert_allclose(image.image, x[4].reshape(8, 8))
    assert "image (8×8)" in panel.picture_caption.text()
    panel.sample.setValue(2)  # another image of the same size: the same item, new pixels
    assert _items(panel, pg.ImageItem) == [image]
    np.testing.assert_allclose(image.image, x[2].reshape(8, 8))
    colour = _Set(rng.random((3, 32, 32, 3)), [0, 1, 2], names[:3])
    panel.show_evaluation(colour, _Evaluation(np.eye(3), np.eye(3, dtype=int)))
    (image,) = _items(panel, pg.ImageItem)
    assert image.image.shape == (32, 32, 3)


def test_a_two_d_sample_is_a_ringed_point_on_the_scatter(qtbot):
    import pyqtgraph as pg

    x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]])
    panel = _panel(qtbot, _Set(x, [0, 1, 1], ["a", "b"]), [[0.9, 0.1]] * 3, np.eye(2, dtype=int))
    panel.sample.setValue(1)
    curves = _items(panel, pg.PlotDataItem)
    ring = curves[-1]  # drawn last, on top
    xs, ys = ring.getData()
    assert (xs[0], ys[0]) == (1.0, 2.0)
    assert sum(len(c.getData()[0]) for c in curves[:-1]) == 3  # the whole test set beneath


def test_a_sequence_sample_is_a_line_with_truth_and_prediction(qtbot):
    import pyqtgraph as pg

    x = np.sin(np.linspace(0, 3, 20))[None, :, None] * np.ones((4, 1, 1))
    panel = _panel(qtbot, _Set(x, [0.1, 0.2, 0.3, 0.4]), [[0.5]] * 4, None)
    curves = _items(panel, pg.PlotDataItem)
    assert len(curves[0].getData()[0]) == 20
    assert [c.name() for c in curves[1:]] == ["true", "predicted"]
    assert "prediction" in panel.picture_caption.text()


def test_confusion_matrix_has_true_and_predicted_axis_titles(qtbot):
    names = [str(k) for k in range(10)]
    panel = _panel(
        qtbot, _Set(np.zeros((3, 64)), [0, 1, 2], names), np.eye(10)[:3], np.eye(10, dtype=int)
    )
    qtbot.waitUntil(lambda: panel.matrix.isVisible() and panel.true_title.isVisible())
    assert "predicted" in panel.predicted_title.text()
    assert "true" in panel.true_title.text()
    matrix = panel.matrix.geometry()
    above, left = panel.predicted_title.geometry(), panel.true_title.geometry()
    assert above.bottom() <= matrix.top()
    assert abs(above.center().x() - matrix.center().x()) < 30
    assert left.right() <= matrix.left()
    assert abs(left.center().y() - matrix.center().y()) < 30
    assert left.height() > left.width()  # drawn upright along the rows
    assert panel.matrix.horizontalHeaderItem(3).text() == "3"


def test_regression_fills_the_panel_instead_of_floating(qtbot):
    x = np.linspace(-1, 1, 30)[:, None]
    panel = _panel(qtbot, _Set(x, x[:, 0] ** 2), x**2 + 0.1, None)
    assert not panel.matrix_box.isVisible()
    assert panel.picture.isVisible()
    qtbot.waitUntil(lambda: panel.picture.height() > 300)
    assert panel.picture_caption.geometry().bottom() > panel.height() - 40  # down to the edge
    assert panel.summary.geometry().top() < 20  # the text stays at the top
    assert "true value" in panel.prediction.text()
    panel.clear()
    assert not panel.picture.isVisible()


def test_the_matrix_is_drawn_in_the_next_turn_of_the_event_loop(qtbot):
    """A run's end comes in short pieces: the summary and sample at once, the matrix next."""
    from types import SimpleNamespace

    from dropout_studio.ui.evaluate import EvaluatePanel

    panel = EvaluatePanel()
    qtbot.addWidget(panel)
    rng = np.random.default_rng(0)
    data = SimpleNamespace(
        x_test=rng.random((40, 8, 8)),
        y_test=rng.integers(0, 3, 40),
        class_names=["a", "b", "c"],
    )
    confusion = np.array([[10, 2, 1], [0, 12, 3], [1, 1, 10]])
    evaluation = SimpleNamespace(
        metrics={"accuracy": 0.8}, confusion=confusion, predictions=rng.random((40, 3))
    )
    panel.show_evaluation(data, evaluation)
    assert "Test set (40 samples" in panel.summary.text()
    assert panel.prediction.text().startswith("sample 0: true class")
    assert panel.matrix.rowCount() == 0  # not in the same stall
    qtbot.waitUntil(lambda: panel.matrix.rowCount() == 3)
    assert panel.matrix.item(1, 2).text() == "3"
