"""File ▸ Export: the trained model (as an export job), plots, the diagram, and code."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QStatusBar, QWidget

from dropout_studio.core.document import ProjectDocument
from dropout_studio.ui.diagram import NetworkDiagram
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.jobs import Job, JobRunner
from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.state import WorkState

EXPORT_FORMATS = {
    "keras": ("Keras model (*.keras)", ".keras"),
    "saved_model": ("SavedModel folder", ""),
    "tflite": ("TFLite model (*.tflite)", ".tflite"),
    "onnx": ("ONNX model (*.onnx)", ".onnx"),
}


class ExportController(QObject):
    def __init__(
        self,
        document: ProjectDocument,
        runner: JobRunner,
        state: WorkState,
        model_of: Callable[[], Any],
        views: tuple[LossPlot, NetworkDiagram],
        status: QStatusBar,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.document, self.runner, self.model_of = document, runner, model_of
        self.loss_plot, self.diagram = views
        self.status, self.parent_widget = status, parent
        self.model_actions: dict[str, QAction] = {}
        for fmt, (label, _) in EXPORT_FORMATS.items():
            action = self._action(
                f"Trained model as {label.split(' (')[0]}…", partial(self.model_dialog, fmt)
            )
            state.register("export_model", action)
            self.model_actions[fmt] = action
        self.file_actions = [
            self._action("Loss plot as PNG…", lambda: self._file("png", self.loss_plot.export_png)),
            self._action(
                "Loss history as CSV…", lambda: self._file("csv", self.loss_plot.export_csv)
            ),
            self._action("Diagram as PNG…", lambda: self._file("png", self.diagram.export_png)),
            self._action("Diagram as SVG…", lambda: self._file("svg", self.diagram.export_svg)),
        ]
        self.code_actions = [
            self._action("Stack as Keras script…", lambda: self.code_dialog("keras")),
            self._action("Stack as PyTorch script…", lambda: self.code_dialog("pytorch")),
        ]

    def _action(self, text: str, slot: Callable[[], Any]) -> QAction:
        action = QAction(text, self.parent_widget)
        action.triggered.connect(lambda _=False: slot())
        return action

    # the trained model ------------------------------------------------------------------
    def model_dialog(self, fmt: str) -> None:
        if self.model_of() is None:
            error_box(self.parent_widget, "Train a model first: there is nothing to export.").show()
            return
        label, suffix = EXPORT_FORMATS[fmt]
        name = self.document.project.name
        if fmt == "saved_model":
            folder = QFileDialog.getExistingDirectory(self.parent_widget, "Folder for the model")
            path = str(Path(folder) / name) if folder else ""
        else:
            path, _ = QFileDialog.getSaveFileName(
                self.parent_widget, f"Export {label}", f"{name}{suffix}", label
            )
        if path:
            self.export_model(fmt, Path(path))

    def export_model(self, fmt: str, path: Path) -> Job | None:
        model = self.model_of()
        if model is None:
            return None
        self.status.showMessage(f"exporting {fmt} to {path}…")

        def work(_ctx: Any) -> Path:
            from dropout_studio.engine.export import export_model

            return Path(export_model(model, fmt, path))

        job = self.runner.start("export", work)
        job.returned.connect(lambda out: self.status.showMessage(f"exported {fmt} to {out}", 5000))
        job.errored.connect(
            lambda message, details: error_box(
                self.parent_widget, f"Export failed: {message}", details
            ).show()
        )
        return job

    # plots, diagram, code ----------------------------------------------------------------
    def _file(self, suffix: str, writer: Callable[[Path], None]) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            f"Export {suffix.upper()}",
            f"{self.document.project.name}.{suffix}",
            f"*.{suffix}",
        )
        if path:
            try:
                writer(Path(path))
            except OSError as exc:
                error_box(self.parent_widget, f"{path} could not be written ({exc})").show()

    def code_dialog(self, framework: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
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
            error_box(self.parent_widget, f"The script could not be written: {exc}").show()
            return []
        notes = pytorch_differences(project) if framework == "pytorch" else []
        if notes:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "PyTorch differs here",
                f"Wrote {path}. Where PyTorch and Keras differ:\n\n• " + "\n• ".join(notes),
                QMessageBox.StandardButton.Ok,
                self.parent_widget,
            )
            box.setObjectName("codeNotes")
            box.show()
        self.status.showMessage(f"wrote {path}", 5000)
        return notes
