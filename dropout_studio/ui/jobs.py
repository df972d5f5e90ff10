"""One way to run long work: jobs on a dedicated thread pool, with one busy state.

Every long task (engine loading, dataset preview, training, compare, sweep, twin, analysis,
export, reading the runs folder) is a function ``work(context) -> result`` run by
:class:`JobRunner`. A job reports partial results with ``context.report(event)`` and checks
``context.stop`` (the engine's ``threading.Event``). Its signals, all delivered in the GUI thread:

- ``progressed(event)`` for each report, in order, then ``delivered()`` after each batch;
- then exactly one of ``returned(result)`` or ``errored(message, traceback)``;
- then, always, ``finished()``.

The runner's busy state (``runner.current``, the one *exclusive* job: train, compare, sweep,
twin) is cleared before ``returned``/``errored`` are emitted, so no slot ever has to ask whether a
thread is still alive (the "Train stays disabled" race). The pool has its own threads (at least
4): Qt's global pool is limited to the core count, and a preview or an export must not wait for
a training to end. They are Python threads (``ThreadPoolExecutor``), not ``QThreadPool``
threads: PySide gives a pool thread a fresh Python thread state for every runnable, and
TensorFlow's per-thread eager context then no longer matched its C++ half (a training started
on the thread that had just imported TensorFlow crashed with a segmentation fault).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any, Literal

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

log = logging.getLogger("dropout_studio")

JobKind = Literal[
    "engine", "preview", "train", "compare", "sweep", "twin", "analysis", "export", "runs"
]
REPORT_FRAME_MS = 100  # while a job keeps reporting, its reports reach the GUI this often
GIL_SWITCH_S = 0.001  # how long the GUI thread may wait for the GIL held by a job
EXCLUSIVE: frozenset[str] = frozenset({"train", "compare", "sweep", "twin"})
RUNNERS: weakref.WeakSet[JobRunner] = weakref.WeakSet()  # every live runner (tests check them)


JOB_NICENESS = int(os.environ.get("DROPOUT_STUDIO_JOB_NICE", "10"))


def _yield_to_the_gui() -> None:
    """A job thread runs at a lower priority than the GUI thread (Linux: per-thread nice).

    TensorFlow's compute threads are started by the job thread that first uses TensorFlow
    and inherit its priority, so on a 2-core machine a training no longer takes the cores
    from the window when both want them; with nothing else to run it goes as fast as before.
    """
    if JOB_NICENESS > 0 and hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        me = threading.get_native_id()
        with contextlib.suppress(OSError):  # relative to the GUI thread's, which it inherits
            os.setpriority(
                os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + JOB_NICENESS)
            )


class JobContext:
    """What a job's function receives: the stop flag and a way to report partial results."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self.stop: threading.Event = job.stop_event

    def report(self, event: Any) -> None:
        """Deliver ``event`` to ``job.progressed`` in the GUI thread (safe from any thread).

        Reports wait in the job's inbox and one queued signal wakes the GUI thread for all
        that arrived since it last looked: a run of small data ends an epoch every 2 ms, and
        a queued call per epoch kept the GUI thread taking the GIL back hundreds of times a
        second. While reports keep coming the GUI thread collects them on its own clock
        (:data:`REPORT_FRAME_MS`) instead of being woken: see :meth:`Job._on_worker_reported`."""
        job = self._job
        with job._inbox_lock:
            job._inbox.append(event)
            wake, job._wake_posted = not job._wake_posted, True
        if wake:
            job._worker_reported.emit()

    @property
    def stopped(self) -> bool:
        return self.stop.is_set()


class Job(QObject):
    """One run of a function; lives in the GUI thread, its function runs in the pool."""

    progressed = Signal(object)
    delivered = Signal()  # after each batch of ``progressed``: draw once per batch
    returned = Signal(object)
    errored = Signal(str, str)  # message, traceback
    finished = Signal()
    _worker_reported = Signal()  # the inbox has reports
    _worker_ended = Signal(object)

    def __init__(self, kind: str, function: Callable[[JobContext], Any], runner: JobRunner):
        super().__init__()
        self.kind = kind
        self.function = function
        self.stop_event = threading.Event()
        self.running = True
        self.result: Any = None
        self.error: tuple[str, str] | None = None
        self._runner = runner
        self._inbox: list[Any] = []
        self._inbox_lock = threading.Lock()
        self._wake_posted = False
        self._next_batch = QTimer(self)
        self._next_batch.setSingleShot(True)
        self._next_batch.setInterval(REPORT_FRAME_MS)
        self._next_batch.timeout.connect(self._on_worker_reported)
        self._worker_reported.connect(self._on_worker_reported)
        self._worker_ended.connect(self._on_worker_ended)

    def stop(self) -> None:
        """Ask the function to stop (cooperative: it keeps and returns its partial result)."""
        self.stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def execute(self) -> None:
        """Runs in a pool thread; its last act is one queued signal, never a widget call."""
        outcome: tuple[Any, ...]
        try:
            outcome = ("returned", self.function(JobContext(self)))
        except BaseException as exc:
            outcome = ("errored", describe(exc), traceback.format_exc())
        self._worker_ended.emit(outcome)

    @Slot()
    def _on_worker_reported(self) -> None:
        """Deliver the inbox; while reports keep coming, collect them every REPORT_FRAME_MS.

        The first report after a quiet spell wakes the GUI thread at once. After a batch the
        worker posts no wake-up: the GUI thread looks again in ``REPORT_FRAME_MS`` and only
        an empty look lets the next report wake it. Each wake-up takes a core from a
        training's compute threads mid-operation (100 empty wake-ups a second cost its
        throughput ~3 %); a training reports masks, progress and epochs ~50 times a second.
        """
        with self._inbox_lock:
            events, self._inbox = self._inbox, []
            quiet = not events or not self.running
            if quiet:
                self._wake_posted = False  # the next report wakes the GUI at once
        if quiet:
            self._next_batch.stop()
            return
        self._next_batch.start()
        for event in events:
            if self.running:
                self.progressed.emit(event)
        self.delivered.emit()

    @Slot(object)
    def _on_worker_ended(self, outcome: tuple[Any, ...]) -> None:
        self._on_worker_reported()  # every report before the end, in order
        self._next_batch.stop()
        self.running = False
        self._runner._ended(self)  # the busy state is cleared first
        try:
            if outcome[0] == "returned":
                self.result = outcome[1]
                self.returned.emit(outcome[1])
            else:
                self.error = (outcome[1], outcome[2])
                log.error("%s job failed: %s\n%s", self.kind, outcome[1], outcome[2])
                self.errored.emit(outcome[1], outcome[2])
        finally:
            self.finished.emit()
            self._runner._forget(self)


def describe(exc: BaseException) -> str:
    """A one-line message: expected errors (ValueError family) as they are, others typed."""
    if isinstance(exc, ValueError | RuntimeError) and type(exc).__module__.startswith(
        "dropout_studio"
    ):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


GC_INTERVAL_MS = 500


def collect_garbage_on_the_gui_thread() -> None:
    """Python's cycle collector runs only on the GUI thread, on a timer (as pyqtgraph's
    ``GarbageCollector`` does), once per process.

    Run automatically in a job thread, a collection may finalize a Qt object whose C++
    destructor waits for a lock the GUI thread holds while it paints, while the GUI thread
    waits for the GIL that collection holds: a frozen window. Seen while a job imported
    TensorFlow beside a repaint, in about 1 of 4 runs of a test; none in 24 with this."""
    app = QCoreApplication.instance()
    if app is None or app.property("dropout_studio_gc"):
        return
    timer = QTimer(app)
    threshold = gc.get_threshold()

    def collect() -> None:
        counts = gc.get_count()
        for generation in range(3):  # an older generation only when the younger is due
            if counts[generation] <= threshold[generation]:
                break
            gc.collect(generation)

    timer.timeout.connect(collect)
    gc.disable()
    timer.start(GC_INTERVAL_MS)
    app.setProperty("dropout_studio_gc", True)


class JobRunner(QObject):
    """Starts jobs on its own pool and owns the busy state (the current exclusive job)."""

    changed = Signal()  # an exclusive job started or ended
    started = Signal(object)  # Job (any kind)

    def __init__(self, threads: int = 6, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Every Qt callback into Python takes the GIL; while a job runs Python (tracing a
        # model) each waited up to the 5 ms default switch interval, and a frame makes dozens.
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        collect_garbage_on_the_gui_thread()
        self.threads = max(4, threads)
        self.pool = ThreadPoolExecutor(
            self.threads, thread_name_prefix="dropout-studio-job", initializer=_yield_to_the_gui
        )
        self._futures: set[Future[None]] = set()
        self.current: Job | None = None
        self._jobs: list[Job] = []
        RUNNERS.add(self)

    @property
    def busy(self) -> bool:
        return self.current is not None

    def jobs(self, kind: str | None = None) -> list[Job]:
        return [j for j in self._jobs if kind is None or j.kind == kind]

    def start(self, kind: str, function: Callable[[JobContext], Any]) -> Job:
        """Start a job; an exclusive one while another runs is a programming error."""
        exclusive = kind in EXCLUSIVE
        if exclusive and self.current is not None:
            raise RuntimeError(f"cannot start {kind}: {self.current.kind} is running")
        job = Job(kind, function, self)
        self._jobs.append(job)
        if exclusive:
            self.current = job
        self.started.emit(job)
        if exclusive:
            self.changed.emit()
        future = self.pool.submit(job.execute)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return job

    def stop(self) -> None:
        """The one Stop: ask the current exclusive job to stop."""
        if self.current is not None:
            self.current.stop()

    def stop_all(self) -> None:
        for job in list(self._jobs):
            job.stop()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block until the pool is idle (tests and benchmarks only, never the window)."""
        _done, running = wait_for(list(self._futures), timeout=timeout_ms / 1000)
        return not running

    def _ended(self, job: Job) -> None:
        if job is self.current:
            self.current = None
            self.changed.emit()

    def _forget(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
