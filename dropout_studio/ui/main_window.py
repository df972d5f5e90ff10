"""The main window: only the composition of views and controllers.

Views listen to one :class:`ProjectDocument`; every edit is an undo command that swaps whole
immutable projects. Long work runs as jobs on one :class:`JobRunner`; :class:`WorkState` decides
what may be pressed. The controllers (files, training, experiments, inside, exports, demos)
never import this module: the window builds them, puts their actions into menus and wires
their signals. Nothing but ``ui/app.py`` imports the window. How the window fits the screen
(first size, scrolling tab pages, presentation mode) is in ``ui/window_layout.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
)

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
from dropout_studio.ui.help import HelpController
from dropout_studio.ui.inside import InsideView
from dropout_studio.ui.inside_control import InsideController
from dropout_studio.ui.jobs import JobRunner
from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.menus import build_menus
from dropout_studio.ui.panels import DatasetPanel, TrainingPanel
from dropout_studio.ui.properties import LayerProperties
from dropout_studio.ui.runs_panel import RunsPanel
from dropout_studio.ui.shortcuts import EditCommand, ProjectUndoKeys, unique_shortcuts
from dropout_studio.ui.stack_editor import LayerStackEditor
from dropout_studio.ui.start_page import StartPageController
from dropout_studio.ui.state import WorkState
from dropout_studio.ui.training import Trainer, TrainingBinder
from dropout_studio.ui.window_layout import (
    CalmProgressBar,
    MessageBar,
    PageTabs,
    Presentation,
    available,
    first_size,
    fit_side,
    fit_to_screen,
    scrolled,
    share_space,
)

STATE_VERSION = 2  # 1 had a bottom "Demo" dock; its saved states are ignored


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
        self.setStatusBar(MessageBar())
        self.engine_label = QLabel()
        self.progress = CalmProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        # Both permanent: a temporary message then never draws over the engine's state.
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.presentation = Presentation(self)
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
        """Stack | diagram over the plot tabs | side tabs. The diagram takes what the others
        leave (stretch), and every tab page scrolls rather than growing the window."""
        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.left_splitter.addWidget(self.stack_editor)
        self.left_splitter.addWidget(scrolled(self.properties))
        self.centre_splitter = QSplitter(Qt.Orientation.Vertical)
        self.centre_splitter.addWidget(self.diagram)
        self.centre_tabs = PageTabs(
            (self.loss_plot, "Loss"),
            (self.compare_view, "Compare"),
            (self.sweep_view, "Sweep"),
            (self.inside_view, "Inside"),
        )
        self.centre_splitter.addWidget(self.centre_tabs)
        self.side_tabs = PageTabs(
            (self.dataset_panel, "Dataset"),
            (self.training_panel, "Training"),
            (self.evaluate_panel, "Evaluate"),
            (self.runs_panel, "Runs"),
        )
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for part in (self.left_splitter, self.centre_splitter, self.side_tabs):
            self.splitter.addWidget(part)
        for splitter in (self.splitter, self.centre_splitter, self.left_splitter):
            splitter.setChildrenCollapsible(False)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)

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
            self.files.replace_project, self.side_tabs, (self.loss_plot, self.diagram), self
        )
        self.help = HelpController(self, lambda: self.engine_info)
        self.start = StartPageController(
            self.pages, self.files, self.demos, self.help, self.side_tabs, self.settings
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
        self.toolbar = build_menus(
            self,
            self.files,
            self.training,
            self.experiments,
            self.exports,
            self.demos,
            (self.undo_action, self.redo_action),
            self.quit_action,
            (*self.help.actions[:2], self.start.action, self.help.actions[2]),
        )
        self.undo_keys = ProjectUndoKeys(self, self.undo_action, self.redo_action)

    def _wire(self) -> None:
        self.engine.loaded.connect(lambda info: self.training.on_engine_ready())
        self.engine.loaded.connect(
            lambda info: self.training_panel.set_devices(info.get("devices", ["cpu"]))
        )
        self.engine.failed.connect(lambda *_: self.training.on_engine_failed())
        self.training.trained.connect(self.inside.on_trained)
        self.training.model_retired.connect(self.inside.forget)
        self.training.run_started.connect(self.inside.on_run_started)
        self.training.trained.connect(lambda _outcome: self.runs_panel.refresh())
        self.runs_panel.overlays_changed.connect(self.loss_plot.set_overlays)
        self.document.subscribe(self._on_document_changed)
        self.document.subscribe(lambda _doc: self.runs_panel.reset(), ("replaced",))
        self.document.subscribe(lambda _doc: self.runs_panel.refresh(), ("path",))
        self.demos.presentation_toggled.connect(self._on_demos_presentation_toggled)

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
            self.undo_stack.push(EditCommand(self.document, before, project, description))

    def _on_document_changed(self, document: ProjectDocument) -> None:
        self.setWindowTitle(f"{document.title.removesuffix(' *')}[*] — Dropout Studio")
        self.setWindowModified(document.dirty)
        if "network" in document.changes:
            self.diagram.set_network(document.project.network)

    # window -----------------------------------------------------------------------------
    def _restore_window(self) -> None:
        """The last normal geometry (never a full-screen one), clamped to this screen."""
        geometry = self.settings.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(first_size(self))
            room = available(self)
            self.move(room.center() - self.rect().center())
        fit_to_screen(self)
        share_space(self)
        state = self.settings.value("state")
        if state is not None:
            self.restoreState(state, STATE_VERSION)

    def _on_demos_presentation_toggled(self, on: bool) -> None:
        """Full screen; the stack editor steps aside so the diagram and plots get its room."""
        if on:
            self._normal_sizes = self.splitter.sizes()
        self.left_splitter.setVisible(not on)
        self.presentation.set(on)
        if on:
            QTimer.singleShot(0, lambda: fit_side(self))  # once the larger font is laid out
        elif getattr(self, "_normal_sizes", None):
            self.splitter.setSizes(self._normal_sizes)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.fit_to_screen()  # the real frame is known now
        QTimer.singleShot(0, self.fit_to_screen)  # and once the window system has placed it

    def fit_to_screen(self) -> None:
        fit_to_screen(self)

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
        self.settings.setValue("geometry", self.presentation.geometry_to_save())
        self.settings.setValue("state", self.saveState(STATE_VERSION))
        self.demos.presentation_action.setChecked(False)  # the application's font back
        event.accept()
