"""The window driven through its real widgets, with a fake or the real training engine."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QSpinBox

from dropout_studio.core.spec import dropout_name
from dropout_studio.engine.train import TrainingEvent


@dataclass
class FakeResult:
    status: str
    history: list
    masks: dict
    model: Any = None
    test_metrics: dict = field(default_factory=dict)
    message: str = ""


def fake_masks(project, step):
    """Masks shaped like the engine's records for every dropout layer of the project."""
    rng = np.random.default_rng(step)
    report = project.check()
    out = {}
    for i, layer in enumerate(project.network.layers):
        if layer.dropout.active:
            units = report.layers[i].output_shape[-1]
            keep = (rng.random(units) >= layer.dropout.rate).astype("float32")
            out[dropout_name(i, layer)] = {
                "last_mask": keep,
                "step": step,
                "mode": "dropout",
                "drop_frequency": np.full(units, layer.dropout.rate),
            }
    return out


def fake_runner(epochs_delay: float = 0.0, until_stopped: bool = False):
    def run(project, emit, stop):
        emit(TrainingEvent("started", metrics={"epochs": project.training.epochs}))
        history = []
        epoch = 0
        while epoch < project.training.epochs or until_stopped:
            if stop.is_set():
                return FakeResult("stopped", history, fake_masks(project, epoch))
            row = {
                "epoch": epoch,
                "loss": 1 / (epoch + 1),
                "val_loss": 1.2 / (epoch + 1),
                "accuracy": 0.5,
                "val_accuracy": 0.5,
            }
            history.append(row)
            emit(TrainingEvent("epoch_ended", epoch=epoch, metrics=row))
            emit(
                TrainingEvent(
                    "progress",
                    epoch=epoch,
                    batch=3,
                    step=epoch * 3,
                    metrics={"loss": 1 / (epoch + 1)},
                )
            )
            emit(
                TrainingEvent(
                    "masks_recorded",
                    epoch=epoch,
                    step=epoch * 3 + 3,
                    masks=fake_masks(project, epoch),
                )
            )
            time.sleep(epochs_delay)
            epoch += 1
        return FakeResult("finished", history, fake_masks(project, epoch))

    return run


def rows(window):
    tree = window.stack_editor.tree
    return [
        [tree.topLevelItem(i).text(c) for c in range(5)] for i in range(tree.topLevelItemCount())
    ]


def test_window_modules_do_not_import_tensorflow():
    code = (
        "import sys, dropout_studio.ui.main_window, dropout_studio.ui.app;"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stack_table_shows_shapes_and_parameters(make_window):
    window = make_window()
    assert rows(window)[2] == ["3", "Dense", "(64,)", "65,600", "dropout · drop 50% · keep 50%"]
    assert "67,845" in window.stack_editor.total_label.text()


def test_adding_a_layer_from_the_menu_updates_shapes_live(make_window):
    window = make_window()
    window.stack_editor.select(2)
    dense = next(a for a in window.stack_editor.add_menu.actions() if a.text().startswith("Dense"))
    dense.trigger()
    table = rows(window)
    assert len(table) == 6
    assert table[3][1:4] == ["Dense", "(64,)", f"{64 * 64 + 64:,}"]
    assert window.stack_editor.selected_index() == 3


def test_invalid_stack_disables_train_and_keeps_the_edit(make_window, qtbot):
    window = make_window("cnn-classic")
    assert window.train_action.isEnabled()
    window.stack_editor.select(0)
    flatten = next(
        a for a in window.stack_editor.add_menu.actions() if a.text().startswith("Flatten")
    )
    flatten.trigger()
    assert not window.train_action.isEnabled()
    message = window.stack_editor.message_label.text()
    assert "layer 3 (Conv2D) needs a 3-D input" in message
    item = window.stack_editor.tree.topLevelItem(2)
    assert "remove the Flatten" in item.toolTip(0)
    assert rows(window)[1][1] == "Flatten"  # the user's edit is still there
    window.undo_action.trigger()
    assert window.train_action.isEnabled()
    window.redo_action.trigger()
    assert rows(window)[1][1] == "Flatten"


def test_property_edits_are_undoable(make_window):
    window = make_window()
    window.stack_editor.select(2)
    units = window.properties.option_widgets["units"]
    assert isinstance(units, QSpinBox)
    units.setValue(100)
    units.editingFinished.emit()
    assert window.document.project.network.layers[2].option("units") == 100
    assert rows(window)[2][3] == f"{1024 * 100 + 100:,}"
    assert window.isWindowModified()
    window.undo_action.trigger()
    assert window.document.project.network.layers[2].option("units") == 64


def test_rate_slider_and_spin_box_show_drop_and_keep(make_window):
    window = make_window()
    window.stack_editor.select(3)
    window.properties.rate_spin.setValue(0.3)
    window.properties.rate_spin.editingFinished.emit()
    assert window.properties.rate_text.text() == "drop 30% · keep 70%"
    assert window.properties.rate_slider.value() == 30
    assert window.document.project.network.layers[3].dropout.rate == pytest.approx(0.3)


def test_bad_text_stays_in_the_field(make_window):
    window = make_window()
    window.stack_editor.select(0)
    shape = window.properties.option_widgets["shape"]
    shape.setText("32, x")
    shape.editingFinished.emit()
    assert shape.text() == "32, x"
    assert "whole numbers" in shape.toolTip() or "invalid literal" in shape.toolTip()
    assert window.document.project.network.layers[0].option("shape") == (32, 32, 1)


def test_save_and_reopen(make_window, tmp_path):
    window = make_window("lstm-sequence")
    window.stack_editor.select(1)
    window.properties.input_dropout.setValue(0.35)
    window.properties.input_dropout.editingFinished.emit()
    path = tmp_path / "seq.json"
    assert window._save_to(path)
    assert not window.document.dirty
    assert "seq.json" in window.windowTitle()
    other = make_window()
    assert other.open_path(path)
    assert other.document.project == window.document.project
    assert str(path.resolve()) in other._recent()


def test_opening_a_broken_file_shows_a_message_and_keeps_the_project(make_window, tmp_path):
    window = make_window()
    before = window.document.project
    path = tmp_path / "broken.json"
    path.write_text("{ not json")
    assert not window.open_path(path)
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox"]
    assert "is not valid JSON" in boxes[-1].text()
    assert window.document.project == before


def test_fake_training_fills_curves_and_diagram(make_window, qtbot):
    window = make_window(runner=fake_runner())
    window.document.set_project(window.document.project.with_training(epochs=5))
    with qtbot.waitSignal(window.controller.finished, timeout=10_000):
        window.train_action.trigger()
    qtbot.waitUntil(lambda: len(window.loss_plot.rows) == 5)
    assert window.progress.format() == "finished"
    items = window.diagram.unit_items["dense_3"]
    keeps = {item.data(0) for item in items}
    assert keeps == {0.0, 1.0}  # dropped and kept units, from the recorded masks
    assert "dropped in" in items[0].toolTip()


def test_stop_keeps_the_finished_epochs(make_window, qtbot):
    window = make_window(runner=fake_runner(0.02, until_stopped=True))
    window.train_action.trigger()
    qtbot.waitUntil(lambda: len(window.loss_plot.rows) >= 3, timeout=10_000)
    with qtbot.waitSignal(window.controller.finished, timeout=5_000) as blocker:
        window.stop_action.trigger()
    assert blocker.args[0].status == "stopped"
    assert len(window.loss_plot.rows) >= 3
    assert window.train_action.isEnabled()


def test_closing_during_training_stops_cleanly(make_window, qtbot):
    window = make_window(runner=fake_runner(0.02, until_stopped=True))
    window.train_action.trigger()
    qtbot.waitUntil(lambda: window.controller.running)
    started = time.perf_counter()
    window.close()
    assert not window.controller.running
    assert time.perf_counter() - started < 5


def test_a_failing_run_shows_a_message_with_details(make_window, qtbot):
    def broken(project, emit, stop):
        raise RuntimeError("out of GPU memory")

    window = make_window(runner=broken)
    with qtbot.waitSignal(window.controller.failed, timeout=5_000):
        window.train_action.trigger()
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox"]
    assert "out of GPU memory" in boxes[-1].text()
    assert "RuntimeError" in boxes[-1].detailedText()
    assert window.train_action.isEnabled()


def test_evaluate_mode_shows_every_unit_active(make_window, qtbot):
    window = make_window(runner=fake_runner())
    with qtbot.waitSignal(window.controller.finished, timeout=10_000):
        window.train_action.trigger()
    window.evaluate_action.trigger()
    assert window.diagram.inference
    keeps = {item.data(0) for items in window.diagram.unit_items.values() for item in items}
    assert keeps == {1.0}


@pytest.mark.slow
def test_real_engine_trains_and_draws_recorded_masks(make_window, qtbot):
    window = make_window("digits-mlp", engine_ready=False)
    assert not window.train_action.isEnabled()
    window.start_engine_loading()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=60_000)
    assert window.train_action.isEnabled()
    window.document.set_project(window.document.project.with_training(epochs=3))
    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as blocker:
        window.train_action.trigger()
    result = blocker.args[0]
    assert result.status == "finished"
    assert len(window.loss_plot.rows) == 3
    recorded = result.masks["dense_2_dropout"]["last_mask"]
    drawn = [item.data(0) for item in window.diagram.unit_items["dense_2"]]
    np.testing.assert_array_equal(drawn, recorded[: len(drawn)])
    assert window.export_model_actions["keras"].isEnabled()
    qtbot.waitUntil(lambda: window.evaluate_panel.evaluation is not None, timeout=30_000)
    matrix = window.evaluate_panel.evaluation.confusion
    assert matrix.shape == (10, 10)
    assert matrix.sum() == len(window.evaluate_panel.data.x_test)
    assert "Test set" in window.evaluate_panel.summary.text()
    window.evaluate_panel.sample.setValue(3)
    assert window.evaluate_panel.prediction.text().startswith("sample 3: true class")
    assert threading.active_count() >= 1
    assert window.diagram.step == max(m["step"] for m in result.masks.values())
    assert Qt  # keep the Qt import meaningful for readers grepping enums


def test_autosave_is_offered_back_after_a_crash(make_window, tmp_path):
    crashed = make_window()
    crashed.stack_editor.select(2)
    crashed.stack_editor.remove_selected()
    crashed.autosave()
    assert (tmp_path / "autosave.json").exists()
    questions = []
    fresh = make_window()
    assert fresh.recover_autosave(ask=lambda text: questions.append(text) or True)
    assert fresh.document.project == crashed.document.project
    assert fresh.document.dirty
    assert "did not close normally" in questions[0]
    assert fresh._save_to(tmp_path / "recovered.json")
    assert not (tmp_path / "autosave.json").exists()


def test_drag_and_drop_reorder_goes_through_undo(make_window):
    window = make_window()
    window.stack_editor.select(3)
    window.stack_editor.tree.row_moved.emit(3, 2)
    assert [row[3] for row in rows(window)][2:4] == [f"{1024 * 32 + 32:,}", f"{32 * 64 + 64:,}"]
    window.undo_action.trigger()
    assert rows(window)[2][3] == "65,600"


def test_rnn_input_mask_is_drawn_on_the_features_it_drops(make_window):
    window = make_window("lstm-sequence")
    masks = {
        "lstm_2.input": {
            "last_mask": np.array([0.0], dtype="float32"),
            "step": 7,
            "drop_frequency": np.array([0.2]),
            "mode": "input",
        },
        "lstm_2.recurrent": {
            "last_mask": np.ones(32, dtype="float32"),
            "step": 7,
            "drop_frequency": np.full(32, 0.2),
            "mode": "recurrent",
        },
    }
    window.diagram.set_masks(masks, 7)
    (feature,) = window.diagram.unit_items["input_1"]
    assert feature.data(0) == 0.0
    assert "dropped in step 7" in feature.toolTip()


def test_diagram_exports_png_and_svg(make_window, tmp_path):
    window = make_window()
    window.diagram.set_masks(fake_masks(window.document.project, 4), 4)
    window.diagram.export_png(tmp_path / "d.png")
    window.diagram.export_svg(tmp_path / "d.svg")
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    svg = (tmp_path / "d.svg").read_text()
    assert "<svg" in svg
    assert "training step 4" in svg


def test_batch_losses_are_plotted_when_asked(make_window, qtbot):
    window = make_window(runner=fake_runner())
    with qtbot.waitSignal(window.controller.finished, timeout=10_000):
        window.train_action.trigger()
    window.loss_plot.show_batches.setChecked(True)
    assert len(window.loss_plot.batch_points) == 20  # fake runner: one progress per epoch
    assert window.loss_plot.batch_curve.isVisible()


def test_runs_panel_lists_overlays_renames_and_deletes(make_window, tmp_path):
    from tests.core.test_runs import make_run

    window = make_window()
    assert window._save_to(tmp_path / "p.json")
    make_run(tmp_path / "runs", "first", [0.9, 0.4, 0.6])
    make_run(tmp_path / "runs", "second", [0.8, 0.7])
    panel = window.runs_panel
    panel.refresh()
    assert set(panel.records) == {"first", "second"}
    panel.set_checked("first", True)
    assert set(window.loss_plot.overlay_curves) == {"first"}
    panel.tree.setCurrentItem(panel._items()["second"])
    panel.ask_name = lambda current: "renamed"
    panel.rename_selected()
    assert set(panel.records) == {"first", "renamed"}
    panel.tree.setCurrentItem(panel._items()["renamed"])
    panel.confirm = lambda question: True
    panel.delete_selected()
    assert set(panel.records) == {"first"}
    assert not (tmp_path / "runs" / "renamed").exists()


def test_experiment_dialogs_validate_their_input(qtbot):
    from dropout_studio.ui.experiments import CompareDialog, SweepDialog

    sweep = SweepDialog()
    qtbot.addWidget(sweep)
    sweep.rates.setText("0, 1.5")
    sweep._check()
    assert "up to (not including) 1" in sweep.error.text()
    sweep.rates.setText("0, 0.25")
    sweep.sizes.setText("100, all")
    assert sweep.parse() == ((0.0, 0.25), (100, 0))
    compare = CompareDialog()
    qtbot.addWidget(compare)
    compare.early.setChecked(True)
    assert compare.arms() == ("dropout", "no dropout", "early stopping")
