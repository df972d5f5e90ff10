"""The window driven through its real widgets, with a fake or the real training engine."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox, QSpinBox

from tests.ui.fakes import fake_masks, fake_trainer, start_training


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
    assert rows(window)[2] == ["3", "Dense", "64", "65,600", "drop 50%"]
    assert "67,845" in window.stack_editor.total_label.text()


def test_adding_a_layer_from_the_menu_updates_shapes_live(make_window):
    window = make_window()
    window.stack_editor.select(2)
    dense = next(a for a in window.stack_editor.add_menu.actions() if a.text().startswith("Dense"))
    dense.trigger()
    table = rows(window)
    assert len(table) == 6
    assert table[3][1:4] == ["Dense", "64", f"{64 * 64 + 64:,}"]
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
    assert window.files.save_to(path)
    assert not window.document.dirty
    assert "seq.json" in window.windowTitle()
    other = make_window()
    assert other.files.open_path(path)
    assert other.document.project == window.document.project
    assert str(path.resolve()) in other.files.recent()


def test_opening_a_broken_file_shows_a_message_and_keeps_the_project(make_window, tmp_path):
    window = make_window()
    before = window.document.project
    path = tmp_path / "broken.json"
    path.write_text("{ not json")
    assert not window.files.open_path(path)
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox"]
    assert "is not valid JSON" in boxes[-1].text()
    assert window.document.project == before


def test_fake_training_fills_curves_and_diagram(make_window, qtbot):
    window = make_window(trainer=fake_trainer())
    window.document.set_project(window.document.project.with_training(epochs=5))
    with qtbot.waitSignal(window.training.trained, timeout=10_000):
        start_training(window)
    assert len(window.loss_plot.rows) == 5
    assert window.progress.format() == "finished"
    items = window.diagram.unit_items["dense_3"]
    keeps = {item.data(0) for item in items}
    assert keeps == {0.0, 1.0}  # dropped and kept units, from the recorded masks
    assert "dropped in" in items[0].toolTip()


def test_stop_keeps_the_finished_epochs(make_window, qtbot):
    window = make_window(trainer=fake_trainer(0.02, until_stopped=True))
    job = start_training(window)
    qtbot.waitUntil(lambda: len(window.loss_plot.rows) >= 3, timeout=10_000)
    with qtbot.waitSignals([job.returned, job.finished], order="strict", timeout=5_000):
        window.stop_action.trigger()
    assert job.result.result.status == "stopped"
    assert len(window.loss_plot.rows) >= 3
    assert window.train_action.isEnabled()
    assert not window.stop_action.isEnabled()


def test_a_failing_run_shows_a_message_with_details(make_window, qtbot):
    def broken(project, data, on_event, stop):
        raise RuntimeError("out of GPU memory")

    window = make_window(trainer=broken)
    job = start_training(window)
    with qtbot.waitSignals([job.errored, job.finished], order="strict", timeout=5_000):
        pass
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox"]
    assert "out of GPU memory" in boxes[-1].text()
    assert "Traceback" in boxes[-1].detailedText()
    assert "RuntimeError" in boxes[-1].detailedText()
    assert window.train_action.isEnabled()
    assert not window.stop_action.isEnabled()
    assert window.progress.format() == "failed"


def test_evaluate_mode_shows_every_unit_active(make_window, qtbot):
    window = make_window(trainer=fake_trainer())
    with qtbot.waitSignal(window.training.trained, timeout=10_000):
        start_training(window)
    window.evaluate_action.trigger()
    assert window.diagram.inference
    keeps = {item.data(0) for items in window.diagram.unit_items.values() for item in items}
    assert keeps == {1.0}


def test_masks_recorded_in_evaluate_mode_are_shown_when_it_is_turned_off(make_window, qtbot):
    """Masks that came while Evaluate mode was on were dropped: turned off after the run, the
    diagram showed a step from before it was turned on. Found by a helper driving the app."""
    window = make_window(trainer=fake_trainer(0.005, until_stopped=True))
    job = start_training(window)
    qtbot.waitUntil(lambda: window.diagram.step is not None, timeout=10_000)
    window.evaluate_action.trigger()
    before = window.diagram.step
    qtbot.waitUntil(lambda: len(window.loss_plot.rows) > 20, timeout=10_000)
    with qtbot.waitSignal(job.finished, timeout=5_000):
        window.stop_action.trigger()
    keeps = {item.data(0) for items in window.diagram.unit_items.values() for item in items}
    assert keeps == {1.0}  # still every unit active while Evaluate mode is on
    window.evaluate_action.trigger()
    last = max(m["step"] for m in job.result.result.masks.values())
    assert window.diagram.step == last != before
    keeps = {item.data(0) for items in window.diagram.unit_items.values() for item in items}
    assert keeps == {0.0, 1.0}


@pytest.mark.slow
def test_real_engine_trains_and_draws_recorded_masks(make_window, qtbot):
    window = make_window("digits-mlp", engine_ready=False)
    window.start_engine_loading()
    qtbot.waitUntil(lambda: window.engine_info is not None, timeout=60_000)
    assert window.train_action.isEnabled()
    window.document.set_project(window.document.project.with_training(epochs=3))
    with qtbot.waitSignal(window.training.trained, timeout=120_000) as blocker:
        start_training(window)
    outcome = blocker.args[0]
    result = outcome.result
    assert result.status == "finished"
    assert len(window.loss_plot.rows) == 3
    recorded = result.masks["dense_2_dropout"]["last_mask"]
    drawn = [item.data(0) for item in window.diagram.unit_items["dense_2"]]
    np.testing.assert_array_equal(drawn, recorded[: len(drawn)])
    assert window.exports.model_actions["keras"].isEnabled()
    matrix = window.evaluate_panel.evaluation.confusion
    assert matrix.shape == (10, 10)
    assert matrix.sum() == len(window.evaluate_panel.data.x_test)
    assert "Test set" in window.evaluate_panel.summary.text()
    window.evaluate_panel.sample.setValue(3)
    assert window.evaluate_panel.prediction.text().startswith("sample 3: true class")
    assert window.diagram.step == max(m["step"] for m in result.masks.values())


def crash(window):
    """What a killed process leaves: its autosave file, with nobody holding the slot's lock."""
    from dropout_studio.core.files import release_lock

    slot = window.files.slot
    release_lock(slot._lock_fd)
    os.close(slot._lock_fd)
    slot._lock_fd = None
    window.files.slot = None


def test_autosave_is_offered_back_after_a_crash(make_window, tmp_path):
    crashed = make_window()
    crashed.stack_editor.select(2)
    crashed.stack_editor.remove_selected()
    crashed.files.autosave()
    left = crashed.files.slot.path
    assert left.exists()
    other = make_window()
    assert not other.recover_autosave(ask=lambda text: True)  # a live instance's: not offered
    crash(crashed)
    questions = []
    fresh = make_window()
    assert fresh.recover_autosave(ask=lambda text: questions.append(text) or True)
    assert fresh.document.project == crashed.document.project
    assert fresh.document.dirty
    assert "did not close normally" in questions[0]
    assert not left.exists()  # now in the fresh instance's own slot
    assert fresh.files.save_to(tmp_path / "recovered.json")
    assert not fresh.files.slot.path.exists()


def test_autosave_of_a_saved_project_recovers_onto_its_file(make_window, tmp_path):
    crashed = make_window("small-data")
    assert crashed.files.save_to(tmp_path / "mine.json")
    crashed.document.set_project(crashed.document.project.with_training(epochs=7))
    crashed.files.autosave()
    crash(crashed)
    fresh = make_window()
    questions = []
    assert fresh.recover_autosave(ask=lambda text: questions.append(text) or True)
    assert str((tmp_path / "mine.json").resolve()) in questions[0]
    assert fresh.document.path == (tmp_path / "mine.json").resolve()
    assert fresh.document.project.training.epochs == 7
    assert fresh.document.dirty


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
    window = make_window(trainer=fake_trainer())
    with qtbot.waitSignal(window.training.trained, timeout=10_000):
        start_training(window)
    window.loss_plot.show_batches.setChecked(True)
    assert len(window.loss_plot.batch_points) == 20  # fake trainer: one progress per epoch
    assert window.loss_plot.batch_curve.isVisible()


def test_runs_panel_lists_overlays_renames_and_deletes(make_window, tmp_path, qtbot):
    from tests.core.test_runs import make_run

    window = make_window()
    panel = window.runs_panel
    with qtbot.waitSignal(panel.refreshed):
        assert window.files.save_to(tmp_path / "p.json")
    make_run(tmp_path / "runs", "first", [0.9, 0.4, 0.6])
    make_run(tmp_path / "runs", "second", [0.8, 0.7])
    with qtbot.waitSignal(panel.refreshed):
        panel.refresh()
    assert set(panel.records) == {"first", "second"}
    assert panel.colours["first"] != panel.colours["second"]  # each run its own colour
    panel.set_checked("second", True)
    assert set(window.loss_plot.overlay_curves) == {"second"}
    colour = panel.colours["second"]
    panel.tree.setCurrentItem(panel._items()["second"])
    panel.ask_name = lambda current: "renamed"
    with qtbot.waitSignal(panel.refreshed):
        panel.rename_selected()
    assert set(panel.records) == {"first", "renamed"}
    assert panel.checked_names() == {"renamed"}  # renaming keeps the overlay ticked
    assert panel.colours["renamed"] == colour
    assert set(window.loss_plot.overlay_curves) == {"renamed"}
    panel.tree.setCurrentItem(panel._items()["renamed"])
    panel.confirm = lambda question: True
    with qtbot.waitSignal(panel.refreshed):
        panel.delete_selected()
    assert set(panel.records) == {"first"}
    assert not (tmp_path / "runs" / "renamed").exists()


def test_experiment_dialogs_validate_their_input(qtbot):
    from dropout_studio.ui.experiment_dialogs import CompareDialog, SweepDialog

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


def test_property_fields_keep_precise_values(make_window):
    window = make_window()
    window.stack_editor.select(2)
    props = window.properties
    props.rate_spin.setValue(0.125)
    props.rate_spin.editingFinished.emit()
    props.l2.setValue(1e-6)
    props.l2.editingFinished.emit()
    layer = window.document.project.network.layers[2]
    assert layer.dropout.rate == pytest.approx(0.125)
    assert layer.l2 == pytest.approx(1e-6)
    assert props.rate_spin.maximum() < 1.0  # the rate's maximum is exclusive
    window.stack_editor.select(0)
    window.stack_editor.select(2)  # shown again from the project: nothing rounded
    assert props.rate_spin.value() == pytest.approx(0.125)
    assert props.l2.value() == pytest.approx(1e-6)


def test_train_size_widgets_hold_counts_beyond_qt_ints(make_window):
    """A project file may ask for more samples than a 32-bit Qt widget holds: the slider and
    the spin box stop at their limit instead of raising OverflowError in the event loop."""
    from dropout_studio.ui.panels import QT_INT_MAX

    window = make_window("small-data")
    dataset = window.document.project.dataset
    window.document.set_project(
        replace(window.document.project, dataset=replace(dataset, train_size=10**12))
    )
    window.dataset_panel.set_train_available(10**13)
    assert window.dataset_panel.train_slider.maximum() == QT_INT_MAX
    assert window.dataset_panel.train_size.value() == QT_INT_MAX
    assert window.document.project.dataset.train_size == 10**12  # the project keeps its value
