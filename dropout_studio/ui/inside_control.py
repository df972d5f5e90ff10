"""Inside the trained network: Analyse (an analysis job) and the no-dropout twin (a twin job).

Results are tied to the training outcome they came from: a new run, or another project, clears
the Inside tab, and a late result for a model that is no longer current is dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget, QWidget

from dropout_studio.core.document import ProjectDocument
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.evaluate import output_is_probability
from dropout_studio.ui.inside import InsideReport, InsideView, analyse
from dropout_studio.ui.jobs import Job, JobContext, JobRunner
from dropout_studio.ui.state import WorkState
from dropout_studio.ui.training import TrainOutcome


class InsideController(QObject):
    def __init__(
        self,
        document: ProjectDocument,
        runner: JobRunner,
        state: WorkState,
        view: InsideView,
        tabs: QTabWidget,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.document, self.runner, self.state, self.view, self.tabs = (
            document,
            runner,
            state,
            view,
            tabs,
        )
        self.parent_widget = parent
        self.outcome: TrainOutcome | None = None
        self.job: Job | None = None
        view.analyse.clicked.connect(self.analyse_model)
        view.twin.clicked.connect(self.train_twin)
        state.register("analyse", view.analyse)
        state.register("twin", view.twin)
        document.subscribe(lambda _doc: self.forget(), ("replaced",))
        document.subscribe(self._on_stack_edited, ("network", "dataset"))

    def on_trained(self, outcome: TrainOutcome) -> None:
        """A new model: earlier analyses described another one."""
        model = getattr(outcome.result, "model", None)
        self.outcome = outcome if model is not None else None
        self.view.clear("Analyse the new model." if model is not None else "No model to analyse.")
        if model is not None and outcome.data is not None:
            self.view.sample.setRange(0, max(0, len(outcome.data.x_test) - 1))
        self.state.set(has_analysis=False)

    def _on_stack_edited(self, document: ProjectDocument) -> None:
        outcome = self.outcome
        shown = self.view.report is not None
        self.view.outdated.set_outdated(
            shown and outcome is not None and not outcome.describes(document.project)
        )

    def forget(self) -> None:
        self.outcome = None
        self.view.clear()
        self.state.set(has_analysis=False)

    def on_run_started(self) -> None:
        """A run is replacing the model (or retraining it in place): its report goes. The model
        stays analysable if the run fails before touching it."""
        self.view.clear("Training: analyse the model once the run has ended.")
        self.state.set(has_analysis=False)

    def _args(self) -> tuple[Any, ...]:
        assert self.outcome is not None
        project = self.outcome.project
        shape = tuple(project.network.layers[0].option("shape"))
        return (
            self.view.sample.value(),
            self.view.samples.value(),
            shape,
            not output_is_probability(project),
            project.network,
        )

    def analyse_model(self) -> Job | None:
        outcome = self.outcome
        if outcome is None:
            error_box(
                self.parent_widget, "Train a model first: there is nothing to analyse."
            ).show()
            return None
        model, data = outcome.result.model, outcome.data
        index, samples, shape, logits, network = self._args()
        job = self.runner.start(
            "analysis", lambda _ctx: analyse(model, data, index, samples, shape, logits, network)
        )
        job.returned.connect(lambda report: self._show(outcome, report))
        job.errored.connect(self._on_errored)
        self.job = job
        return job

    def train_twin(self) -> Job | None:
        report, outcome = self.view.report, self.outcome
        if report is None or outcome is None or not self.view.twin.isEnabled():
            error_box(self.parent_widget, "Analyse the trained model first.").show()
            return None
        project = outcome.project
        twin_project = replace(project, network=project.network.without_dropout())
        data = outcome.data
        _index, samples, shape, logits, network = self._args()

        def work(ctx: JobContext) -> InsideReport:
            from dropout_studio.engine.train import train

            twin = train(twin_project, data, None, ctx.stop).model
            if ctx.stopped or twin is None:
                return report  # a cut-short twin would be compared unfairly: keep ours alone
            twin_report = analyse(twin, data, report.sample_index, samples, shape, logits, network)
            return replace(
                report,
                twin_sparsity=twin_report.sparsity,
                twin_correlations=twin_report.correlations,
                twin_coadaptation=twin_report.coadaptation,
                twin_features=twin_report.features,
            )

        self.tabs.setCurrentWidget(self.view)
        job = self.runner.start("twin", work)
        job.returned.connect(lambda merged: self._show(outcome, merged))
        job.errored.connect(self._on_errored)
        self.job = job
        return job

    def _show(self, outcome: TrainOutcome, report: InsideReport) -> None:
        if outcome is self.outcome:  # still the model the tab describes
            self.view.show_report(report)
            self._on_stack_edited(self.document)  # the old stack's, if edited since training
            self.state.set(has_analysis=True)

    def _on_errored(self, message: str, details: str) -> None:
        error_box(self.parent_widget, f"Analysis failed: {message}", details).show()
