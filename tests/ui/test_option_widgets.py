"""Panel fields take range and precision from the registry: nothing rounded or clipped silently."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dropout_studio.core.project import TRAINING_OPTIONS, load_preset
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
