"""The main window: only the composition of views and controllers.

Views listen to one :class:`ProjectDocument`; every edit is an undo command that swaps whole
immutable projects. Long work runs as jobs on one :class:`JobRunner`; :class:`WorkState` decides
what may be pressed. The controllers (files, training, experiments, inside, exports, demos)
never import this module: the window builds them, puts their actions into menus and wires
their signals. Nothing but ``ui/app.py`` imports the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QWidget,
)

from dropout_studio import __version__
from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import Project, load_preset
from dropout_studio.ui.demos import DemosController
from dropout_studio.ui.diagram import NetworkDiagram
from dropout_studio.ui.engine_status import DataCache, EngineController
from dropout_studio.ui.evaluate import EvaluatePanel
from dropout_studio.ui.experiment_control import ExperimentsController
from dropout_studio.ui.experiments import CompareView, SweepView
from dropout_studio.ui.exports import ExportController
from dropout_studio.ui.files import FilesController
from dropout_studio.ui.inside import InsideView
from dropout_studio.ui.inside_control import InsideController
from dropout_studio.ui.jobs import JobRunner
from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.menus import build_menus
from dropout_studio.ui.panels import DatasetPanel, TrainingPanel
from dropout_studio.ui.properties import LayerProperties
from dropout_studio.ui.runs_panel import RunsPanel
from dropout_studio.ui.shortcuts import ProjectUndoKeys, unique_shortcuts
from dropout_studio.ui.stack_editor import LayerStackEditor
from dropout_studio.ui.state import WorkState
from dropout_studio.ui.training import Trainer, TrainingBinder


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


def default_autosave_folder() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".dropout-studio") / "autosave"


class MainWindow(QMainWindow):
    def __init__(
        self,
        document: ProjectDocument | None = None,
        trainer: Trainer | None = None,
        settings: QSettings | None = None,
        autosave_folder: Path | None = None,
    ) -> None:
        """``trainer``: a function with ``engine.train``'s signature ``(project, data,
        on_event, stop) -> result`` used instead of the engine (tests and benchmarks)."""
        super().__init__()
        self.document = document or ProjectDocument(load_preset("mlp-classic"))
        self.settings = settings or QSettings("Dropout Studio", "Dropout Studio")
        self.runner = JobRunner()
        self.state = WorkState(self.runner, self.document)
        self.cache = DataCache()
        self.undo_stack = QUndoStack(self)
        self._close_confirmed = False
        self._build_views()
        self._build_layout()
        self.engine_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addWidget(self.engine_label)
        self._build_controllers(trainer, autosave_folder or default_autosave_folder())
        self._wire()
        self._on_document_changed(self.document)
        self._restore_window()

    # composition ------------------------------------------------------------------------
    def _build_views(self) -> None:
        doc = self.document
        self.stack_editor = LayerStackEditor(doc, self.edit)
        self.properties = LayerProperties(doc, self.edit)
        self.stack_editor.selection_changed.connect(self.properties.show_layer)
        self.properties.show_layer(self.stack_editor.selected_index())
        self.diagram = NetworkDiagram()
        self.loss_plot = LossPlot()
        self.dataset_panel = DatasetPanel(doc, self.edit)
        self.training_panel = TrainingPanel(doc, self.edit)
        self.evaluate_panel = EvaluatePanel()
        self.compare_view = CompareView()
        self.sweep_view = SweepView()
        self.inside_view = InsideView()
        self.runs_panel = RunsPanel(self._runs_folder, self.runner)

    def _build_layout(self) -> None:
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.stack_editor)
        left.addWidget(self.properties)
        left.setSizes([330, 420])
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.diagram)
        self.centre_tabs = QTabWidget()
        tabs: tuple[tuple[QWidget, str], ...] = (
            (self.loss_plot, "Loss"),
            (self.compare_view, "Compare"),
            (self.sweep_view, "Sweep"),
            (self.inside_view, "Inside"),
        )
        for widget, title in tabs:
            self.centre_tabs.addTab(widget, title)
        centre.addWidget(self.centre_tabs)
        centre.setSizes([380, 400])
        self.side_tabs = QTabWidget()
        tabs = (
            (self.dataset_panel, "Dataset"),
            (self.training_panel, "Training"),
            (self.evaluate_panel, "Evaluate"),
            (self.runs_panel, "Runs"),
        )
        for widget, title in tabs:
            self.side_tabs.addTab(widget, title)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for part in (left, centre, self.side_tabs):
            self.splitter.addWidget(part)
        self.splitter.setSizes([430, 700, 330])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self.demo_dock = QDockWidget("Demo", self)
        self.demo_dock.setObjectName("demoDock")
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.demo_dock)

    def _build_controllers(self, trainer: Trainer | None, autosave_folder: Path) -> None:
        doc, runner, state, bar = self.document, self.runner, self.state, self.statusBar()
        self.engine = EngineController(
            doc, runner, state, self.cache, self.dataset_panel, self.engine_label, self
        )
        self.training = TrainingBinder(
            doc,
            runner,
            state,
            self.cache,
            (self.loss_plot, self.diagram, self.evaluate_panel),
            self.progress,
            bar,
            self,
            trainer,
        )
        self.experiments = ExperimentsController(
            doc,
            runner,
            state,
            (self.compare_view, self.sweep_view, self.centre_tabs),
            self.progress,
            bar,
            self,
        )
        self.inside = InsideController(doc, runner, state, self.inside_view, self.centre_tabs, self)
        self.files = FilesController(
            doc,
            self.undo_stack,
            state,
            self.training.stop,
            self.settings,
            autosave_folder,
            bar,
            self,
        )
        self.exports = ExportController(
            doc,
            runner,
            state,
            self._trained_model,
            (self.loss_plot, self.diagram),
            bar,
            self,
        )
        self.demos = DemosController(
            self.files.replace_project, self.demo_dock, (self.loss_plot, self.diagram), self
        )
        K = QKeySequence.StandardKey
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(unique_shortcuts(QKeySequence(K.Undo)))
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        redo_keys = [*QKeySequence.keyBindings(K.Redo), QKeySequence("Ctrl+Shift+Z")]
        self.redo_action.setShortcuts(unique_shortcuts(*redo_keys))
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence(K.Quit))
        self.quit_action.triggered.connect(lambda _=False: self.close())
        about = QAction("&About Dropout Studio", self)
        about.triggered.connect(lambda _=False: self.about())
        self.toolbar = build_menus(
            self,
            self.files,
            self.training,
            self.experiments,
            self.exports,
            self.demos,
            (self.undo_action, self.redo_action),
            (self.quit_action, about),
        )
        self.undo_keys = ProjectUndoKeys(self, self.undo_action, self.redo_action)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.undo_keys)

    def _wire(self) -> None:
        self.engine.loaded.connect(lambda info: self.training.on_engine_ready())
        self.engine.loaded.connect(
            lambda info: self.training_panel.set_devices(info.get("devices", ["cpu"]))
        )
        self.engine.failed.connect(lambda *_: self.training.on_engine_failed())
        self.training.trained.connect(self.inside.on_trained)
        self.training.trained.connect(lambda _outcome: self.runs_panel.refresh())
        self.runs_panel.overlays_changed.connect(self.loss_plot.set_overlays)
        self.document.subscribe(self._on_document_changed)
        self.document.subscribe(lambda _doc: self.runs_panel.reset(), ("replaced",))
        self.document.subscribe(lambda _doc: self.runs_panel.refresh(), ("path",))

    # shortcuts for scripts, tests and benchmarks ------------------------------------------
    @property
    def train_action(self) -> QAction:
        return self.training.train_action

    @property
    def stop_action(self) -> QAction:
        return self.training.stop_action

    @property
    def evaluate_action(self) -> QAction:
        return self.training.evaluate_action

    @property
    def engine_info(self) -> dict[str, Any] | None:
        return self.state.engine_info

    def train(self) -> None:
        self.training.train()

    def stop(self) -> None:
        self.training.stop()

    def start_engine_loading(self) -> None:
        self.engine.start()

    def recover_autosave(self, ask: Any = None) -> bool:
        return self.files.recover_autosave(ask)

    def _trained_model(self) -> Any:
        last = self.training.last
        return getattr(last.result, "model", None) if last is not None else None

    def _runs_folder(self) -> Path | None:
        from dropout_studio.core.runs import runs_folder

        return runs_folder(self.document.path) if self.document.path else None

    # editing ----------------------------------------------------------------------------
    def edit(self, project: Project, description: str) -> None:
        """Every change of the project goes through here, as one undoable step."""
        before = self.document.project
        if project != before:
            self.undo_stack.push(_EditCommand(self.document, before, project, description))

    def _on_document_changed(self, document: ProjectDocument) -> None:
        self.setWindowTitle(f"{document.title.removesuffix(' *')}[*] — Dropout Studio")
        self.setWindowModified(document.dirty)
        if "network" in document.changes:
            self.diagram.set_network(document.project.network)

    # window -----------------------------------------------------------------------------
    def about(self) -> None:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        info = self.engine_info or {}
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
        """Ask first (stop the job? unsaved changes?), then stop; never wait for a thread here:
        the window closes when the job's ``finished`` arrives."""
        if not self._close_confirmed:
            if self.state.busy and not self.files.confirm_stop("quit"):
                event.ignore()
                return
            if not self.files.confirm_discard():
                event.ignore()
                return
            self._close_confirmed = True
        job = self.runner.current
        self.training.stop()  # a queued run is cancelled, a running job asked to stop
        self.runner.stop_all()
        if job is not None and job.running:
            self.statusBar().showMessage(f"stopping the {job.kind}; the window then closes…")
            job.finished.connect(self.close)
            event.ignore()
            return
        self.files.release_autosave()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        event.accept()
