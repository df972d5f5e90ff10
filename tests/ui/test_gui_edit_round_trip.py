"""Invariant (b) through the GUI: whatever sequence of edits the widgets accept, what the app
saves (and autosaves) loads back as the same project. The edits drive the real widgets
(spin boxes, combo boxes, line edits, the stack editor), offscreen, engine not loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from dropout_studio.core.datasets import SOURCES
from dropout_studio.core.project import OPTIMIZERS, load_project
from dropout_studio.core.spec import DROPOUT_TYPES, LAYER_KINDS
from dropout_studio.ui.files import autosave_text, read_autosave

EDITS = st.one_of(
    st.tuples(st.just("rate"), st.integers(0, 9), st.floats(0, 0.9999)),
    st.tuples(st.just("dropout_type"), st.integers(0, 9), st.sampled_from(DROPOUT_TYPES)),
    st.tuples(st.just("l2"), st.integers(0, 9), st.sampled_from([0.0, 1e-6, 0.125, 3.3333333])),
    st.tuples(st.just("rnn"), st.integers(0, 9), st.floats(0, 0.9999)),
    st.tuples(st.just("option"), st.integers(0, 9), st.integers(0, 5), st.integers(0, 70000)),
    st.tuples(st.just("text"), st.integers(0, 9), st.sampled_from(["", "3", "2, 2", "x", "0"])),
    st.tuples(st.just("add"), st.sampled_from(sorted(LAYER_KINDS))),
    st.tuples(st.just("remove"), st.integers(0, 9)),
    st.tuples(st.just("move"), st.integers(0, 9), st.sampled_from([-1, 1])),
    st.tuples(st.just("source"), st.sampled_from(SOURCES)),
    st.tuples(st.just("splits"), st.floats(0, 0.7), st.floats(0, 0.7)),
    st.tuples(st.just("train_size"), st.integers(0, 5000)),
    st.tuples(st.just("path"), st.sampled_from(["", "data.csv", "x/../y.npz", "a\tb"])),
    st.tuples(
        st.just("training"),
        st.sampled_from(["epochs", "batch_size", "seed"]),
        st.integers(0, 2**31),
    ),
    st.tuples(st.just("learning_rate"), st.floats(0, 20)),
    st.tuples(st.just("optimizer"), st.sampled_from(OPTIMIZERS)),
)


def _choose(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    if index >= 0:
        combo.setCurrentIndex(index)
        combo.activated.emit(index)


def _finish(spin: QSpinBox | QDoubleSpinBox | QLineEdit, value: object) -> None:
    if isinstance(spin, QLineEdit):
        spin.setText(str(value))
    else:
        spin.setValue(value)  # the widget clamps to its registry range, visibly
    spin.editingFinished.emit()


def apply(window, edit) -> None:
    layers = window.document.project.network.layers
    props = window.properties
    kind = edit[0]
    if kind in ("rate", "dropout_type", "l2", "rnn", "option", "text", "remove", "move"):
        if not layers:
            return
        window.stack_editor.select(edit[1] % len(layers))
    if kind == "rate":
        _finish(props.rate_spin, edit[2])
    elif kind == "dropout_type":
        _choose(props.dropout_type, edit[2])
    elif kind == "l2":
        _finish(props.l2, edit[2])
    elif kind == "rnn":
        if props.input_dropout.isEnabled():
            _finish(props.input_dropout, edit[2])
            _finish(props.recurrent_dropout, edit[2] / 2)
    elif kind == "option" and props.option_widgets:
        widgets = list(props.option_widgets.values())
        widget = widgets[edit[2] % len(widgets)]
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            _finish(widget, min(edit[3], widget.maximum()))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(not widget.isChecked())
        elif isinstance(widget, QComboBox):
            _choose(widget, widget.itemText(edit[3] % widget.count()))
    elif kind == "text":
        lines = [w for w in props.option_widgets.values() if isinstance(w, QLineEdit)]
        if lines:
            _finish(lines[0], edit[2])
    elif kind == "add":
        window.stack_editor.add_layer(edit[1])
    elif kind == "remove":
        window.stack_editor.remove_selected()
    elif kind == "move":
        window.stack_editor.move_selected(edit[2])
    else:
        _dataset_or_training(window, edit)


def _dataset_or_training(window, edit) -> None:
    data, training = window.dataset_panel, window.training_panel
    kind = edit[0]
    if kind == "source":
        _choose(data.source, edit[1])
    elif kind == "splits":
        _finish(data.validation, edit[1])
        _finish(data.test, edit[2])
    elif kind == "train_size":
        _finish(data.train_size, edit[1])
    elif kind == "path" and data.path.isEnabled():
        _finish(data.path, edit[1])
    elif kind == "training":
        _finish(getattr(training, edit[1]), min(edit[2], getattr(training, edit[1]).maximum()))
    elif kind == "learning_rate":
        _finish(training.learning_rate, edit[1])
    elif kind == "optimizer":
        _choose(training.optimizer, edit[1])


GUI_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEQUENCES = st.lists(EDITS, max_size=10)
PRESETS = st.sampled_from(["mlp-classic", "lstm-sequence", "cnn-classic"])


def _edit_save_and_reload(make_window, folder: Path, edits, preset: str) -> None:
    window = make_window(preset, engine_ready=False)  # no preview jobs: edits and files only
    try:
        for edit in edits:
            apply(window, edit)
        project = window.document.project
        assert window.files.save_to(folder / "saved.json")
        assert load_project(folder / "saved.json") == project
        autosaved = folder / "autosave.json"
        autosaved.write_text(autosave_text(project, folder / "saved.json"), encoding="utf-8")
        assert read_autosave(autosaved)[0] == project
    finally:
        window.close()


@GUI_SETTINGS
@given(edits=SEQUENCES, preset=PRESETS)
def test_whatever_the_gui_saves_loads_back_equal(make_window, tmp_path, edits, preset):
    _edit_save_and_reload(make_window, Path(tmp_path), edits, preset)


@pytest.mark.slow
@settings(GUI_SETTINGS, max_examples=60)
@given(edits=st.lists(EDITS, max_size=25), preset=PRESETS)
def test_whatever_the_gui_saves_loads_back_equal_many(make_window, tmp_path, edits, preset):
    _edit_save_and_reload(make_window, Path(tmp_path), edits, preset)
