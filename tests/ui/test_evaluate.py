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
