"""Panel fields take range and precision from the registry: nothing rounded or clipped silently."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from PySide6.QtWidgets import QAbstractSpinBox

from dropout_studio.core.datasets import DATASET_FIELDS
from dropout_studio.core.project import TRAINING_OPTIONS, load_preset, load_project
from dropout_studio.core.spec import DROPOUT_RATE, L2
from dropout_studio.ui.option_widgets import float_spin, int_spin


@pytest.mark.parametrize(("value", "text"), [(0.125, "0.125"), (1e-06, "1e-06"), (0.5, "0.5")])
def test_float_fields_show_every_digit_the_value_has(qtbot, value, text):
    spin = float_spin(TRAINING_OPTIONS["learning_rate"])
    qtbot.addWidget(spin)
    spin.setValue(value)
    assert spin.text() == text
    assert spin.value() == value


def test_int_fields_have_the_registry_range(qtbot):
    spin = int_spin(TRAINING_OPTIONS["seed"])
    qtbot.addWidget(spin)
    assert (spin.minimum(), spin.maximum()) == (0, 2**31 - 1)


def test_training_and_dataset_panels_keep_precise_values(make_window):
    project = load_preset("mlp-classic")
    window = make_window("mlp-classic", engine_ready=False)
    precise = replace(
        project,
        training=replace(project.training, learning_rate=1e-6, epochs=1_000_000),
        dataset=replace(project.dataset, validation_split=0.125, test_split=0.0),
    )
    window.files.replace_project(precise)
    training, data = window.training_panel, window.dataset_panel
    assert training.learning_rate.text() == "1e-06"
    assert training.epochs.value() == 1_000_000
    assert data.validation.text() == "0.125"
    data.validation.editingFinished.emit()  # committing shows no change: nothing was rounded
    training.learning_rate.editingFinished.emit()
    assert window.document.project.dataset.validation_split == 0.125
    assert window.document.project.training.learning_rate == 1e-6


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (DROPOUT_RATE, 0.99995),
        (DROPOUT_RATE, 0.1234567890123456),
        (L2, 1.5e-13),
        (TRAINING_OPTIONS["learning_rate"], 1.2345678901234e-5),
        (DATASET_FIELDS["validation_split"], 0.123456789012345),
    ],
)
def test_a_value_the_loader_accepts_is_kept_to_the_last_digit(qtbot, option, value):
    spin = float_spin(option)
    qtbot.addWidget(spin)
    spin.setValue(value)
    spin.interpretText()  # what leaving the field does: re-read the text shown
    assert spin.value() == value
    assert float(spin.text()) == value


def test_an_exclusive_maximum_is_the_largest_float_below_it(qtbot):
    spin = float_spin(DROPOUT_RATE)
    qtbot.addWidget(spin)
    assert spin.maximum() == math.nextafter(1.0, 0.0)
    assert DROPOUT_RATE.parse(spin.maximum()) == spin.maximum()  # the loader accepts it


PRECISE = {
    "format": "dropout-studio-project",
    "version": 1,
    "name": "precise",
    "dataset": {
        "source": "synthetic",
        "name": "moons",
        "validation_split": 0.123456789012345,
        "test_split": 0.2,
    },
    "layers": [
        {"kind": "Input", "shape": [2]},
        {
            "kind": "Dense",
            "units": 8,
            "dropout": {"type": "dropout", "rate": 0.99995},
            "l2": 1.5e-13,
        },
        {
            "kind": "Dense",
            "units": 2,
            "activation": "softmax",
            "dropout": {"type": "dropout", "rate": 0.1234567890123456},
        },
    ],
    "training": {"learning_rate": 1.2345678901234e-5, "epochs": 5},
}


def _leave(spin) -> None:
    """What tabbing out of a field does: Qt re-reads the text, then the field commits."""
    spin.interpretText()
    spin.editingFinished.emit()


def test_load_then_tab_through_every_field_then_save_gives_the_same_project(make_window, tmp_path):
    (tmp_path / "in.json").write_text(json.dumps(PRECISE))
    project = load_project(tmp_path / "in.json")
    window = make_window(engine_ready=False)
    window.files.replace_project(project)
    props = window.properties
    for index in range(len(project.network.layers)):
        window.stack_editor.select(index)
        fields = [props.rate_spin, props.input_dropout, props.recurrent_dropout, props.l2]
        fields += [w for w in props.option_widgets.values() if isinstance(w, QAbstractSpinBox)]
        for spin in fields:
            if spin.isEnabled():  # Tab skips a disabled field
                _leave(spin)
    for panel in (window.training_panel, window.dataset_panel):
        for spin in panel.findChildren(QAbstractSpinBox):
            if spin.isEnabled():
                _leave(spin)
    window.files.save_to(tmp_path / "out.json")
    assert load_project(tmp_path / "out.json") == project


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("rate_spin", "0.99995", lambda layer: layer.dropout.rate),
        ("l2", "1.5e-13", lambda layer: layer.l2),
        ("l2", "3.3333333333333335", lambda layer: layer.l2),
    ],
)
def test_a_typed_value_is_stored_as_typed_and_nothing_else_changes(
    make_window, qtbot, field, typed, stored
):
    window = make_window(engine_ready=False)
    layers = window.document.project.network.layers
    index = next(i for i, layer in enumerate(layers) if layer.kind == "Dense")
    window.stack_editor.select(index)
    before = layers[index]
    spin = getattr(window.properties, field)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), typed)
    _leave(spin)
    after = window.document.project.network.layers[index]
    assert stored(after) == float(typed)
    others = {"rate_spin": ("l2",), "l2": ("dropout",)}[field]
    for name in (*others, "input_dropout", "recurrent_dropout"):
        assert getattr(after, name) == getattr(before, name)
