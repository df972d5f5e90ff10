"""Background work for the window: loading TensorFlow, and training on a worker thread.

The worker gets an immutable project snapshot and only emits signals; it never touches a
widget. Every epoch reaches ``epoch_ended``; progress and masks arrive throttled by the engine
(~20 Hz). Stop keeps the partial result: finished epochs and the partly trained model.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from dropout_studio.core.project import Project


class EngineLoader(QObject):
    """Imports the engine (and TensorFlow, 3–4 s) in a thread after the window is shown."""

    loaded = Signal(object)  # dict: versions and devices
    failed = Signal(str, str)  # message, details

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._load, name="engine-loader", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            # Every heavy import happens here, not in the first training run, where a module
            # initialising under the GIL stalled the window for ~250 ms.
            import sklearn.datasets  # noqa: F401

            from dropout_studio.engine import data, evaluate, export, train  # noqa: F401
            from dropout_studio.engine.runtime import configure_devices, versions

            info = {**versions(), "devices": configure_devices()}
        except Exception as exc:  # any import failure must reach the user, not kill a thread
            self.failed.emit(
                f"TensorFlow could not be loaded ({type(exc).__name__}: {exc}). Training is "
                "unavailable; editing and saving still work.",
                traceback.format_exc(),
            )
            return
        self.loaded.emit(info)

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class WorkerOwner(QObject):
    """Owns one worker thread with a cooperative stop flag (shared by training and experiments).

    Subclasses start ``self._thread``; the worker checks ``self._stop`` between steps."""

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _start_thread(self, target: Any, *args: Any) -> None:
        if self.running:
            raise RuntimeError("work is already running")
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=target, args=(*args, self._stop), name="training", daemon=True
        )
        self._thread.start()


class TrainingController(WorkerOwner):
    """Runs ``engine.train`` on a worker thread and turns its events into signals."""

    started = Signal(object)  # TrainingEvent
    epoch_ended = Signal(object)
    progressed = Signal(object)
    masks_recorded = Signal(object)
    finished = Signal(object)  # TrainingResult (status finished / early_stopped / stopped)
    failed = Signal(str, str)  # message, details
    data_loaded = Signal(str)  # dataset summary
    evaluated = Signal(object, object)  # Dataset, engine.evaluate.Evaluation

    def __init__(self, runner: Any = None) -> None:
        """``runner(project, on_event, stop) -> result`` replaces the engine (tests inject a
        fake one so they need no TensorFlow)."""
        super().__init__()
        self._runner = runner
        self.last_result: Any = None
        self.last_run_folder: Path | None = None

    def start(self, project: Project, project_file: Path | None) -> None:
        self._start_thread(self._work, project, project_file)

    def _emit(self, event: Any) -> None:
        signal = {
            "started": self.started,
            "epoch_ended": self.epoch_ended,
            "progress": self.progressed,
            "masks_recorded": self.masks_recorded,
        }.get(event.kind)
        if signal is not None:
            signal.emit(event)

    def _work(self, project: Project, project_file: Path | None, stop: threading.Event) -> None:
        if self._runner is not None:
            try:
                result = self._runner(project, self._emit, stop)
            except Exception as exc:
                self.failed.emit(str(exc), traceback.format_exc())
                return
            self.last_result = result
            self.finished.emit(result)
            return
        try:
            from dropout_studio.engine.data import DataError, load_dataset
            from dropout_studio.engine.train import TrainingError, train

            try:
                data = load_dataset(project.dataset, project.training.seed, project_file)
            except DataError as exc:
                self.failed.emit(str(exc), "")
                return
            self.data_loaded.emit(data.summary())
            folder = self._run_folder(project, project_file)
            log_dir = str(folder / "tensorboard") if folder else None
            try:
                result = train(project, data, self._emit, stop, log_dir=log_dir)
            except TrainingError as exc:
                self.failed.emit(str(exc), "")
                return
            self.last_result = result
            if folder is not None and result.history:
                from dropout_studio.engine.export import write_run

                self.last_run_folder = write_run(folder, project, result)
            if result.model is not None and result.history and result.status != "failed":
                from dropout_studio.engine.evaluate import evaluate

                self.evaluated.emit(data, evaluate(result.model, data))
            if result.status == "failed":  # NaN loss: say so, but keep the finished epochs
                self.failed.emit(result.message, "")
            self.finished.emit(result)
        except Exception as exc:  # a bug or a backend error: report it, keep the app alive
            self.failed.emit(
                f"training failed: {type(exc).__name__}: {exc}", traceback.format_exc()
            )

    @staticmethod
    def _run_folder(project: Project, project_file: Path | None) -> Path | None:
        """Runs of a saved project are kept in its runs folder, as the CLI does."""
        if project_file is None:
            return None
        from dropout_studio.core.runs import new_run_folder

        return new_run_folder(project_file, project.name)
