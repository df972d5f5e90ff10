"""The window while the data loads: progress in the status bar, Stop cancels the load quietly."""

from __future__ import annotations

from dataclasses import replace

import pytest

import dropout_studio.engine.data as data_module
from dropout_studio.engine.data import LoadStopped
from tests.ui.fakes import fake_trainer, start_training
from tests.ui.test_window_jobs import error_boxes


def test_load_progress_shows_and_stop_cancels_the_load(make_window, qtbot, monkeypatch):
    window = make_window("small-data", trainer=fake_trainer())
    qtbot.waitUntil(lambda: window.engine.preview_job is None, timeout=10_000)
    real = data_module.load_dataset
    calls = []

    def slow_load(spec, seed, path, on_progress=None, stop=None):
        calls.append(spec)
        for done in range(0, 41, 10):
            on_progress(done, 100)
        if not stop.wait(10):
            return real(spec, seed, path)
        raise LoadStopped("data.csv: loading was stopped")

    monkeypatch.setattr(data_module, "load_dataset", slow_load)
    window.training.cache.clear()  # the preview's set would be reused
    job = start_training(window)
    status = window.training.status
    qtbot.waitUntil(lambda: status.currentMessage() == "loading the data… 40 %", timeout=10_000)
    assert window.training.progress.format() == "loading the data… 40 %"
    assert window.training.progress.value() == 40
    with qtbot.waitSignal(job.finished, timeout=10_000):
        window.stop_action.trigger()
    assert status.currentMessage() == "stopped while loading the data: nothing was trained"
    assert window.training.progress.format() == "stopped"
    assert not error_boxes(window)
    assert window.train_action.isEnabled()


def test_the_dataset_panel_previews_a_csv_file_from_a_sample(
    make_window, qtbot, monkeypatch, tmp_path
):
    path = tmp_path / "points.csv"
    rows = [f"{i % 10 / 10},{i % 7 / 7},{'ab'[i % 2]}" for i in range(1000)]
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(
        data_module, "load_dataset", lambda *a, **k: pytest.fail("the preview loaded it all")
    )
    window = make_window("small-data", trainer=fake_trainer())
    qtbot.waitUntil(lambda: window.engine.preview_job is None, timeout=10_000)
    project = window.document.project
    spec = replace(project.dataset, source="csv", name="", path=str(path), train_size=None)
    window.document.set_project(replace(project, dataset=spec))
    info = window.dataset_panel.info
    qtbot.waitUntil(lambda: info.text().startswith("a sample: 300 of 1,000"), timeout=10_000)
    assert "2 classes: a 500, b 500" in info.text()
    assert window.dataset_panel.train_available == 600


def test_progress_is_busy_again_after_the_load_until_training_starts(
    make_window, qtbot, monkeypatch
):
    """Once a file has loaded, building and tracing the model take a while: not '100 %'."""
    window = make_window("small-data", trainer=fake_trainer())
    qtbot.waitUntil(lambda: window.engine.preview_job is None, timeout=10_000)
    real = data_module.load_dataset

    def load_with_progress(spec, seed, path, on_progress=None, stop=None):
        for done in range(0, 101, 50):
            on_progress(done, 100)
        return real(spec, seed, path)

    monkeypatch.setattr(data_module, "load_dataset", load_with_progress)
    window.training.cache.clear()
    job = start_training(window)
    seen = []

    def on_progressed(event):
        if type(event).__name__ == "DataLoaded":  # after the binder's own slot
            progress = window.training.progress
            seen.append((progress.minimum(), progress.maximum(), progress.format()))

    job.progressed.connect(on_progressed)
    with qtbot.waitSignal(job.finished, timeout=10_000):
        pass
    assert seen == [(0, 0, "preparing…")]
