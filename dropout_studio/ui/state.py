"""What is running, whether the engine is ready, and every action's enabled state from that.

:class:`WorkState` is the one small object that owns "what is running" (the job runner's current
exclusive job, or a Train queued while TensorFlow loads) and "is the engine ready". The pure
function :func:`action_states` derives every action's enabled state and tooltip from it and the
stack report; :class:`WorkState` applies the result to the registered actions. Controllers
register their actions here and ask it; they never toggle each other's actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QObject, Signal

from dropout_studio.core.document import ProjectDocument
from dropout_studio.ui.jobs import JobRunner

EngineStatus = Literal["loading", "ready", "failed"]
# How a job is named in a tooltip ("Wait: the training is running").
JOB_NOUNS = {"train": "training", "compare": "comparison", "twin": "twin's training"}
ACTIONS = ("train", "stop", "compare", "sweep", "twin", "analyse", "export_model")


@dataclass(frozen=True)
class Situation:
    job: str | None  # kind of the running exclusive job, "queued" for a queued Train, or None
    engine: EngineStatus
    stack_problem: str | None  # None when the stack is valid
    has_model: bool = False  # a trained model is there to export or analyse
    has_analysis: bool = False  # the Inside tab has a report to train a twin against


@dataclass(frozen=True)
class ActionState:
    enabled: bool
    tip: str


def _blocker(s: Situation) -> str | None:
    """Why a new job cannot start now, or None."""
    if s.job == "queued":
        return "A run is queued until TensorFlow has loaded (Stop cancels it)"
    if s.job is not None:
        return f"Wait: the {JOB_NOUNS.get(s.job, s.job)} is running (Stop ends it)"
    if s.engine == "loading":
        return "Waiting for TensorFlow to load"
    if s.engine == "failed":
        return "TensorFlow failed to load: training is unavailable"
    if s.stack_problem is not None:
        return f"Fix the stack first: {s.stack_problem}"
    return None


def action_states(s: Situation) -> dict[str, ActionState]:
    """Every job-related action's state; the only place that decides what may be pressed."""
    idle = s.job is None
    why_not = _blocker(s)
    can_queue = idle and s.engine == "loading" and s.stack_problem is None
    train_tip = (
        "Train the stack (Ctrl+Enter)"
        if why_not is None
        else "Train now; the run starts once TensorFlow has loaded"
        if can_queue
        else why_not
    )
    stop_tip = (
        "Cancel the queued run"
        if s.job == "queued"
        else f"Stop the {JOB_NOUNS.get(s.job, s.job)}, keeping what has finished (Esc)"
        if s.job
        else "Nothing is running"
    )
    model_tip = "Train a model first" if not s.has_model else ""
    return {
        "train": ActionState(why_not is None or can_queue, train_tip),
        "stop": ActionState(s.job is not None, stop_tip),
        "compare": ActionState(
            why_not is None, why_not or "Train the stack with and without dropout over seeds"
        ),
        "sweep": ActionState(why_not is None, why_not or "Try several rates and sizes"),
        "twin": ActionState(
            why_not is None and s.has_analysis,
            why_not or ("Analyse first" if not s.has_analysis else "Train the no-dropout twin"),
        ),
        "analyse": ActionState(
            idle and s.has_model and s.engine == "ready",
            why_not or model_tip or "Analyse the trained model",
        ),
        # A run may train the last model in place (the window reuses its compiled step).
        "export_model": ActionState(
            s.has_model and s.job != "train",
            model_tip
            or ("Wait: a run is training this model" if s.job == "train" else "")
            or "Export the trained model",
        ),
    }


class WorkState(QObject):
    """Owns engine readiness and the queued flag; reads the job from the runner."""

    changed = Signal()

    def __init__(self, runner: JobRunner, document: ProjectDocument) -> None:
        super().__init__()
        self.runner = runner
        self.document = document
        self.engine: EngineStatus = "loading"
        self.engine_info: dict[str, Any] | None = None
        self.queued = False
        self.has_model = False
        self.has_analysis = False
        self._actions: dict[str, list[Any]] = {}
        runner.changed.connect(self.refresh)
        document.subscribe(
            lambda _doc: self.refresh(), ("network", "dataset", "training", "path", "replaced")
        )

    @property
    def job(self) -> str | None:
        if self.runner.current is not None:
            return self.runner.current.kind
        return "queued" if self.queued else None

    @property
    def busy(self) -> bool:
        """A job runs or a run is queued: New/Open/Close ask before going on."""
        return self.job is not None

    def situation(self) -> Situation:
        report = self.document.report
        problem = None if report.ok else (report.errors[0].message if report.errors else "?")
        return Situation(self.job, self.engine, problem, self.has_model, self.has_analysis)

    def register(self, name: str, action: Any) -> None:
        """``action``: anything with setEnabled/setToolTip (a QAction or a button)."""
        self._actions.setdefault(name, []).append(action)
        self.refresh()

    def set(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        self.refresh()

    def refresh(self) -> None:
        states = action_states(self.situation())
        for name, actions in self._actions.items():
            state = states[name]
            for action in actions:
                action.setEnabled(state.enabled)
                action.setToolTip(state.tip)
        self.changed.emit()
