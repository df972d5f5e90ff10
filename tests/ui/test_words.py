"""The words on screen: Gaussian and RNN dropout described correctly, the stack's dropout column
never cut, plurals, standard icons instead of emoji, and a train-size slider that matches the
training set (its left end is 2 samples, never "all")."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from dropout_studio.core.document import ProjectDocument, replace_layer
from dropout_studio.core.project import load_preset
from dropout_studio.core.spec import DropoutSpec, drop_keep_text, rnn_dropout_text
from dropout_studio.ui.experiment_dialogs import SweepDialog
from dropout_studio.ui.panels import DatasetPanel, available_training_samples
from dropout_studio.ui.properties import LayerProperties
from dropout_studio.ui.runs_panel import RunsPanel
from dropout_studio.ui.stack_editor import LayerStackEditor, dropout_column_text
from dropout_studio.ui.words import IconMessage, count
from tests.core.test_runs import make_run

EMOJI = ("⛔", "⚠")


def test_gaussian_dropout_is_noise_not_dropping():
    text = DropoutSpec("gaussian", 0.3).describe()
    assert text == "Gaussian noise · std 0.65"  # sqrt(0.3 / 0.7) = 0.6547
    assert "drop" not in text
    assert "keep" not in text
    assert DropoutSpec("gaussian", 0.5).describe() == "Gaussian noise · std 1.00"
    assert DropoutSpec("dropout", 0.2).describe() == "dropout · drop 20% · keep 80%"
    assert DropoutSpec("spatial", 0.125).describe() == "spatial · drop 12.5% · keep 87.5%"


def test_rnn_rates_in_words():
    assert rnn_dropout_text(0.2, 0.1) == "input drop 20% · keep 80%; recurrent drop 10% · keep 90%"
    assert rnn_dropout_text(0.0, 0.25) == "recurrent drop 25% · keep 75%"
    assert rnn_dropout_text(0.0, 0.0) == ""
    assert drop_keep_text(1 / 3) == "drop 33.3% · keep 66.7%"


def _views(qtbot, project):
    document = ProjectDocument(project)

    def edit(new, _description):
        document.set_project(new)

    editor = LayerStackEditor(document, edit)
    props = LayerProperties(document, edit)
    editor.selection_changed.connect(props.show_layer)
    for widget in (editor, props):
        qtbot.addWidget(widget)
    return document, editor, props


def test_properties_describe_gaussian_and_rnn_rates(qtbot):
    project = load_preset("lstm-sequence")
    document, editor, props = _views(qtbot, project)
    lstm = next(i for i, layer in enumerate(project.network.layers) if layer.kind == "LSTM")
    editor.select(lstm)
    assert props.input_text.text() == "drop 20% · keep 80%"
    props.recurrent_dropout.setValue(0.35)
    props.recurrent_dropout.editingFinished.emit()
    assert document.project.network.layers[lstm].recurrent_dropout == pytest.approx(0.35)
    assert props.recurrent_text.text() == "drop 35% · keep 65%"
    editor.select(lstm + 1)  # a Dense layer: the RNN fields say they do not apply
    assert props.input_text.text() == "RNN layers only"

    props.dropout_type.setCurrentText("gaussian")
    props.dropout_type.activated.emit(props.dropout_type.currentIndex())
    props.rate_spin.setValue(0.3)
    props.rate_spin.editingFinished.emit()
    assert document.project.network.layers[lstm + 1].dropout == DropoutSpec("gaussian", 0.3)
    assert props.rate_text.text().startswith("Gaussian noise · std 0.65")
    assert "keep" not in props.rate_text.text()


def _cut(tree, row: int, column: int) -> bool:
    """True when the cell's text (every line of it) does not fit its column."""
    item = tree.topLevelItem(row)
    metrics = QFontMetrics(tree.font())
    needed = max(metrics.horizontalAdvance(line) for line in item.text(column).split("\n"))
    return needed > tree.header().sectionSize(column) - 6


@pytest.mark.parametrize("preset", ["mlp-classic", "cnn-classic", "lstm-sequence"])
def test_the_dropout_column_is_never_cut(qtbot, preset):
    project = load_preset(preset)
    if preset == "mlp-classic":
        project = replace_layer(
            project, 2, project.network.layers[2].with_dropout(DropoutSpec("gaussian", 0.3))
        )
    _document, editor, _props = _views(qtbot, project)
    editor.resize(320, 300)  # the stack panel at 1366×768
    editor.show()
    qtbot.waitExposed(editor)
    tree = editor.tree
    assert tree.textElideMode() == Qt.TextElideMode.ElideNone
    texts = [tree.topLevelItem(r).text(4) for r in range(tree.topLevelItemCount())]
    assert any(texts)
    for row, text in enumerate(texts):
        assert not _cut(tree, row, 4), text
        if text:
            assert "keep" in tree.topLevelItem(row).toolTip(4) or "std" in text
    width = sum(tree.header().sectionSize(c) for c in range(5))
    assert width <= tree.viewport().width() + 4  # whole rows fit a 320-px panel


def test_dropout_column_words():
    layers = load_preset("lstm-sequence").network.layers
    lstm = next(layer for layer in layers if layer.kind == "LSTM")
    assert dropout_column_text(lstm) == "input 20%\nrecurrent 20%"
    dense = load_preset("mlp-classic").network.layers[2]
    assert dropout_column_text(dense) == "drop 50%"
    gaussian = dense.with_dropout(DropoutSpec("gaussian", 0.3))
    assert dropout_column_text(gaussian) == "Gaussian\nstd 0.65"
    spatial = load_preset("cnn-classic").network.layers[1]
    assert dropout_column_text(spatial) == "spatial\ndrop 20%"


def test_counts_take_the_right_plural(qtbot, tmp_path):
    assert count(1, "run") == "1 run"
    assert count(0, "run") == "0 runs"
    assert count(2_000, "point") == "2,000 points"
    make_run(tmp_path / "runs", "only", [0.9, 0.5])
    panel = RunsPanel(lambda: tmp_path / "runs")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.refreshed):
        panel.refresh()
    assert panel.info.text().startswith("1 run in ")


def _has_icon(message: IconMessage) -> bool:
    pixmap = message.icon.pixmap()
    return not message.icon.isHidden() and pixmap is not None and not pixmap.isNull()


def test_errors_show_a_standard_icon_not_an_emoji(qtbot):
    project = load_preset("cnn-classic")
    broken = replace(
        project, network=replace(project.network, layers=project.network.layers[:1])
    )  # an Input alone: the stack reports an error
    _document, editor, _props = _views(qtbot, broken)
    rows = [r for r in editor.message_label.rows if not r.isHidden()]
    assert rows
    assert all(_has_icon(r) for r in rows)
    assert {r.severity for r in rows} <= {"error", "warning"}
    assert not any(e in editor.message_label.text() for e in EMOJI)

    dialog = SweepDialog()
    qtbot.addWidget(dialog)
    dialog.rates.setText("0, 2")
    dialog._check()
    assert _has_icon(dialog.error)
    assert "⛔" not in dialog.error.text()

    panel = DatasetPanel(ProjectDocument(project), lambda *_: None)
    qtbot.addWidget(panel)
    panel.show_error("no such file: data.csv")
    assert _has_icon(panel.error)
    assert panel.error.text() == "no such file: data.csv"


class _Data:
    """Shaped like ``engine.data.Dataset``: 1,079 training samples of the digits split."""

    def __init__(self, train: int, val: int = 359, test: int = 359) -> None:
        self.x_train = np.zeros((train, 64), dtype="float32")
        self.y_train = np.arange(train) % 10
        self.x_val = np.zeros((val, 64), dtype="float32")
        self.x_test = np.zeros((test, 64), dtype="float32")
        self.class_names = [str(k) for k in range(10)]

    def summary(self) -> str:
        return f"train {len(self.x_train)}"


def _dataset_panel(qtbot, train_size):
    project = load_preset("small-data")
    project = replace(project, dataset=replace(project.dataset, train_size=train_size))
    document = ProjectDocument(project)
    panel = DatasetPanel(document, lambda new, _text: document.set_project(new))
    qtbot.addWidget(panel)
    return document, panel


def test_train_size_slider_matches_the_training_set(qtbot):
    document, panel = _dataset_panel(qtbot, None)
    assert panel.train_all.isChecked()
    assert not panel.train_slider.isEnabled()  # nothing to choose while "all" is ticked
    panel.show_data(_Data(1079))
    assert panel.train_slider.maximum() == 1079
    assert panel.train_slider.minimum() == 2
    assert panel.train_size.value() == 1079

    panel.train_all.setChecked(False)  # untick: every sample, now as a number to lower
    assert document.project.dataset.train_size == 1079
    assert panel.train_slider.isEnabled()
    panel.train_slider.setValue(panel.train_slider.minimum())  # the left end: 2 samples
    assert document.project.dataset.train_size == 2
    panel.show_data(_Data(2))  # the preview of the new spec keeps the exact range
    assert panel.train_slider.maximum() == 1079
    panel.train_slider.setValue(panel.train_slider.maximum())
    assert document.project.dataset.train_size == 1079
    panel.train_all.setChecked(True)
    assert document.project.dataset.train_size is None


def test_train_size_range_without_an_exact_count(qtbot):
    """Opened with 60 samples chosen: the range is estimated from the held-out parts."""
    document, panel = _dataset_panel(qtbot, 60)
    assert not panel.train_all.isChecked()
    assert panel.train_size.value() == 60
    panel.show_data(_Data(60))
    assert 1070 <= panel.train_slider.maximum() <= 1090
    assert panel.train_slider.value() == 60
    assert available_training_samples(_Data(30), document.project) == 30  # fewer than asked

    class _Exact(_Data):
        train_available = 1079

    panel.show_data(_Exact(60))
    assert panel.train_slider.maximum() == 1079
