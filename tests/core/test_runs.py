"""Run history read from run folders, without TensorFlow."""

from __future__ import annotations

import json

import pytest

from dropout_studio.core.project import load_preset, project_to_dict
from dropout_studio.core.runs import (
    delete_run,
    fallback_run_folder,
    list_runs,
    new_run_folder,
    rename_run,
    safe_folder_name,
)


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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("p", "p"),
        ("my net (v2)", "my net (v2)"),
        ("x/../../../outside", "x-outside"),
        ("..", "run"),
        ("", "run"),
        ("a\x00b", "a-b"),
        ("\ud800", "run"),
        ("caf\ud800é", "caf-é"),
        ("tab\there\nnewline", "tab-here-newline"),
        ('c:\\windows*?"<>|', "c-windows"),
        ("  .hidden. ", "hidden"),
    ],
)
def test_run_folder_names_are_safe(name, expected):
    assert safe_folder_name(name) == expected


@pytest.mark.parametrize("name", ["x" * 300, "é" * 300, "🙂" * 300, "a" * 59 + "/" + "b" * 9])
def test_long_run_folder_names_are_cut(name):
    safe = safe_folder_name(name)
    assert 0 < len(safe) <= 60
    assert len(safe.encode("utf-8")) <= 120
    assert "/" not in safe


@pytest.mark.parametrize(
    "name", ["x" * 300, "a\x00b", "\ud800", "x/../../../outside", "../..", "/abs", "", "\x00"]
)
def test_new_run_folder_is_inside_the_runs_folder_and_can_be_created(tmp_path, name):
    project_file = tmp_path / "p.json"
    folder = new_run_folder(project_file, name)
    assert folder.parent == tmp_path / "runs"
    assert folder.resolve().parent == (tmp_path / "runs").resolve()
    folder.mkdir(parents=True)  # no OSError, ValueError or UnicodeError
    assert folder.is_dir()


def test_new_run_folder_never_reuses_a_folder(tmp_path):
    project_file = tmp_path / "p.json"
    first = new_run_folder(project_file, "p")
    first.mkdir(parents=True)
    second = new_run_folder(project_file, "p")
    assert second != first
    assert second.parent == first.parent


def test_fallback_run_folder(tmp_path):
    folder = fallback_run_folder(tmp_path)
    assert folder.parent == tmp_path
    assert folder.name.startswith("run-")
    folder.mkdir()
    assert fallback_run_folder(tmp_path) != folder


@pytest.mark.parametrize("name", ["a\x00b", "\ud800", "x" * 300, "a/b", "..", "a..b", ""])
def test_rename_refuses_unsafe_names(tmp_path, name):
    make_run(tmp_path, "a", [0.9])
    (record,) = list_runs(tmp_path)
    with pytest.raises(ValueError, match="cannot be a folder name"):
        rename_run(record, name)
    assert [r.name for r in list_runs(tmp_path)] == ["a"]


@pytest.mark.parametrize(
    "project_text",
    [
        json.dumps({"layers": [{"dropout": {"rate": "x"}}], "training": {"epochs": "5"}}),
        json.dumps({"layers": [{"dropout": [1]}, 3, None], "training": [], "dataset": 7}),
        json.dumps({"layers": {"a": 1}, "training": {"seed": 10**4000 // 10**3990}}),
        json.dumps({"layers": [{"dropout": {"rate": True}}], "dataset": {"train_size": [1]}}),
        json.dumps([1, 2]),
        "[" * 100_000,
        "{",
        "\x00\xff",
    ],
)
def test_a_malformed_run_is_listed_with_unknown_settings(tmp_path, project_text):
    run = make_run(tmp_path, "a", [0.9, 0.5])
    (run / "project.json").write_text(project_text, errors="surrogateescape")
    (record,) = list_runs(tmp_path)
    assert record.best_val_loss == 0.5
    assert "?" in record.settings or "no dropout" in record.settings


@pytest.mark.parametrize(
    ("summary", "history"),
    [
        ("[1]", "epoch,loss,val_loss\n0,1,0.5,extra,cells\n"),
        ("[" * 100_000, "epoch,val_loss\nx,y\n"),
        ('{"status": null}', "\xff\xfe"),
        ("", '"unterminated\n'),
    ],
)
def test_a_malformed_summary_or_history_does_not_stop_the_list(tmp_path, summary, history):
    run = make_run(tmp_path, "a", [0.9])
    (run / "summary.json").write_text(summary)
    (run / "history.csv").write_text(history, errors="surrogateescape")
    (record,) = list_runs(tmp_path)
    assert record.name == "a"


def test_a_missing_or_unreadable_runs_folder_lists_nothing(tmp_path):
    assert list_runs(tmp_path / "missing") == []
    (tmp_path / "file").write_text("x")
    assert list_runs(tmp_path / "file") == []
