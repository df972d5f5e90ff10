"""Compare and sweep as jobs: the Experiments menu's actions, their dialogs and their views.

Each experiment is an exclusive job over an immutable project snapshot; finished runs arrive as
``progressed`` events and are drawn at once. The one Stop (``JobRunner.stop``) ends the current
run or trial and drops it: the views then show only what finished, without an error.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QProgressBar, QStatusBar, QTabWidget, QWidget

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import Project
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.experiment_dialogs import CompareDialog, SweepDialog
from dropout_studio.ui.experiments import CompareView, SweepView
from dropout_studio.ui.jobs import Job, JobContext, JobRunner
from dropout_studio.ui.state import WorkState


def compare_job(
    project: Project, arms: tuple[str, ...], seeds: int, project_file: Path | None
) -> Callable[[JobContext], Any]:
    def work(ctx: JobContext) -> Any:
        from dropout_studio.engine.compare import compare

        return compare(
            project,
            seeds,
            arms,
            project_file,
            on_run=lambda arm, seed, result: ctx.report((arm, seed, result)),
            stop=ctx.stop,
        )

    return work


def sweep_job(
    project: Project,
    rates: tuple[float, ...],
    sizes: tuple[int, ...],
    seeds: int,
    per_layer: bool,
    folder: Path,
    project_file: Path | None,
) -> Callable[[JobContext], Any]:
    def work(ctx: JobContext) -> Any:
        from dropout_studio.engine.sweep import SweepPlan, run_sweep

        plan = SweepPlan(rates=rates, sizes=sizes, seeds=seeds, per_layer=per_layer)
        return run_sweep(project, plan, folder, project_file, ctx.report, ctx.stop)

    return work


class ExperimentsController(QObject):
    """Owns Compare… and Sweep…; the views stay on screen with their partial results."""

    def __init__(
        self,
        document: ProjectDocument,
        runner: JobRunner,
        state: WorkState,
        views: tuple[CompareView, SweepView, QTabWidget],
        progress: QProgressBar,
        status: QStatusBar,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.document, self.runner, self.state = document, runner, state
        self.compare_view, self.sweep_view, self.tabs = views
        self.progress, self.status, self.parent_widget = progress, status, parent
        self.job: Job | None = None
        self.compare_action = QAction("&Compare with and without dropout…", parent)
        self.compare_action.triggered.connect(lambda _=False: self.compare_dialog())
        self.sweep_action = QAction("&Sweep dropout rates…", parent)
        self.sweep_action.triggered.connect(lambda _=False: self.sweep_dialog())
        state.register("compare", self.compare_action)
        state.register("sweep", self.sweep_action)
        document.subscribe(self._on_document_replaced, ("replaced",))

    def compare_dialog(self) -> None:
        dialog = CompareDialog(self.parent_widget)
        if dialog.exec():
            self.run_compare(dialog.seeds.value(), dialog.arms())

    def sweep_dialog(self) -> None:
        dialog = SweepDialog(self.parent_widget, self.document.project.dataset.train_size)
        if dialog.exec():
            rates, sizes = dialog.parse()
            self.run_sweep(rates, sizes, dialog.seeds.value(), dialog.per_layer.isChecked())

    def run_compare(self, seeds: int, arms: tuple[str, ...]) -> Job | None:
        if not self.compare_action.isEnabled():
            return None
        self.compare_view.clear()
        self.tabs.setCurrentWidget(self.compare_view)
        work = compare_job(self.document.project, arms, seeds, self.document.path)
        job = self._start("compare", work)
        job.progressed.connect(lambda item: self.compare_view.add_run(*item))
        job.returned.connect(
            lambda summaries: self.compare_view.show_summaries(summaries, job.stopping)
        )
        return job

    def run_sweep(
        self, rates: tuple[float, ...], sizes: tuple[int, ...], seeds: int, per_layer: bool
    ) -> Job | None:
        if not self.sweep_action.isEnabled():
            return None
        path = self.document.path
        folder = (
            path.resolve().parent / "runs" / "sweep"
            if path
            else Path(tempfile.mkdtemp(prefix="dropout-sweep-"))
        )
        self.sweep_view.clear()
        self.tabs.setCurrentWidget(self.sweep_view)
        work = sweep_job(self.document.project, rates, sizes, seeds, per_layer, folder, path)
        job = self._start("sweep", work)
        job.progressed.connect(self.sweep_view.add_trial)
        job.returned.connect(lambda rows: self.sweep_view.finish(rows, job.stopping))
        return job

    def _start(self, kind: str, work: Callable[[JobContext], Any]) -> Job:
        job = self.runner.start(kind, work)
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"{kind} running…")
        self.status.showMessage(f"{kind} running (Stop ends it, keeping the finished runs)")
        job.errored.connect(
            lambda message, details: error_box(
                self.parent_widget, f"The {kind} failed: {message}", details
            ).show()
        )
        job.finished.connect(lambda: self._on_job_finished(job))
        self.job = job
        return job

    def _on_job_finished(self, job: Job) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        what = "stopped" if job.stopping else ("failed" if job.error else "finished")
        self.progress.setFormat(f"{job.kind} {what}")
        self.status.showMessage(f"{job.kind} {what}", 5000)

    def _on_document_replaced(self, _document: ProjectDocument) -> None:
        self.compare_view.clear()
        self.sweep_view.clear()
