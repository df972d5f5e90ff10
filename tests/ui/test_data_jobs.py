"""Dataset loading inside a job: download and load progress reach the window, big sets aren't
cached, and a file's preview reads a sample only."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import dropout_studio.engine.data as data_module
from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.ui.engine_status import (
    DataCache,
    DataProgress,
    load_data_in_job,
    load_preview_in_job,
)


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
    assert reports == [DataProgress(5_000_000, 11_000_000, downloading=True)]
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


def test_a_file_load_reports_each_new_percent_as_loading(monkeypatch):
    def fake_load(spec, seed, path, on_progress=None, stop=None):
        for done in (0, 10, 11, 500, 999, 1000):
            on_progress(done, 1000)
        return "csv data"

    monkeypatch.setattr(data_module, "load_dataset", fake_load)
    reports: list = []
    ctx = SimpleNamespace(report=reports.append, stop=threading.Event())
    spec = DatasetSpec("csv", path="big.csv")
    assert load_data_in_job(DataCache(), spec, 0, None, ctx) == "csv data"
    assert [r.percent for r in reports] == [0, 1, 50, 99, 100]  # 11 of 1000 is still 1 %
    assert reports[2].describe() == "loading the data… 50 %"


def _forbid_full_loads(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the preview loaded the whole set")

    monkeypatch.setattr(data_module, "load_dataset", fail)
    monkeypatch.setattr(data_module, "load_image_folder", fail)
    monkeypatch.setattr(data_module, "read_npz_array", fail)


def _ctx():
    return SimpleNamespace(report=lambda event: None, stop=threading.Event())


def test_a_csv_preview_reads_a_sample_and_counts_the_whole_file(monkeypatch, tmp_path):
    path = tmp_path / "big.csv"
    rows = [f"{i % 7},{i * 0.5},{'ab'[i % 3 == 0]}" for i in range(2000)]
    path.write_text("f1,f2,label\n" + "\n".join(rows) + "\n")
    _forbid_full_loads(monkeypatch)
    seen = {}
    real_load_csv = data_module.load_csv

    def sample_only(*args, **kwargs):
        seen["nrows"] = kwargs.get("nrows")
        return real_load_csv(*args, **kwargs)

    monkeypatch.setattr(data_module, "load_csv", sample_only)
    spec = DatasetSpec("csv", path=str(path))
    sample = load_preview_in_job(DataCache(), spec, 0, None, _ctx())
    assert seen["nrows"] == data_module.SAMPLE_ROWS
    assert len(sample.x_train) == data_module.SAMPLE_ROWS
    assert sample.class_names == ["a", "b"]
    assert sample.class_counts == (1333, 667)
    assert sample.samples == 2000
    text = sample.summary()
    assert text.startswith("a sample: 300 of 2,000 samples (the first rows)")
    assert "2 classes: a 1,333, b 667" in text


def test_the_sample_knows_the_training_part_of_the_whole_split(monkeypatch, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,label\n" + "\n".join(f"{i},{int(i < 23)}" for i in range(101)) + "\n")
    spec = DatasetSpec("csv", path=str(path), validation_split=0.15, test_split=0.2)
    full = data_module.load_dataset(spec, 3)
    _forbid_full_loads(monkeypatch)
    sample = data_module.load_sample(spec)
    assert sample.train_available == len(full.x_train)


def test_an_npz_preview_reads_the_first_rows_only(monkeypatch, tmp_path):
    path = tmp_path / "d.npz"
    x = np.arange(5000 * 6, dtype="float64").reshape(5000, 3, 2)
    y = np.array(["cat", "dog"])[(np.arange(5000) >= 4000).astype(int)]  # sorted: one class first
    np.savez_compressed(path, x=x, y=y)
    monkeypatch.setattr(data_module, "load_dataset", lambda *a, **k: pytest.fail("full load"))
    sample = load_preview_in_job(DataCache(), DatasetSpec("npz", path=str(path)), 0, None, _ctx())
    assert sample.x_train.shape == (data_module.SAMPLE_ROWS, 3, 2)
    np.testing.assert_array_equal(sample.x_train, x[: data_module.SAMPLE_ROWS])
    assert sample.class_names == ["cat", "dog"]
    assert (sample.y_train == 0).all()  # the first 300 are all cats: still a preview
    assert sample.class_counts == (4000, 1000)
    assert "5,000 samples" in sample.summary()


def test_an_image_preview_decodes_a_few_dozen_files_from_every_class(monkeypatch, tmp_path):
    for k, name in enumerate(("a", "b", "c")):
        (tmp_path / name).mkdir()
        for i in range(40):
            Image.new("L", (4, 4), color=k * 100).save(tmp_path / name / f"{i}.png")
    decoded = []
    real = data_module._decode_image
    monkeypatch.setattr(
        data_module, "_decode_image", lambda f, *a: decoded.append(f) or real(f, *a)
    )
    _forbid_full_loads(monkeypatch)
    spec = DatasetSpec("images", path=str(tmp_path), options=(("size", 4), ("channels", 1)))
    sample = load_preview_in_job(DataCache(), spec, 0, None, _ctx())
    assert len(decoded) == data_module.SAMPLE_IMAGES == len(sample.x_train)
    assert sample.y_train[:6].tolist() == [0, 1, 2, 0, 1, 2]
    assert sample.x_train.max() <= 1.0
    assert sample.class_counts == (40, 40, 40)
    assert "48 of 120 samples (from every class)" in sample.summary()


def test_a_bad_file_preview_says_the_probes_problem(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,label\n1,x\n")
    with pytest.raises(data_module.DataError, match="at least two data rows"):
        load_preview_in_job(DataCache(), DatasetSpec("csv", path=str(path)), 0, None, _ctx())
