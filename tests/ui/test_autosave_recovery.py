"""Recovery offers every autosave left behind, and a malformed one is one message, once."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtWidgets import QMessageBox

from dropout_studio.core.project import ProjectError, load_preset
from dropout_studio.ui.files import autosave_text, read_autosave

GOOD = autosave_text(load_preset("small-data"), None)
PROJECT = json.loads(GOOD)["project"]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"dropout_studio_autosave": [1], "project": PROJECT}),
        json.dumps({"dropout_studio_autosave": {"origin": 3}, "project": PROJECT}),
        json.dumps({"dropout_studio_autosave": None, "project": PROJECT}),
        json.dumps({"dropout_studio_autosave": {}, "project": PROJECT, "x": 1}),
        json.dumps({"dropout_studio_autosave": {}}),
        json.dumps({"dropout_studio_autosave": {}, "project": [PROJECT]}),
        "[" * 100_000,
        '{"dropout_studio_autosave": {}, "project": ' + "[" * 100_000,
        '{"dropout_studio_autosave": {}, "project": ' + "[" * 5000 + "]" * 5000 + "}",
        "",
        "1" * 5000,
        "\ud800",
        "[1, 2]",
        GOOD[: len(GOOD) // 2],
    ],
)
def test_any_malformed_autosave_is_one_project_error(tmp_path, text):
    path = tmp_path / "autosave-1-aa.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(ProjectError):
        read_autosave(path)


def test_a_binary_or_missing_autosave_is_a_project_error(tmp_path):
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    for path in (tmp_path / "b.json", tmp_path / "missing.json", tmp_path):
        with pytest.raises(ProjectError):
            read_autosave(path)


def _left_behind(folder, name, text, age):
    """An autosave of an instance that crashed (its lock file is gone with it)."""
    folder.mkdir(exist_ok=True)
    path = folder / f"autosave-{name}.json"
    path.write_text(text, encoding="utf-8")
    os.utime(path, (1e9 - age, 1e9 - age))
    return path


def _errors(window):
    return [box for box in window.findChildren(QMessageBox, "errorBox") if box.isVisible()]


def test_every_unclaimed_autosave_is_offered_newest_first(make_window, tmp_path):
    folder = tmp_path / "autosave"
    older = _left_behind(folder, "1-aa", autosave_text(load_preset("mlp-classic"), None), 100)
    newer = _left_behind(folder, "2-bb", GOOD, 0)
    questions: list[str] = []
    window = make_window()
    assert not window.recover_autosave(ask=lambda text: questions.append(text) or False)
    assert len(questions) == 2
    assert "1 of 2" in questions[0]
    assert "2 of 2" in questions[1]
    assert not older.exists()  # declined: discarded
    assert not newer.exists()


def test_the_older_autosave_is_recovered_when_the_newer_is_declined(make_window, tmp_path):
    folder = tmp_path / "autosave"
    _left_behind(folder, "1-aa", autosave_text(load_preset("mlp-classic"), None), 100)
    _left_behind(folder, "2-bb", GOOD, 0)
    answers = iter([False, True])
    window = make_window("small-data")
    assert window.recover_autosave(ask=lambda text: next(answers))
    assert window.document.project == load_preset("mlp-classic")
    assert window.document.dirty


def test_a_recovery_leaves_the_other_autosaves_for_the_next_start(make_window, tmp_path):
    folder = tmp_path / "autosave"
    older = _left_behind(folder, "1-aa", autosave_text(load_preset("mlp-classic"), None), 100)
    _left_behind(folder, "2-bb", GOOD, 0)
    window = make_window()
    assert window.recover_autosave(ask=lambda text: True)
    assert older.exists()
    assert "1 more" in window.statusBar().currentMessage()
    questions: list[str] = []
    later = make_window()
    assert later.recover_autosave(ask=lambda text: questions.append(text) or True)
    assert later.document.project == load_preset("mlp-classic")
    assert len(questions) == 1  # the first window's own slot is held: not offered


def test_an_unreadable_autosave_is_reported_once_and_hides_no_other(make_window, tmp_path):
    folder = tmp_path / "autosave"
    _left_behind(folder, "1-aa", GOOD, 100)  # older, readable
    bad = _left_behind(folder, "2-bb", '{"dropout_studio_autosave": [1], "project": {}}', 0)
    deep = _left_behind(folder, "3-cc", "[" * 100_000, 50)
    questions: list[str] = []
    window = make_window()
    assert window.recover_autosave(ask=lambda text: questions.append(text) or True)
    assert len(questions) == 1
    assert window.document.project == load_preset("small-data")
    (box,) = _errors(window)
    assert "2 autosaved projects cannot be recovered" in box.text()
    assert not bad.exists()
    assert not deep.exists()
    assert (folder / (bad.name + ".unreadable")).exists()
    later = make_window()
    assert not later.recover_autosave(ask=lambda text: questions.append(text) or True)
    assert not _errors(later)  # told once: not again at every start
    assert len(questions) == 1


def test_an_origin_that_is_not_a_path_recovers_without_one(make_window, tmp_path):
    text = json.dumps({"dropout_studio_autosave": {"origin": "a\x00b"}, "project": PROJECT})
    _left_behind(tmp_path / "autosave", "1-aa", text, 0)
    window = make_window()
    assert window.recover_autosave(ask=lambda text: True)
    assert window.document.path is None
    assert window.document.project == load_preset("small-data")
