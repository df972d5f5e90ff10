"""Dataset loading inside a job: download progress reaches the window, big sets aren't cached."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import dropout_studio.engine.data as data_module
from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.ui.engine_status import DataCache, DataDownloading, load_data_in_job


def test_download_progress_is_reported_and_keras_sets_are_not_kept(monkeypatch):
    seen = {}

    def fake_load(spec, seed, path, on_progress=None, stop=None):
        seen["stop"] = stop
        on_progress(5_000_000, 11_000_000)
        return "mnist data"

    monkeypatch.setattr(data_module, "load_dataset", fake_load)
    reports: list = []
    ctx = SimpleNamespace(report=reports.append, stop=threading.Event())
    cache = DataCache()
    spec = DatasetSpec("builtin", "mnist")
    assert load_data_in_job(cache, spec, 0, None, ctx) == "mnist data"
    assert seen["stop"] is ctx.stop  # Stop cancels the download too
    assert reports == [DataDownloading(5_000_000, 11_000_000)]
    assert reports[0].describe() == "downloading the dataset… 5.0 / 11.0 MB"
    assert cache.get(spec, 0, None) is None  # 70,000 images are not kept a second time


def test_small_sets_are_shared_between_preview_and_training(monkeypatch):
    monkeypatch.setattr(data_module, "load_dataset", lambda *a, **k: "moons data")
    ctx = SimpleNamespace(report=lambda event: None, stop=threading.Event())
    cache = DataCache()
    spec = DatasetSpec("synthetic", "moons")
    load_data_in_job(cache, spec, 0, None, ctx)
    monkeypatch.setattr(data_module, "load_dataset", lambda *a, **k: "loaded again")
    assert load_data_in_job(cache, spec, 0, None, ctx) == "moons data"
