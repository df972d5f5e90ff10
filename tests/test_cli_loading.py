"""``dropout-studio train`` while the data loads: progress after a second, Ctrl-C stops it."""

from __future__ import annotations

import io
import os
import signal

import numpy as np

import dropout_studio.engine.data as data_module
from dropout_studio.cli import LoadProgress, main
from dropout_studio.core.datasets import DatasetSpec


def _project(tmp_path):
    path = tmp_path / "p.json"
    assert main(["new", str(path), "--preset", "small-data"]) == 0
    return path


def _csv(tmp_path, rows=60_000):
    path = tmp_path / "big.csv"
    x = np.random.default_rng(0).normal(size=(rows, 4)).round(4)
    lines = [f"{a},{b},{c},{d},{i % 3}" for i, (a, b, c, d) in enumerate(x)]
    path.write_text("a,b,c,d,label\n" + "\n".join(lines) + "\n")
    return path


def test_ctrl_c_during_a_load_stops_it_with_one_line(tmp_path, capsys, monkeypatch):
    project, csv_path = _project(tmp_path), _csv(tmp_path)
    real = data_module.load_dataset
    seen = {"reads": 0}

    def load_with_ctrl_c(spec, seed, project_file, *, on_progress, stop):
        def progress(done, total):
            seen["reads"] += 1
            on_progress(done, total)
            if seen["reads"] == 1:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once the parse has begun

        return real(DatasetSpec("csv", path=str(csv_path)), seed, on_progress=progress, stop=stop)

    monkeypatch.setattr(data_module, "load_dataset", load_with_ctrl_c)
    monkeypatch.setattr(data_module, "PROGRESS_BYTES", 0)  # watched as a large file is
    before = signal.getsignal(signal.SIGINT)
    status = main(["train", str(project), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 130
    assert err.strip().splitlines() == [
        "dropout-studio train: stopped while loading the data; nothing was trained"
    ]
    assert seen["reads"] == 1  # nothing more was read after Ctrl-C
    assert not (tmp_path / "r").exists()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_load_over_a_second_prints_progress_lines():
    stream = io.StringIO()
    progress = LoadProgress(stream, "loading the data", after=0.0)
    for done in range(0, 101, 5):
        progress(done, 100)
    progress.finish()
    assert stream.getvalue().splitlines() == [
        f"loading the data… {p} %" for p in (0, 25, 50, 75, 100)
    ]


def test_a_quick_load_prints_nothing():
    stream = io.StringIO()
    progress = LoadProgress(stream, "loading the data", after=60.0)
    progress(50, 100)
    progress.finish()
    assert stream.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_progress_line_is_rewritten_in_place():
    stream = _Terminal()
    progress = LoadProgress(stream, "loading the data", after=0.0)
    progress(1, 4)
    progress(1, 4)  # the same percent: not written again
    progress(4, 4)
    progress.finish()
    assert stream.getvalue() == "\rloading the data… 25 %\rloading the data… 100 %\n"
