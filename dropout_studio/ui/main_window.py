"""The main window: stack editor, properties, diagram, loss curves, dataset and training panels.

Views listen to one :class:`ProjectDocument`; every edit is an undo command that swaps whole
immutable projects, so undo/redo covers the stack, the dataset and the settings alike. The
engine (TensorFlow) is imported by :class:`EngineLoader` after the window is shown.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QToolBar,
)

from dropout_studio import __version__
from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import (
    Project,
    ProjectError,
    load_preset,
    load_project,
    preset_names,
    save_project,
)
from dropout_studio.ui.controller import EngineLoader, TrainingController
from dropout_studio.ui.demos import DEMOS
from dropout_studio.ui.diagram import NetworkDiagram
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.evaluate import EvaluatePanel
from dropout_studio.ui.experiments import (
    CompareDialog,
    CompareView,
    ExperimentRunner,
    SweepDialog,
    SweepView,
    compare_work,
    sweep_work,
)
from dropout_studio.ui.inside import InsideReport, InsideView, analyse
from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.panels import DatasetPanel, TrainingPanel
from dropout_studio.ui.runs_panel import RunsPanel
from dropout_studio.ui.stack_editor import LayerProperties, LayerStackEditor

EXPORT_FORMATS = {
    "keras": ("Keras model (*.keras)", ".keras"),
    "saved_model": ("SavedModel folder", ""),
    "tflite": ("TFLite model (*.tflite)", ".tflite"),
    "onnx": ("ONNX model (*.onnx)", ".onnx"),
}


class _EditCommand(QUndoCommand):
    def __init__(
        self, document: ProjectDocument, before: Project, after: Project, text: str
    ) -> None:
        super().__init__(text)
        self.document, self.before, self.after = document, before, after

    def redo(self) -> None:
        self.document.set_project(self.after)

    def undo(self) -> None:
        self.document.set_project(self.before)


class _Background(QObject):
    """Runs a function on a thread and delivers its result or error in the GUI thread."""

    done = Signal(object, object)  # callback, result
    error = Signal(object, str)  # callback, message

    def __init__(self) -> None:
        super().__init__()
        self.done.connect(lambda callback, result: callback(result))
        self.error.connect(lambda callback, message: callback(message))
        self.threads: list[threading.Thread] = []

    def run(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None],
    ) -> None:
        def target() -> None:
            try:
                result = work()
            except Exception as exc:
                self.error.emit(on_error, str(exc))
            else:
                self.done.emit(on_done, result)

        thread = threading.Thread(target=target, daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float = 5.0) -> None:
        for thread in self.threads:
            thread.join(timeout)


class MainWindow(QMainWindow):
    def __init__(
        self,
        document: ProjectDocument | None = None,
        controller: TrainingController | None = None,
        settings: QSettings | None = None,
        autosave_file: Path | None = None,
    ) -> None:
        super().__init__()
        if autosave_file is None:
            base = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.AppLocalDataLocation
            )
            autosave_file = Path(base or Path.home() / ".dropout-studio") / "autosave.json"
        self.autosave_file = autosave_file
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(30_000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._pending_masks: Any = None
        self.diagram_timer = QTimer(self)
        self.diagram_timer.setInterval(100)
        self.diagram_timer.timeout.connect(self._draw_pending_masks)
        self.diagram_timer.start()
        self.document = document or ProjectDocument(load_preset("mlp-classic"))
        self.controller = controller or TrainingController()
        self.settings = settings or QSettings("Dropout Studio", "Dropout Studio")
        self.loader = EngineLoader()
        self.background = _Background()
        self.engine_info: dict[str, Any] | None = None
        self.undo_stack = QUndoStack(self)
        self.training_started = 0.0
        self.epochs_planned = 0
        self.steps_per_epoch = 1

        self.stack_editor = LayerStackEditor(self.document, self.edit)
        self.properties = LayerProperties(self.document, self.edit)
        self.stack_editor.selection_changed.connect(self.properties.show_layer)
        self.properties.show_layer(self.stack_editor.selected_index())
        self.diagram = NetworkDiagram()
        self.loss_plot = LossPlot()
        self.dataset_panel = DatasetPanel(self.document, self.edit)
        self.dataset_panel.preview_requested.connect(self._schedule_preview)
        self.training_panel = TrainingPanel(self.document, self.edit)
        self.evaluate_panel = EvaluatePanel()
        self.compare_view = CompareView()
        self.sweep_view = SweepView()
        self.inside_view = InsideView()
        self.runs_panel = RunsPanel(self._runs_folder)
        self.runs_panel.overlays_changed.connect(self.loss_plot.set_overlays)
        self.experiments = ExperimentRunner()
        self._experiment_slots: list[tuple[Any, Any]] = []
        self.last_data: Any = None
        self.inside_view.analyse.clicked.connect(self.analyse_model)
        self.inside_view.twin.clicked.connect(self.train_twin)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.stack_editor)
        left.addWidget(self.properties)
        left.setSizes([330, 420])
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.diagram)
        self.centre_tabs = QTabWidget()
        self.centre_tabs.addTab(self.loss_plot, "Loss")
        self.centre_tabs.addTab(self.compare_view, "Compare")
        self.centre_tabs.addTab(self.sweep_view, "Sweep")
        self.centre_tabs.addTab(self.inside_view, "Inside")
        centre.addWidget(self.centre_tabs)
        centre.setSizes([380, 400])
        right = QTabWidget()
        right.addTab(self.dataset_panel, "Dataset")
        right.addTab(self.training_panel, "Training")
        right.addTab(self.evaluate_panel, "Evaluate")
        right.addTab(self.runs_panel, "Runs")
        self.side_tabs = right
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(centre)
        main.addWidget(right)
        main.setSizes([430, 700, 330])
        main.setChildrenCollapsible(False)
        self.splitter = main
        self.setCentralWidget(main)

        self.demo_panel = QLabel()
        self.demo_panel.setWordWrap(True)
        self.demo_panel.setMargin(8)
        self.demo_dock = QDockWidget("Demo", self)
        self.demo_dock.setObjectName("demoDock")
        self.demo_dock.setWidget(self.demo_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.demo_dock)
        self.demo_dock.hide()
        self._build_actions()
        self.engine_label = QLabel("Loading TensorFlow…")
        self.engine_label.setToolTip("Training is available once the engine has loaded")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addWidget(self.engine_label)

        self.controller.started.connect(self._on_training_started)
        self.controller.epoch_ended.connect(self._on_training_epoch_ended)
        self.controller.progressed.connect(self._on_training_progressed)
        self.controller.masks_recorded.connect(self._on_training_masks_recorded)
        self.controller.finished.connect(self._on_training_finished)
        self.controller.failed.connect(self._on_training_failed)
        self.controller.evaluated.connect(self.evaluate_panel.show_evaluation)
        self.controller.evaluated.connect(self._on_training_evaluated)
        self.controller.data_loaded.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.loader.loaded.connect(self._on_engine_loaded)
        self.loader.failed.connect(self._on_engine_failed)
        self.document.subscribe(self._on_document_changed)
        self._on_document_changed(self.document)
        self._restore_window()

    # actions and menus --------------------------------------------------------
    def _action(
        self, text: str, slot: Callable[..., Any], shortcut: Any = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.new_action = self._action("&New", self.new_project, K.New, "New project")
        self.open_action = self._action("&Open…", self.open_dialog, K.Open, "Open a project file")
        self.save_action = self._action("&Save", self.save, K.Save, "Save the project")
        self.save_as_action = self._action(
            "Save &As…", self.save_as, K.SaveAs, "Save the project under a new name"
        )
        self.quit_action = self._action("&Quit", self.close, K.Quit, "Quit Dropout Studio")
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence(K.Undo)])
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Shift+Z")])
        self.train_action = self._action(
            "▶ Train", self.train, "Ctrl+Return", "Train the stack (Ctrl+Enter)"
        )
        self.stop_action = self._action(
            "■ Stop", self.stop, "Esc", "Stop training, keeping the finished epochs (Esc)"
        )
        self.evaluate_action = self._action(
            "Evaluate mode",
            self._on_evaluate_toggled,
            None,
            "Show the network as it predicts: dropout off",
        )
        self.evaluate_action.setCheckable(True)
        self.train_action.setEnabled(False)
        self.stop_action.setEnabled(False)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.new_action, self.open_action):
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        presets = file_menu.addMenu("&Presets")
        for name in preset_names():
            presets.addAction(self._action(name, lambda _=False, n=name: self.load_preset(n)))
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        export = file_menu.addMenu("&Export")
        self.export_model_actions = {}
        for fmt, (label, _) in EXPORT_FORMATS.items():
            action = self._action(
                f"Trained model as {label.split(' (')[0]}…",
                lambda _=False, f=fmt: self.export_model_dialog(f),
            )
            action.setEnabled(False)
            export.addAction(action)
            self.export_model_actions[fmt] = action
        export.addSeparator()
        export.addAction(
            self._action(
                "Loss plot as PNG…",
                lambda: self._export_file("png", "Loss plot", self.loss_plot.export_png),
            )
        )
        export.addAction(
            self._action(
                "Loss history as CSV…",
                lambda: self._export_file("csv", "Loss history", self.loss_plot.export_csv),
            )
        )
        export.addAction(
            self._action(
                "Diagram as PNG…",
                lambda: self._export_file("png", "Diagram", self.diagram.export_png),
            )
        )
        export.addAction(
            self._action(
                "Diagram as SVG…",
                lambda: self._export_file("svg", "Diagram", self.diagram.export_svg),
            )
        )
        export.addSeparator()
        export.addAction(self._action("Stack as Keras script…", lambda: self.export_code("keras")))
        export.addAction(
            self._action("Stack as PyTorch script…", lambda: self.export_code("pytorch"))
        )
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        run_menu = bar.addMenu("&Run")
        for action in (self.train_action, self.stop_action, self.evaluate_action):
            run_menu.addAction(action)
        experiments = bar.addMenu("E&xperiments")
        self.compare_action = self._action(
            "&Compare with and without dropout…",
            self.compare_dialog,
            None,
            "Train the stack with and without dropout over several seeds",
        )
        self.sweep_action = self._action(
            "&Sweep dropout rates…",
            self.sweep_dialog,
            None,
            "Try several rates and training-set sizes (KerasTuner)",
        )
        self.stop_experiment_action = self._action(
            "Stop e&xperiment",
            self.experiments.stop,
            None,
            "Stop after the current run, keeping the finished ones",
        )
        self.stop_experiment_action.setEnabled(False)
        for action in (self.compare_action, self.sweep_action, self.stop_experiment_action):
            experiments.addAction(action)
        demos = bar.addMenu("&Demos")
        for index, demo in enumerate(DEMOS):
            demos.addAction(self._action(demo.title, lambda _=False, i=index: self.start_demo(i)))
        demos.addSeparator()
        self.presentation_action = self._action(
            "&Presentation mode",
            self.set_presentation,
            "F11",
            "Larger fonts and plots for a class or a talk",
        )
        self.presentation_action.setCheckable(True)
        demos.addAction(self.presentation_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About Dropout Studio", self.about))
        toolbar = QToolBar("Run")
        toolbar.setObjectName("runToolbar")
        for action in (self.train_action, self.stop_action, self.evaluate_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.undo_action)
        toolbar.addAction(self.redo_action)
        self.addToolBar(toolbar)
        self._refresh_recent()

    # editing ------------------------------------------------------------------
    def edit(self, project: Project, description: str) -> None:
        """Every change of the project goes through here, as one undoable step."""
        before = self.document.project
        if project != before:
            self.undo_stack.push(_EditCommand(self.document, before, project, description))

    def _on_document_changed(self, document: ProjectDocument) -> None:
        self.setWindowTitle(f"{document.title.removesuffix(' *')}[*] — Dropout Studio")
        self.setWindowModified(document.dirty)
        self.diagram.set_network(document.project.network)
        self._update_train_enabled()

    def _update_train_enabled(self) -> None:
        report = self.stack_editor.report
        ok = report is not None and report.ok
        running = self.controller.running
        self.train_action.setEnabled(self.engine_info is not None and ok and not running)
        if self.engine_info is None:
            self.train_action.setToolTip("Waiting for TensorFlow to load")
        elif not ok and report is not None:
            self.train_action.setToolTip(f"Fix the stack first: {report.errors[0].message}")
        else:
            self.train_action.setToolTip("Train the stack (Ctrl+Enter)")

    # files --------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """Ask before unsaved work is dropped; True when it may go."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {self.document.title.rstrip(' *')} first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        self.load_preset("mlp-classic", as_new=True)

    def load_preset(self, name: str, as_new: bool = False) -> None:
        if not self.confirm_discard():
            return
        project = load_preset(name)
        if as_new:
            from dataclasses import replace

            project = replace(project, name="untitled")
        self.document.reset(project)
        self.undo_stack.clear()
        self.loss_plot.clear()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project", "", "Dropout Studio projects (*.json)"
        )
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> bool:
        if not self.confirm_discard():
            return False
        try:
            self.document.open(path)
        except ProjectError as exc:
            error_box(self, str(exc)).show()
            return False
        self.undo_stack.clear()
        self.loss_plot.clear()
        self._remember_recent(path)
        self.runs_panel.refresh()
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save project as",
            f"{self.document.project.name}.json",
            "Dropout Studio projects (*.json)",
        )
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as exc:
            error_box(
                self,
                f"{path} could not be saved ({exc}); your project is still open "
                "here: try another folder",
            ).show()
            return False
        self.undo_stack.setClean()
        self._clear_autosave()
        self._remember_recent(path)
        self.statusBar().showMessage(f"saved {path}", 3000)
        return True

    def _remember_recent(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent", recent[:8])
        self._refresh_recent()

    def _recent(self) -> list[str]:
        value: Any = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(
                self._action(path, lambda _=False, p=path: self.open_path(Path(p)))
            )
        self.recent_menu.setEnabled(bool(self._recent()))

    # autosave -----------------------------------------------------------------
    def autosave(self) -> None:
        """Unsaved work goes to a side file every 30 s, so a crash loses at most that."""
        if not self.document.dirty:
            return
        try:
            save_project(self.document.project, self.autosave_file)
            origin = str(self.document.path.resolve()) if self.document.path else ""
            self.autosave_file.with_suffix(".origin").write_text(origin, encoding="utf-8")
        except OSError as exc:
            self.statusBar().showMessage(f"autosave failed: {exc}", 5000)

    def _clear_autosave(self) -> None:
        self.autosave_file.unlink(missing_ok=True)
        self.autosave_file.with_suffix(".origin").unlink(missing_ok=True)

    def recover_autosave(self, ask: Callable[[str], bool] | None = None) -> bool:
        """Offer the project left by a session that did not close normally."""
        if not self.autosave_file.exists():
            return False
        origin_file = self.autosave_file.with_suffix(".origin")
        origin = origin_file.read_text(encoding="utf-8") if origin_file.exists() else ""
        question = (
            f"Dropout Studio did not close normally. Recover the unsaved changes"
            f"{' to ' + origin if origin else ''}?"
        )
        ask = ask or (
            lambda text: (
                QMessageBox.question(self, "Recover unsaved work", text)
                == QMessageBox.StandardButton.Yes
            )
        )
        if not ask(question):
            self._clear_autosave()
            return False
        try:
            recovered = load_project(self.autosave_file)
            base = load_project(origin) if origin and Path(origin).exists() else Project()
        except ProjectError as exc:
            error_box(self, f"the autosaved project cannot be read: {exc}").show()
            return False
        self.document.reset(base, Path(origin) if origin and Path(origin).exists() else None)
        self.document.set_project(recovered)  # unsaved: the title shows the mark
        return True

    # engine -------------------------------------------------------------------
    def start_engine_loading(self) -> None:
        self.loader.start()

    def _on_engine_loaded(self, info: dict[str, Any]) -> None:
        # TensorFlow leaves ~10^6 long-lived objects; a full collection of them held the GIL
        # for ~200 ms mid-training. Freezing moves them out of the collector's sight.
        gc.collect()
        gc.freeze()
        self.engine_info = info
        devices = info.get("devices", ["cpu"])
        self.training_panel.set_devices(devices)
        gpu = "GPU" if any(d.startswith("gpu") for d in devices) else "CPU only"
        self.engine_label.setText(
            f"TensorFlow {info.get('tensorflow', '?')} · Keras {info.get('keras')} · {gpu}"
        )
        self._update_train_enabled()
        self._schedule_preview()

    def _on_engine_failed(self, message: str, details: str) -> None:
        self.engine_label.setText("TensorFlow failed to load: training unavailable")
        error_box(self, message, details).show()

    def _schedule_preview(self) -> None:
        if self.engine_info is None:
            return
        dataset = self.document.project.dataset
        seed = self.document.project.training.seed
        path = self.document.path

        def work() -> Any:
            from dropout_studio.engine.data import load_dataset

            return load_dataset(dataset, seed, path)

        def done(data: Any) -> None:
            if self.document.project.dataset == dataset:  # still the current choice
                self.dataset_panel.show_data(data)

        self.background.run(work, done, self.dataset_panel.show_error)

    # training -----------------------------------------------------------------
    def train(self) -> None:
        report = self.stack_editor.report
        if report is None or not report.ok or self.controller.running:
            return
        if self.engine_info is None:
            return
        self.loss_plot.clear()
        self.evaluate_action.setChecked(False)
        self.diagram.set_inference(False)
        project = self.document.project  # immutable snapshot for the worker
        self.epochs_planned = project.training.epochs
        self.training_started = time.perf_counter()
        self.controller.start(project, self.document.path)
        self.stop_action.setEnabled(True)
        self._update_train_enabled()
        self.progress.setRange(0, 0)
        self.progress.setFormat("preparing…")

    def stop(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.progress.setFormat("stopping…")

    def _on_training_started(self, event: Any) -> None:
        self.steps_per_epoch = int(event.metrics.get("steps_per_epoch", 1))
        self.progress.setRange(0, max(1, int(event.metrics.get("epochs", 1))))
        self.progress.setValue(0)
        self.statusBar().showMessage(f"training on {event.message}")

    def _on_training_epoch_ended(self, event: Any) -> None:
        self.loss_plot.add_epoch(event.metrics)
        self.progress.setValue(event.epoch + 1)

    def _on_training_progressed(self, event: Any) -> None:
        steps = max(1, self.steps_per_epoch)
        self.loss_plot.add_batch_loss(
            event.epoch + event.batch / steps, float(event.metrics.get("loss", float("nan")))
        )
        done = event.epoch + 1
        elapsed = time.perf_counter() - self.training_started
        left = elapsed / max(done, 1) * max(self.epochs_planned - done, 0)
        self.progress.setFormat(
            f"epoch {min(done, self.epochs_planned)}/{self.epochs_planned}"
            f" · batch {event.batch} · {left:.0f} s left"
        )

    def _on_training_masks_recorded(self, event: Any) -> None:
        """Keep the newest snapshot; the diagram timer draws it at most 10 times a second."""
        self._pending_masks = event

    def _draw_pending_masks(self) -> None:
        event, self._pending_masks = self._pending_masks, None
        if event is not None and not self.evaluate_action.isChecked():
            self.diagram.set_masks(event.masks, event.step)

    def _on_training_finished(self, result: Any) -> None:
        self.stop_action.setEnabled(False)
        self._update_train_enabled()
        self.loss_plot.set_history(result.history)
        self._pending_masks = None
        if result.masks:
            self.diagram.set_masks(
                result.masks, max((m["step"] for m in result.masks.values()), default=0)
            )
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat(result.status.replace("_", " "))
        self.runs_panel.refresh()
        for action in self.export_model_actions.values():
            action.setEnabled(getattr(result, "model", None) is not None)
        test = getattr(result, "test_metrics", {}) or {}
        summary = ", ".join(f"test {k} {v:.4f}" for k, v in test.items())
        self.statusBar().showMessage(
            f"{result.status.replace('_', ' ')}: {len(result.history)} epochs"
            + (f" · {summary}" if summary else "")
            + (f" · {result.message}" if getattr(result, "message", "") else "")
        )

    def _on_training_failed(self, message: str, details: str) -> None:
        if not self.controller.running:
            self.stop_action.setEnabled(False)
            self.progress.setRange(0, 1)
            self.progress.setFormat("failed")
        self._update_train_enabled()
        error_box(self, message, details).show()

    def _runs_folder(self) -> Path | None:
        from dropout_studio.core.runs import runs_folder

        return runs_folder(self.document.path) if self.document.path else None

    def _on_training_evaluated(self, data: Any, evaluation: Any) -> None:
        self.last_data = data
        self.inside_view.sample.setRange(0, max(0, len(data.x_test) - 1))

    def _on_evaluate_toggled(self, on: bool) -> None:
        self.diagram.set_inference(on)

    # export -------------------------------------------------------------------
    def export_model_dialog(self, fmt: str) -> None:
        result = self.controller.last_result
        if result is None or getattr(result, "model", None) is None:
            error_box(self, "Train a model first: there is nothing to export yet.").show()
            return
        label, suffix = EXPORT_FORMATS[fmt]
        default = f"{self.document.project.name}{suffix}"
        if fmt == "saved_model":
            path = QFileDialog.getExistingDirectory(self, "Folder for the SavedModel")
            path = str(Path(path) / self.document.project.name) if path else ""
        else:
            path, _ = QFileDialog.getSaveFileName(self, f"Export {label}", default, label)
        if path:
            self.export_model(fmt, Path(path))

    def export_model(self, fmt: str, path: Path) -> None:
        model = self.controller.last_result.model
        self.statusBar().showMessage(f"exporting {fmt} to {path}…")

        def work() -> Path:
            from dropout_studio.engine.export import export_model

            return export_model(model, fmt, path)

        self.background.run(
            work,
            lambda out: self.statusBar().showMessage(f"exported {fmt} to {out}", 5000),
            lambda message: error_box(self, f"Export failed: {message}").show(),
        )

    def _export_file(self, suffix: str, what: str, writer: Callable[[Path], None]) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {what}", f"{self.document.project.name}.{suffix}", f"*.{suffix}"
        )
        if path:
            try:
                writer(Path(path))
            except OSError as exc:
                error_box(self, f"{path} could not be written ({exc})").show()

    # code export --------------------------------------------------------------
    def export_code(self, framework: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            f"Export {framework} script",
            f"{self.document.project.name}_{framework}.py",
            "Python (*.py)",
        )
        if path:
            self.write_code(framework, Path(path))

    def write_code(self, framework: str, path: Path) -> list[str]:
        """Write the script; returns the PyTorch differences the user is told about."""
        from dropout_studio.core.codegen import keras_script, pytorch_differences, pytorch_script

        project = self.document.project
        try:
            text = keras_script(project) if framework == "keras" else pytorch_script(project)
            path.write_text(text, encoding="utf-8")
        except (ValueError, OSError) as exc:
            error_box(self, f"The script could not be written: {exc}").show()
            return []
        notes = pytorch_differences(project) if framework == "pytorch" else []
        if notes:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "PyTorch differs here",
                f"Wrote {path}. Where PyTorch and Keras differ:\n\n• " + "\n• ".join(notes),
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("codeNotes")
            box.show()
        self.statusBar().showMessage(f"wrote {path}", 5000)
        return notes

    # experiments --------------------------------------------------------------
    def _experiment_ready(self) -> bool:
        report = self.stack_editor.report
        if self.engine_info is None:
            error_box(self, "TensorFlow is still loading: try again in a moment.").show()
            return False
        if report is None or not report.ok:
            error_box(
                self, "Fix the stack first: " + report.errors[0].message if report else "no stack"
            ).show()
            return False
        if self.experiments.running or self.controller.running:
            error_box(self, "Something is already training: stop it first.").show()
            return False
        return True

    def compare_dialog(self) -> None:
        dialog = CompareDialog(self)
        if dialog.exec():
            self.run_compare(dialog.seeds.value(), dialog.arms())

    def run_compare(self, seeds: int, arms: tuple[str, ...]) -> None:
        if not self._experiment_ready():
            return
        self.compare_view.clear()
        self.centre_tabs.setCurrentWidget(self.compare_view)
        self._start_experiment(
            compare_work(self.document.project, arms, seeds, self.document.path),
            lambda item: self.compare_view.add_run(*item),
            self.compare_view.show_summaries,
        )

    def sweep_dialog(self) -> None:
        dialog = SweepDialog(self)
        if dialog.exec():
            rates, sizes = dialog.parse()
            self.run_sweep(rates, sizes, dialog.seeds.value(), dialog.per_layer.isChecked())

    def run_sweep(
        self, rates: tuple[float, ...], sizes: tuple[int, ...], seeds: int, per_layer: bool
    ) -> None:
        if not self._experiment_ready():
            return
        import tempfile

        folder = (
            self.document.path.resolve().parent / "runs" / "sweep"
            if self.document.path
            else Path(tempfile.mkdtemp(prefix="dropout-sweep-"))
        )
        self.sweep_view.clear()
        self.centre_tabs.setCurrentWidget(self.sweep_view)
        self._start_experiment(
            sweep_work(
                self.document.project, rates, sizes, seeds, per_layer, folder, self.document.path
            ),
            self.sweep_view.add_trial,
            self.sweep_view.finish,
        )

    def _start_experiment(
        self,
        work: Callable[..., Any],
        on_report: Callable[[Any], None],
        on_done: Callable[[Any], None],
    ) -> None:
        for signal, slot in self._experiment_slots:  # only ours: others may listen too
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect(slot)
        self._experiment_slots = [
            (self.experiments.reported, on_report),
            (self.experiments.finished, on_done),
            (self.experiments.finished, self._experiment_ended),
            (self.experiments.failed, self._on_experiment_failed),
        ]
        for signal, slot in self._experiment_slots:
            signal.connect(slot)
        self.experiments.start(work)
        self.stop_experiment_action.setEnabled(True)
        self.train_action.setEnabled(False)
        self.statusBar().showMessage("experiment running (Experiments ▸ Stop to end it)")

    def _experiment_ended(self, _result: Any = None) -> None:
        self.stop_experiment_action.setEnabled(False)
        self._update_train_enabled()
        self.statusBar().showMessage("experiment finished", 5000)

    def _on_experiment_failed(self, message: str, details: str) -> None:
        self._experiment_ended()
        error_box(self, f"The experiment failed: {message}", details).show()

    # inside the network ---------------------------------------------------------
    def analyse_model(self) -> None:
        result = self.controller.last_result
        if result is None or getattr(result, "model", None) is None or self.last_data is None:
            error_box(self, "Train a model first: there is nothing to analyse yet.").show()
            return
        model, data, index = result.model, self.last_data, self.inside_view.sample.value()
        samples = self.inside_view.samples.value()
        shape = tuple(self.document.project.network.layers[0].option("shape"))
        self.inside_view.sample.setRange(0, max(0, len(data.x_test) - 1))
        self.background.run(
            lambda: analyse(model, data, index, samples, shape),
            self.inside_view.show_report,
            lambda message: error_box(self, f"Analysis failed: {message}").show(),
        )

    def train_twin(self) -> None:
        report = self.inside_view.report
        if report is None:
            self.analyse_model()
            error_box(self, "Analyse the trained model first, then train its twin.").show()
            return
        if not self._experiment_ready():
            return
        from dataclasses import replace

        project = self.document.project
        twin_project = replace(project, network=project.network.without_dropout())
        data, path = self.last_data, self.document.path
        samples = self.inside_view.samples.value()
        shape = tuple(project.network.layers[0].option("shape"))

        def work(stop: threading.Event, report_fn: Callable[[Any], None]) -> InsideReport:
            from dropout_studio.engine.train import train

            twin = train(twin_project, data, None, stop).model
            twin_report = analyse(twin, data, report.sample_index, samples, shape)
            return InsideReport(
                **{
                    **report.__dict__,
                    "twin_sparsity": twin_report.sparsity,
                    "twin_correlations": twin_report.correlations,
                    "twin_coadaptation": twin_report.coadaptation,
                    "twin_features": twin_report.features,
                }
            )

        del path
        self.centre_tabs.setCurrentWidget(self.inside_view)
        self._start_experiment(work, lambda _: None, self.inside_view.show_report)

    # demos ----------------------------------------------------------------------
    def start_demo(self, index: int) -> None:
        demo = DEMOS[index]
        if not self.confirm_discard():
            return
        project = load_preset(demo.preset)
        if demo.adjust is not None:
            project = demo.adjust(project)
        self.document.reset(project)
        self.undo_stack.clear()
        self.loss_plot.clear()
        self.demo_panel.setText(
            f"<h3>{demo.title}</h3><p>{demo.explanation}</p><p><b>Next:</b> {demo.next_step}</p>"
        )
        self.demo_dock.show()

    def set_presentation(self, on: bool) -> None:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        if not hasattr(self, "_normal_font"):
            self._normal_font = app.font()
        font = QFont(self._normal_font)
        if on:
            font.setPointSizeF(self._normal_font.pointSizeF() * 1.5)
        app.setFont(font)
        for plot in (self.loss_plot.loss_plot, self.loss_plot.metric_plot):
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(tickFont=font)
                plot.getAxis(side).label.setFont(font)
        self.diagram.setFont(font)
        self.diagram._built_for = None
        self.diagram.redraw()

    # window -------------------------------------------------------------------
    def about(self) -> None:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        info = self.engine_info or {}
        from PySide6.QtWidgets import QApplication

        if not QApplication.windowIcon().isNull():
            self.setWindowIcon(QApplication.windowIcon())
        QMessageBox.about(
            self,
            "About Dropout Studio",
            f"<b>Dropout Studio {__version__}</b><br>See which units dropout drops, and what "
            f"that does to the loss.<br><br>TensorFlow {info.get('tensorflow', 'not loaded')}"
            f"<br>Keras {info.get('keras', 'not loaded')}<br>Qt {qVersion()} (PySide6 "
            f"{pyside_version})",
        )

    def _restore_window(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 900)
        state = self.settings.value("state")
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: Any) -> None:
        if self.experiments.running:
            self.experiments.stop()
            self.experiments.wait(10.0)
        if self.controller.running:
            self.controller.stop()
            if not self.controller.wait(5.0):
                self.statusBar().showMessage("waiting for training to stop…")
        if not self.confirm_discard():
            event.ignore()
            return
        self._clear_autosave()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.background.wait(2.0)
        event.accept()
