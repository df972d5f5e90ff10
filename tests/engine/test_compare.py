"""Compare: arms differ only in regularization; same weights, split and batch order per seed."""

from __future__ import annotations

import csv
import math
import signal
import threading

import numpy as np
import pytest

from dropout_studio.cli import main
from dropout_studio.core.project import save_project
from dropout_studio.engine.build import build_model
from dropout_studio.engine.compare import arm_project, compare, plot_compare, write_compare_csv
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.slow


def test_arms_change_only_the_regularization():
    project = tiny_project(epochs=50)
    none = arm_project(project, "no dropout")
    assert not any(layer.dropout.active for layer in none.network.layers)
    l2 = arm_project(project, "l2")
    assert [layer.l2 for layer in l2.network.layers] == [0.0, 1e-4, 1e-4]
    early = arm_project(project, "early stopping")
    assert early.training.early_stopping == 5
    assert none.training == project.training


def test_arms_start_from_the_same_weights():
    project = tiny_project()
    with_dropout = build_model(project.network, 3)
    without = build_model(arm_project(project, "no dropout").network, 3)
    dense = [layer for layer in with_dropout.layers if layer.trainable_weights]
    twins = [layer for layer in without.layers if layer.trainable_weights]
    for a, b in zip(dense, twins, strict=True):
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)


def test_compare_reports_every_arm_over_every_seed(tmp_path):
    summaries = compare(tiny_project(epochs=4), seeds=2, arms=("dropout", "no dropout", "l2"))
    assert [s.arm for s in summaries] == ["dropout", "no dropout", "l2"]
    assert all([run.seed for run in s.runs] == [0, 1] for s in summaries)
    stats = summaries[0].stats()
    assert math.isfinite(stats["best_val_loss"])
    assert math.isfinite(stats["test_loss"])  # of the best-validation weights
    assert 1 <= stats["best_epoch"] <= 4
    write_compare_csv(tmp_path / "c.csv", summaries)
    plot_compare(tmp_path / "c.png", summaries, "tiny")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_compare_writes_table_and_chart(tmp_path, capsys):
    path = tmp_path / "tiny.json"
    save_project(tiny_project(epochs=3), path)
    out = tmp_path / "cmp"
    assert main(["compare", str(path), "--seeds", "2", "--out", str(out)]) == 0
    with open(out / "compare.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["arm"] for row in rows] == ["dropout", "no dropout"]
    assert all(float(row["best_val_loss"]) > 0 for row in rows)
    assert (out / "compare.png").stat().st_size > 1000
    assert "best val loss" in capsys.readouterr().out


def test_a_stopped_compare_keeps_only_finished_runs():
    stop = threading.Event()
    finished = []

    def on_run(arm, seed, result):
        finished.append(arm)
        stop.set()  # stop while the next run starts: it is cut short and dropped

    summaries = compare(
        tiny_project(epochs=3), seeds=2, arms=("dropout", "no dropout"), on_run=on_run, stop=stop
    )
    assert finished == ["dropout"]
    assert [s.seeds for s in summaries] == [1, 0]
    assert math.isfinite(summaries[0].stats()["best_val_loss"])
    assert math.isnan(summaries[1].stats()["best_val_loss"])  # no run: NaN, no exception


def test_a_compare_stopped_in_its_first_epoch_reports_nothing():
    stop = threading.Event()
    stop.set()
    summaries = compare(tiny_project(epochs=3), seeds=1, stop=stop)
    assert [s.seeds for s in summaries] == [0, 0]
    assert all(math.isnan(s.stats()["best_epoch"]) for s in summaries)


def test_cli_compare_ctrl_c_prints_what_finished(tmp_path, capsys, monkeypatch):
    import dropout_studio.engine.compare as engine_compare

    real_train, calls = engine_compare.train, []

    def interrupted_train(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C during the second run
        return real_train(*args, **kwargs)

    monkeypatch.setattr(engine_compare, "train", interrupted_train)
    path = tmp_path / "tiny.json"
    save_project(tiny_project(epochs=3), path)
    assert main(["compare", str(path), "--seeds", "2", "--out", str(tmp_path / "c")]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "stopped: finished runs per arm (seeds): dropout 1, no dropout 0" in captured.err
    assert (tmp_path / "c" / "compare.csv").exists()
