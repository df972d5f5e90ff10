"""Run history read from run folders, without TensorFlow."""

from __future__ import annotations

import json

import pytest

from dropout_studio.core.project import load_preset, project_to_dict
from dropout_studio.core.runs import delete_run, list_runs, rename_run


def make_run(folder, name, losses, status="finished"):
    run = folder / name
    run.mkdir(parents=True)
    rows = ["epoch,loss,val_loss"] + [f"{i},{1.0},{v}" for i, v in enumerate(losses)]
    (run / "history.csv").write_text("\n".join(rows) + "\n")
    (run / "summary.json").write_text(json.dumps({"status": status}))
    (run / "project.json").write_text(json.dumps(project_to_dict(load_preset("small-data"))))
    return run


def test_runs_are_listed_with_settings_and_best_loss(tmp_path):
    make_run(tmp_path, "a", [0.9, 0.5, 0.7])
    make_run(tmp_path, "b", [0.8, 0.6], status="stopped")
    (tmp_path / "not-a-run").mkdir()
    records = {r.name: r for r in list_runs(tmp_path)}
    assert set(records) == {"a", "b"}
    assert records["a"].best_val_loss == 0.5
    assert records["b"].status == "stopped"
    assert records["a"].settings == "dropout 0.2/0.5 · 2000 epochs · seed 0 · train size 60"
    assert len(records["a"].history) == 3


def test_rename_and_delete(tmp_path):
    make_run(tmp_path, "a", [0.9])
    (record,) = list_runs(tmp_path)
    rename_run(record, "baseline")
    (record,) = list_runs(tmp_path)
    assert record.name == "baseline"
    with pytest.raises(ValueError, match="cannot be a folder name"):
        rename_run(record, "../escape")
    delete_run(record)
    assert list_runs(tmp_path) == []
