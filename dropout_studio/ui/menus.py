"""Menus and the Run toolbar, filled with the controllers' actions (no behaviour of its own)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QToolBar

from dropout_studio.ui.backend_setting import BackendSetting
from dropout_studio.ui.demos import DemosController
from dropout_studio.ui.experiment_control import ExperimentsController
from dropout_studio.ui.exports import ExportController
from dropout_studio.ui.files import FilesController
from dropout_studio.ui.training import TrainingBinder

TIPS = {
    "&New": "New project",
    "&Open…": "Open a project file",
    "&Save": "Save the project",
    "Save &As…": "Save the project under a new name",
}


def build_menus(
    window: QMainWindow,
    files: FilesController,
    training: TrainingBinder,
    experiments: ExperimentsController,
    exports: ExportController,
    demos: DemosController,
    edit_actions: tuple[QAction, QAction],
    quit_action: QAction,
    help_actions: tuple[QAction, ...],
    settings: QSettings | None = None,
) -> QToolBar:
    """Fill the menu bar; returns the Run toolbar (Train and Stop keep their visible texts)."""
    undo, redo = edit_actions
    settings = settings if settings is not None else getattr(window, "settings", QSettings())
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for action in (files.new_action, files.open_action):
        action.setStatusTip(TIPS[action.text()])
        file_menu.addAction(action)
    file_menu.addMenu(files.recent_menu)
    presets = file_menu.addMenu("&Presets")
    for action in files.preset_actions:
        presets.addAction(action)
    file_menu.addSeparator()
    for action in (files.save_action, files.save_as_action):
        action.setStatusTip(TIPS[action.text()])
        file_menu.addAction(action)
    file_menu.addSeparator()
    export = file_menu.addMenu("&Export")
    for action in exports.model_actions.values():
        export.addAction(action)
    export.addSeparator()
    for action in exports.file_actions:
        export.addAction(action)
    export.addSeparator()
    for action in exports.code_actions:
        export.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(quit_action)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(undo)
    edit_menu.addAction(redo)
    run_menu = bar.addMenu("&Run")
    for action in (training.train_action, training.stop_action, training.evaluate_action):
        run_menu.addAction(action)
    run_menu.addSeparator()
    run_menu.addMenu(BackendSetting(settings, window).menu)
    experiment_menu = bar.addMenu("E&xperiments")
    experiment_menu.addAction(experiments.compare_action)
    experiment_menu.addAction(experiments.sweep_action)
    experiment_menu.addAction(training.stop_action)
    demo_menu = bar.addMenu("&Demos")
    for action in demos.demo_actions:
        demo_menu.addAction(action)
    demo_menu.addSeparator()
    demo_menu.addAction(demos.presentation_action)
    help_menu = bar.addMenu("&Help")
    for action in help_actions:
        if action is help_actions[-1]:
            help_menu.addSeparator()
        help_menu.addAction(action)
    toolbar = QToolBar("Run")
    toolbar.setObjectName("runToolbar")
    for action in (training.train_action, training.stop_action, training.evaluate_action):
        toolbar.addAction(action)
    toolbar.addSeparator()
    toolbar.addAction(undo)
    toolbar.addAction(redo)
    window.addToolBar(toolbar)
    return toolbar
