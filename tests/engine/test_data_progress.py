"""Loading a CSV file or an image folder reports progress and stops when asked."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.engine import data as data_module
from dropout_studio.engine.data import DataError, LoadStopped, load_csv, load_dataset


def _csv(tmp_path, rows=60_000):
    path = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4)).round(4)
    lines = [f"{a},{b},{c},{d},{i % 3}" for i, (a, b, c, d) in enumerate(x)]
    path.write_text("a,b,c,d,label\n" + "\n".join(lines) + "\n")
    return path


def _folder(tmp_path, per_class=30):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(per_class):
            Image.new("RGB", (4, 4), color=(i, 0, 0)).save(tmp_path / name / f"{i}.png")
    return tmp_path


@pytest.fixture
def watch_small_files(monkeypatch):
    """Files this small parse by path in milliseconds; watch them as large ones are."""
    monkeypatch.setattr(data_module, "PROGRESS_BYTES", 0)


def test_a_csv_load_reports_bytes_up_to_the_file_size(tmp_path, watch_small_files):
    path = _csv(tmp_path)
    events: list[tuple[int, int]] = []
    x, y, _ = load_csv(path, "label", on_progress=lambda d, t: events.append((d, t)))
    assert len(events) > 1  # pandas reads the file a piece at a time
    assert all(t == path.stat().st_size for _, t in events)
    assert events[-1][0] == path.stat().st_size
    assert [d for d, _ in events] == sorted(d for d, _ in events)
    plain = load_csv(path, "label")
    np.testing.assert_array_equal(x, plain[0])
    np.testing.assert_array_equal(y, plain[1])


def test_stop_cancels_a_csv_load_with_one_data_error(tmp_path, watch_small_files):
    path = _csv(tmp_path)
    stop = threading.Event()

    def on_progress(done, total):
        stop.set()  # Stop pressed while the first piece was parsed

    spec = DatasetSpec("csv", path=str(path))
    with pytest.raises(LoadStopped) as caught:
        load_dataset(spec, 0, on_progress=on_progress, stop=stop)
    assert isinstance(caught.value, DataError)
    assert str(caught.value) == f"{path}: loading was stopped"
    assert "\n" not in str(caught.value)


def test_an_image_folder_reports_images_and_stops(tmp_path):
    folder = _folder(tmp_path)
    spec = DatasetSpec("images", path=str(folder), options=(("size", 4),))
    events: list[tuple[int, int]] = []
    load_dataset(spec, 0, on_progress=lambda d, t: events.append((d, t)))
    assert events[-1] == (60, 60)
    assert len(events) == 60  # every image of 60: at most about a hundred reports

    stop = threading.Event()
    decoded = []

    def on_progress(done, total):
        decoded.append(done)
        if done == 10:
            stop.set()

    with pytest.raises(LoadStopped, match=r"loading was stopped$"):
        load_dataset(spec, 0, on_progress=on_progress, stop=stop)
    assert decoded[-1] == 10  # no image was decoded after Stop


def test_stop_set_before_the_load_ends_it_at_once(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    stop = threading.Event()
    stop.set()
    monkeypatch.setattr(data_module, "_decode_image", lambda *a: pytest.fail("decoded"))
    spec = DatasetSpec("images", path=str(folder), options=(("size", 4),))
    with pytest.raises(LoadStopped):
        load_dataset(spec, 0, stop=stop)


def test_a_small_csv_is_read_by_path_and_stop_is_still_honoured(tmp_path, monkeypatch):
    path = _csv(tmp_path, rows=100)
    monkeypatch.setattr(data_module, "_ProgressReader", lambda *a: pytest.fail("wrapped"))
    stop = threading.Event()
    x, _, _ = load_csv(path, "label", on_progress=lambda d, t: None, stop=stop)
    assert len(x) == 100
    stop.set()
    with pytest.raises(LoadStopped):
        load_dataset(DatasetSpec("csv", path=str(path)), 0, stop=stop)
