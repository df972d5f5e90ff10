"""The job runner: partial results, then returned or errored, then always finished."""

from __future__ import annotations

import sys
import threading

import pytest

from dropout_studio.engine.train import TrainingError
from dropout_studio.ui.jobs import JobRunner


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    runner.stop_all()
    assert runner.wait(10_000)


def test_reports_then_returned_then_finished_with_busy_cleared_first(runner, qtbot):
    seen = []

    def work(ctx):
        for i in range(5):
            ctx.report(i)
        return "done"

    job = runner.start("train", work)
    assert runner.current is job
    job.progressed.connect(lambda i: seen.append(("progressed", i)))
    job.returned.connect(lambda r: seen.append(("returned", r, runner.current)))
    job.finished.connect(lambda: seen.append(("finished", runner.current)))
    with qtbot.waitSignal(job.finished, timeout=5_000):
        pass
    assert seen == [
        *[("progressed", i) for i in range(5)],
        ("returned", "done", None),  # the busy state is already cleared
        ("finished", None),
    ]
    assert not job.running


def test_a_training_error_gives_errored_then_finished(runner, qtbot):
    def work(ctx):
        raise TrainingError("the stack does not fit the data")

    job = runner.start("train", work)
    seen = []
    job.errored.connect(lambda *args: seen.append(("errored", *args)))
    job.finished.connect(lambda: seen.append(("finished",)))
    with qtbot.waitSignals([job.errored, job.finished], order="strict", timeout=5_000):
        pass
    assert [s[0] for s in seen] == ["errored", "finished"]
    _, message, details = seen[0]
    assert message == "the stack does not fit the data"
    assert "Traceback" in details
    assert "TrainingError" in details
    assert runner.current is None


def test_an_unexpected_error_names_its_type(runner, qtbot):
    job = runner.start("analysis", lambda ctx: {}["missing"])
    with qtbot.waitSignal(job.errored, timeout=5_000) as blocker:
        pass
    assert blocker.args[0] == "KeyError: 'missing'"


def test_stop_sets_the_event_and_keeps_the_partial_result(runner, qtbot):
    started = threading.Event()

    def work(ctx):
        started.set()
        ctx.stop.wait(10)
        return ["partial"]

    job = runner.start("compare", work)
    assert started.wait(5)
    with qtbot.waitSignals([job.returned, job.finished], order="strict", timeout=5_000):
        runner.stop()
    assert job.result == ["partial"]
    assert job.stopping


def test_one_exclusive_job_at_a_time_and_a_dedicated_pool(runner, qtbot):
    release = threading.Event()
    job = runner.start("train", lambda ctx: release.wait(10))
    with pytest.raises(RuntimeError, match="train is running"):
        runner.start("sweep", lambda ctx: None)
    other = runner.start("preview", lambda ctx: 42)  # not exclusive: runs beside it
    with qtbot.waitSignal(other.returned, timeout=5_000):
        pass
    assert runner.threads >= 4  # its own pool, not Qt's global one (2 threads here)
    with qtbot.waitSignal(job.finished, timeout=5_000):
        release.set()


def test_busy_state_signals(runner, qtbot):
    with qtbot.waitSignal(runner.changed, timeout=1_000):
        job = runner.start("twin", lambda ctx: None)
    with qtbot.waitSignal(runner.changed, timeout=5_000):
        pass
    assert not runner.busy
    assert not job.running


def test_a_burst_of_reports_wakes_the_gui_thread_once_and_keeps_every_report_in_order(
    runner, qtbot
):
    """A run of small data reports an epoch every 2 ms: the GUI thread is woken once for all
    reports that arrived since it last looked, and none is lost or reordered."""
    wakes = []
    gate, reported = threading.Event(), threading.Event()

    def work(ctx):
        gate.wait(5)  # the slots below are connected before the first report
        for i in range(2_000):
            ctx.report(i)
        reported.set()
        return "done"

    job = runner.start("train", work)
    seen = []
    job.progressed.connect(seen.append)
    job._worker_reported.connect(lambda: wakes.append(len(seen)))
    gate.set()
    assert reported.wait(10)  # the GUI thread looked nowhere meanwhile
    with qtbot.waitSignal(job.finished, timeout=10_000):
        pass
    assert seen == list(range(2_000))
    assert len(wakes) == 1  # one wake-up for the whole burst


def test_a_steady_stream_of_reports_reaches_the_gui_in_paced_batches(runner, qtbot):
    """A training reports ~50 times a second; each wake-up of the GUI thread takes a core
    from its compute threads mid-operation. While reports keep coming, the GUI thread
    collects them every REPORT_FRAME_MS and is not woken for each; the first report after a
    quiet spell is not held back for a frame (nor for the job's end)."""
    import time

    from dropout_studio.ui.jobs import REPORT_FRAME_MS

    gate, quiet, resume, finish = (threading.Event() for _ in range(4))

    def work(ctx):
        gate.wait(5)
        end = time.monotonic() + 0.6
        i = 0
        while time.monotonic() < end:  # a report every 2 ms for 0.6 s
            ctx.report(i)
            i += 1
            time.sleep(0.002)
        quiet.set()
        resume.wait(5)
        ctx.report("after a quiet spell")
        finish.wait(5)  # the job does not end (and drain its inbox) until the test says so
        return i

    job = runner.start("train", work)
    seen, batches, wakes = [], [], []
    job.progressed.connect(seen.append)
    job.delivered.connect(lambda: batches.append(len(seen)))
    job._worker_reported.connect(lambda: wakes.append(len(seen)))
    started = time.monotonic()
    gate.set()
    qtbot.waitUntil(quiet.is_set, timeout=10_000)  # the event loop runs meanwhile
    # then a look finds the inbox empty, and the timer stops
    qtbot.waitUntil(lambda: not job._next_batch.isActive() and not job._inbox, timeout=5_000)
    looks = 2 + (time.monotonic() - started) * 1000 / REPORT_FRAME_MS
    assert len(batches) <= looks  # ~10 a second, not one per report (~500)
    assert len(wakes) <= looks  # woken at a stream's start (and after a stall), not per report
    count = len(seen)
    with qtbot.waitSignal(job.delivered, timeout=5_000):
        resume.set()  # after the quiet spell the report wakes the GUI at once
    assert seen[count:] == ["after a quiet spell"]
    assert job.running  # delivered by the wake-up, not by the job's end
    with qtbot.waitSignal(job.finished, timeout=5_000):
        finish.set()
    assert seen == [*range(job.result), "after a quiet spell"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_jobs_run_below_the_gui_threads_priority(runner, qtbot):
    """TensorFlow's compute threads inherit the job thread's priority: the window keeps a
    core when both want one (the GUI's stalls on 2 cores while small data trained)."""
    import os

    from dropout_studio.ui.jobs import JOB_NICENESS

    def work(ctx):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    job = runner.start("analysis", work)
    with qtbot.waitSignal(job.returned, timeout=5_000) as got:
        pass
    assert got.args[0] == min(19, gui + JOB_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui


class _Cycle:
    """Garbage only the cycle collector frees; says on which thread it was freed."""

    def __init__(self, freed_on: list[str]) -> None:
        self.me, self.freed_on = self, freed_on

    def __del__(self) -> None:
        self.freed_on.append(threading.current_thread().name)


def test_garbage_made_in_a_job_is_collected_on_the_gui_thread(runner, qtbot):
    """A collection in a job thread once froze the window (a Qt destructor against a paint)."""
    import gc

    assert not gc.isenabled()  # no collection starts in whatever thread allocates
    freed_on: list[str] = []

    def make_garbage(_ctx) -> None:
        for _ in range(2_000):  # past gen 0's threshold: the timer collects
            _Cycle(freed_on)

    job = runner.start("analysis", make_garbage)
    with qtbot.waitSignal(job.finished, timeout=5_000):
        pass
    qtbot.waitUntil(lambda: len(freed_on) == 2_000, timeout=5_000)
    assert set(freed_on) == {threading.main_thread().name}
