"""Compare: arms differ only in regularization; same weights, split and batch order per seed."""

from __future__ import annotations

import csv
import math

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
