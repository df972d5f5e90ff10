"""Results shown of a model trained before the stack or dataset was edited say so: they still
describe that model (Analyse analyses it), not the stack the diagram now shows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from dropout_studio.core.document import replace_layer
from dropout_studio.core.spec import DropoutSpec
from dropout_studio.ui.training import TrainOutcome
from tests.ui.test_evaluate import _Data, _Evaluation
from tests.ui.test_inside_view import _report


def _edited(project):
    """The same project with the second layer's dropout rate changed (a network edit)."""
    layer = project.network.layers[1]
    return replace_layer(project, 1, layer.with_options(dropout=DropoutSpec("dropout", 0.05)))


def test_inside_and_evaluate_say_when_the_stack_changed_since_training(make_window):
    window = make_window("small-data")
    trained = window.document.project
    outcome = TrainOutcome(trained, SimpleNamespace(model=object()), None)
    window.training.last = outcome
    window.evaluate_panel.show_evaluation(_Data(), _Evaluation(np.eye(3), np.eye(3, dtype=int)))
    window.inside.on_trained(outcome)
    window.inside_view.show_report(_report(np.random.default_rng(1).random((64, 32, 32))))
    notes = (window.evaluate_panel.outdated, window.inside_view.outdated)
    assert all(note.isHidden() for note in notes)

    window.document.set_project(_edited(trained))
    assert not any(note.isHidden() for note in notes)
    assert "Train again" in window.evaluate_panel.outdated.text()

    window.document.set_project(trained)  # edited back (as undo does): current again
    assert all(note.isHidden() for note in notes)
