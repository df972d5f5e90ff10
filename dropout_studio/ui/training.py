"""The training binder: Train / Stop / Evaluate mode, one training job, and its views.

Train snapshots the project (immutable) and starts a ``train`` job on the job runner; pressed
while TensorFlow loads, it queues that snapshot and starts it once the engine is ready (Stop
cancels the queue at once). The job loads the data (or reuses the preview's), calls the engine's
``train(project, data, on_event, stop)``, writes the run folder of a saved project, and evaluates
on the test set, all off the GUI thread. A failure to write the run folder is reported as such:
the finished epochs are still shown.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStatusBar, QWidget

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import Project
from dropout_studio.ui.diagram import NetworkDiagram
from dropout_studio.ui.engine_status import DataCache, DataProgress, load_data_in_job
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.evaluate import EvaluatePanel, with_probabilities
from dropout_studio.ui.jobs import Job, JobContext, JobRunner, describe
from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.state import WorkState
from dropout_studio.ui.window_layout import CalmProgressBar
from dropout_studio.ui.words import count

log = logging.getLogger("dropout_studio")
Trainer = Callable[[Project, Any, Callable[[Any], None], Any], Any]


@dataclass
class TrainOutcome:
    """What one training job returns: the engine's result and what came after it."""

    project: Project
    result: Any  # engine TrainingResult (or a test double with the same fields)
    data: Any  # engine Dataset
    evaluation: Any = None  # engine Evaluation with probabilities, or None
    run_folder: Path | None = None
    save_error: str = ""
    save_warning: str = ""  # the run went to a fallback folder: say where

    def describes(self, project: Project) -> bool:
        """Whether this run's model is ``project``'s stack trained on its dataset (an edit
        since makes the model, and what was shown of it, the old stack's)."""
        trained = self.project
        return (trained.network, trained.dataset) == (project.network, project.dataset)


@dataclass(frozen=True)
class DataLoaded:
    summary: str


class TrainingBinder(QObject):
    """Owns the Train, Stop and Evaluate mode actions and the one training job."""

    trained = Signal(object)  # TrainOutcome (finished, early stopped, stopped or NaN-failed)
    model_retired = Signal()  # a failed run had reset the last model in place: views let go
    run_started = Signal()  # the last model is being replaced (or retrained in place)

    def __init__(
        self,
        document: ProjectDocument,
        runner: JobRunner,
        state: WorkState,
        cache: DataCache,
        views: tuple[LossPlot, NetworkDiagram, EvaluatePanel],
        progress: CalmProgressBar,
        status: QStatusBar,
        parent: QWidget,
        trainer: Trainer | None = None,
    ) -> None:
        super().__init__(parent)
        self.document, self.runner, self.state, self.cache = document, runner, state, cache
        self.loss_plot, self.diagram, self.evaluate_panel = views
        self.progress, self.status, self.parent_widget = progress, status, parent
        self.trainer = trainer
        self.job: Job | None = None
        self.queued: tuple[Project, Path | None] | None = None
        self.last: TrainOutcome | None = None
        # The engine's compiled steps (a StepCache), kept from run to run and touched only by
        # the train job: a Train after a rate, seed, learning-rate or epoch change starts
        # without tracing again (0.5-1 s on a 2-core machine). A reused step trains the last
        # run's model in place, so export and analysis wait while a run trains (state.py).
        self.steps: Any = None
        self.fresh_steps = False  # another project: the next run builds its own step
        self.epochs_planned = 0
        self.steps_per_epoch = 1
        self.started_at = 0.0
        self._pending_masks: Any = None
        self._latest_progress: Any = None  # the run's latest progress report
        self.train_action = self._action("▶ Train", self.train, "Ctrl+Return")
        self.stop_action = self._action("■ Stop", self.stop, "Esc")
        self.evaluate_action = QAction("Evaluate mode", parent)
        self.evaluate_action.setCheckable(True)
        self.evaluate_action.setToolTip("Show the network as it predicts: dropout off")
        self.evaluate_action.toggled.connect(self.diagram.set_inference)
        state.register("train", self.train_action)
        state.register("stop", self.stop_action)
        self.progress.setFormat("idle")
        document.subscribe(self._on_document_replaced, ("replaced",))
        document.subscribe(self._on_stack_edited, ("network", "dataset"))

    def _action(self, text: str, slot: Callable[[], None], key: str) -> QAction:
        action = QAction(text, self.parent_widget)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(lambda _=False: slot())
        return action

    # commands -------------------------------------------------------------------
    def train(self) -> None:
        """Start (or, while TensorFlow loads, queue) a run of the project as it is now."""
        if not self.train_action.isEnabled():
            return
        snapshot = (self.document.project, self.document.path)
        self.evaluate_action.setChecked(False)
        self.loss_plot.clear(keep_axes=True)
        self.evaluate_panel.clear()  # it described the previous model
        self.progress.setRange(0, 0)
        if self.state.engine != "ready":
            self.queued = snapshot
            self.progress.setFormat("queued: waiting for TensorFlow…")
            self.status.showMessage("Train pressed: the run starts once TensorFlow has loaded")
            self.state.set(queued=True)
            return
        self._start(*snapshot)

    def stop(self) -> None:
        """The one Stop: cancels a queued run at once, or asks the running job to stop."""
        if self.queued is not None:
            self.queued = None
            self.progress.setRange(0, 1)
            self.progress.setFormat("cancelled")
            self.state.set(queued=False)
        elif self.runner.current is not None:
            self.runner.stop()
            self.progress.setFormat("stopping…")

    def on_engine_ready(self) -> None:
        if self.queued is not None:
            project, path = self.queued
            self.queued = None
            self.state.queued = False  # the job takes over as the busy state
            self._start(project, path)

    def on_engine_failed(self) -> None:
        if self.queued is not None:
            self.stop()

    # the job ------------------------------------------------------------------------
    def _start(self, project: Project, path: Path | None) -> None:
        self.epochs_planned = project.training.epochs
        self._latest_progress = None
        self.started_at = time.perf_counter()
        self.progress.setFormat("preparing…")
        # An export or analysis started before Train may still read the last model.
        readers = any(job.kind in ("export", "analysis") for job in self.runner.jobs())
        reuse = not readers and not self.fresh_steps
        self.fresh_steps = False
        job = self.runner.start("train", lambda ctx: self._work(project, path, ctx, reuse))
        self.run_started.emit()
        job.progressed.connect(self._on_job_progressed)
        job.delivered.connect(self._draw_frame)
        job.returned.connect(self._on_job_returned)
        job.errored.connect(self._on_job_errored)
        self.job = job

    def _work(
        self, project: Project, path: Path | None, ctx: JobContext, reuse: bool = False
    ) -> TrainOutcome:
        """Runs in the pool: never touches a widget, only reports and returns."""
        data = load_data_in_job(self.cache, project.dataset, project.training.seed, path, ctx)
        ctx.report(DataLoaded(data.summary()))
        folder = None
        if path is not None:
            from dropout_studio.core.runs import new_run_folder

            folder = new_run_folder(path, project.name)
        if self.trainer is not None:
            result = self.trainer(project, data, ctx.report, ctx.stop)
        else:
            from dropout_studio.engine.train import StepCache, train

            if not reuse or self.steps is None:
                self.steps = StepCache(limit=1)
            self.steps.reused = False
            log_dir = str(folder / "tensorboard") if folder else None
            result = train(project, data, ctx.report, ctx.stop, log_dir=log_dir, steps=self.steps)
        outcome = TrainOutcome(project, result, data)
        if folder is not None and result.history:
            try:
                from dropout_studio.engine.export import write_run

                def fell_back(message: str) -> None:
                    outcome.save_warning = message

                outcome.run_folder = write_run(
                    folder,
                    project,
                    result,
                    fallback_parent=folder.parent,  # the runs folder
                    on_warning=fell_back,
                )
            except Exception as exc:  # the run itself is fine: say what could not be saved
                outcome.save_error = f"{folder} could not be written ({describe(exc)})"
                log.error("%s\n%s", outcome.save_error, traceback.format_exc())
        if result.model is not None and result.history and result.status != "failed":
            from dropout_studio.engine.evaluate import evaluate

            outcome.evaluation = with_probabilities(evaluate(result.model, data), project)
        return outcome

    def _on_job_progressed(self, event: Any) -> None:
        if isinstance(event, DataLoaded):
            self.status.showMessage(event.summary, 4000)
            if not self.job or not self.job.stopping:
                self.progress.setRange(0, 0)  # busy again: building and tracing the model
                self.progress.setFormat("preparing…")
            return
        if isinstance(event, DataProgress):
            if event.percent is not None:
                self.progress.setRange(0, 100)
                self.progress.setValue(event.percent)
            if not self.job or not self.job.stopping:
                self.progress.setFormat(event.describe())
            self.status.showMessage(event.describe())
            return
        kind = getattr(event, "kind", "")
        if kind == "started":
            self.steps_per_epoch = int(event.metrics.get("steps_per_epoch", 1))
            epochs = max(1, int(event.metrics.get("epochs", 1)))
            self.progress.setRange(0, epochs)
            self.loss_plot.begin_live(epochs)
            self.progress.setValue(0)
            self.status.showMessage(f"training on {event.message}")
        elif kind == "epoch_ended":
            self.loss_plot.add_epoch(event.metrics)
            self.progress.setValue(event.epoch + 1)
        elif kind == "progress":
            self._show_progress(event)
        elif kind == "masks_recorded":
            self._pending_masks = event  # drawn with the batch (_draw_frame)

    def _show_progress(self, event: Any) -> None:
        steps = max(1, self.steps_per_epoch)
        self.loss_plot.add_batch_loss(
            event.epoch + event.batch / steps, float(event.metrics.get("loss", float("nan")))
        )
        self._latest_progress = event

    def _write_progress(self) -> None:
        """The bar's text from the latest progress report and the finished epochs (the bar's
        value): reports come every 50 ms, so with 2 ms epochs the text lagged the bar by ~25
        epochs. The batch is named only for the epoch its report came from."""
        event, planned = self._latest_progress, self.epochs_planned
        if event is None or (self.runner.current and self.runner.current.stopping):
            return
        current = event.epoch + 1  # the epoch the report was sent in
        epoch = min(max(current, self.progress.value() + 1), planned)
        batch = f" · batch {event.batch}" if epoch == current else ""
        elapsed = time.perf_counter() - self.started_at
        left = elapsed / max(epoch, 1) * max(planned - epoch, 0)
        self.progress.setFormat(f"epoch {epoch}/{planned}{batch} · {left:.0f} s left")

    def _draw_frame(self) -> None:
        """After each batch of reports (at most every ``REPORT_FRAME_MS`` while a run trains):
        the latest masks, the progress bar and, when due, the curves, all in one repaint.

        Each view kept its own timer before (masks 10, progress 10, curves 5 a second, and
        the job's wake-ups beside them): ~90 wake-ups a second, each of which took a core
        from the training's compute threads mid-operation."""
        self._draw_pending_masks()
        self._write_progress()
        self.progress.apply()  # painted now, with the rest, not on its own timer
        self.loss_plot.draw_frame()

    def _draw_pending_masks(self) -> None:
        event, self._pending_masks = self._pending_masks, None
        if event is not None:  # in Evaluate mode kept for when it is turned off
            self.diagram.set_masks(event.masks, event.step)

    def _on_job_returned(self, outcome: TrainOutcome) -> None:
        result = outcome.result
        self.last = outcome
        self._pending_masks = None
        self.loss_plot.set_history(result.history)
        if result.masks:  # in Evaluate mode kept for when it is turned off
            steps = [m.get("step", 0) for m in result.masks.values()]
            self.diagram.set_masks(result.masks, max(steps, default=0))
        status = result.status.replace("_", " ")
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat(status)
        if outcome.evaluation is not None:
            self.evaluate_panel.show_evaluation(outcome.data, outcome.evaluation)
        self.state.set(has_model=getattr(result, "model", None) is not None)
        test = getattr(result, "test_metrics", {}) or {}
        summary = ", ".join(f"test {k} {v:.4f}" for k, v in test.items())
        message = getattr(result, "message", "")
        self.status.showMessage(
            f"{status}: {count(len(result.history), 'epoch')}"
            + (f" · {summary}" if summary else "")
            + (f" · {message}" if message else "")
        )
        self.trained.emit(outcome)
        if result.status == "failed":  # NaN loss: say so, but keep the finished epochs
            error_box(self.parent_widget, message or "training failed").show()
        if outcome.save_warning:
            self.status.showMessage(outcome.save_warning)
        if outcome.save_error:
            error_box(
                self.parent_widget,
                f"Training {status}, but the run could not be saved: {outcome.save_error}. "
                "The curves and the model are still here; save the project elsewhere.",
            ).show()

    def _on_job_errored(self, message: str, details: str) -> None:
        if self.last is not None and self.steps is not None and self.steps.reused:
            # The run reset the last model (its reused step's) before failing: it is gone.
            self.last = None
            self.state.set(has_model=False, has_analysis=False)
            self.model_retired.emit()
        self.loss_plot.end_live()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        if self.job is not None and self.job.stopping and message.endswith("was stopped"):
            self.progress.setFormat("stopped")  # Stop while the data loaded: nothing to report
            self.status.showMessage("stopped while loading the data: nothing was trained")
            return
        self.progress.setFormat("failed")
        self.status.showMessage(f"training failed: {message}")
        error_box(self.parent_widget, f"Training failed: {message}", details).show()

    def _on_stack_edited(self, document: ProjectDocument) -> None:
        last = self.last
        self.evaluate_panel.outdated.set_outdated(
            last is not None
            and self.evaluate_panel.evaluation is not None
            and not last.describes(document.project)
        )

    def _on_document_replaced(self, _document: ProjectDocument) -> None:
        """Another project: the last model and its views describe the old one."""
        self.last = None
        self.fresh_steps = True  # let the old project's step (and its model) go
        self._pending_masks = None
        self.evaluate_action.setChecked(False)
        self.loss_plot.clear()
        self.evaluate_panel.clear()
        self.diagram.masks, self.diagram.step = {}, None  # as set_network does: no old masks
        self.diagram.redraw()
        self.status.clearMessage()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.state.set(has_model=False, has_analysis=False)
