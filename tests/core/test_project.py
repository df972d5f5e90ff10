"""Project files: round trip, atomic save, and one clear error for every kind of bad file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dropout_studio.core import project as project_module
from dropout_studio.core.project import (
    ProjectError,
    load_preset,
    load_project,
    project_to_dict,
    resolve_data_path,
    save_project,
)


def write(tmp_path, data, name="p.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def preset_dict(name="mlp-classic"):
    return project_to_dict(load_preset(name))


def test_round_trip_keeps_everything(tmp_path):
    for name in ("mlp-classic", "lstm-sequence", "small-data", "cnn-classic"):
        original = load_preset(name)
        save_project(original, tmp_path / f"{name}.json")
        assert load_project(tmp_path / f"{name}.json") == original


def test_malformed_json_says_where(tmp_path):
    path = write(tmp_path, '{"format": "dropout-studio-project", "version": 1, "layers": [')
    with pytest.raises(ProjectError, match=r"is not valid JSON \(line 1, column \d+.*truncated"):
        load_project(path)


def test_wrong_type_names_the_field(tmp_path):
    data = preset_dict()
    data["layers"][2]["units"] = "sixty-four"
    with pytest.raises(ProjectError, match=r"layers\[2\]\.units must be a whole number"):
        load_project(write(tmp_path, data))


def test_future_version_asks_for_an_update(tmp_path):
    data = preset_dict()
    data["version"] = 99
    with pytest.raises(ProjectError, match=r"newer Dropout Studio.*update the app"):
        load_project(write(tmp_path, data))


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda d: d.update(format="something-else"), "not a Dropout Studio project"),
        (lambda d: d.update(layers="Dense"), "layers must be a list of layers"),
        (lambda d: d["layers"][2].update(kind="Densest"), r"layers\[2\]\.kind must be one of"),
        (lambda d: d["layers"][2].update(color="red"), "unknown field 'color'"),
        (lambda d: d["layers"][2]["dropout"].update(type="drop"), "dropout.type must be one of"),
        (lambda d: d["layers"][2]["dropout"].update(rate="half"), "dropout.rate must be a number"),
        (lambda d: d["training"].update(batch_size=0), "batch_size must be at least 1"),
        (lambda d: d["training"].update(optimizer="adamant"), "optimizer must be one of"),
        (lambda d: d["dataset"].update(validation_split=1.5), "validation_split must be a number"),
        (lambda d: d["dataset"].update(source="csv"), "dataset.path is missing"),
        (lambda d: d.pop("version"), "version is missing"),
    ],
)
def test_bad_fields_give_one_clear_error(tmp_path, mutate, pattern):
    data = preset_dict()
    mutate(data)
    with pytest.raises(ProjectError, match=pattern):
        load_project(write(tmp_path, data))


def test_not_an_object_and_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="must be a JSON object"):
        load_project(write(tmp_path, "[1, 2]"))
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.json")


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    save_project(load_preset("mlp-classic"), path)
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(project_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_project(load_preset("small-data"), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temp file left behind


def test_paths_are_relative_to_the_project_file(tmp_path):
    assert resolve_data_path(tmp_path / "p.json", "data/x.csv") == tmp_path / "data" / "x.csv"
    assert resolve_data_path(tmp_path / "p.json", "/abs/x.csv") == type(tmp_path)("/abs/x.csv")


def test_output_units_must_match_the_dataset():
    project = load_preset("digits-mlp")
    last = project.network.layers[-1].with_options(units=7)
    broken = type(project)(
        project.name, project.dataset, project.network.with_layer(3, last), project.training
    )
    errors = broken.check().errors
    assert errors[0].message == (
        "layer 4 (Dense) has 7 outputs but the dataset has 10 classes: set its units to 10"
    )


def test_core_imports_neither_tensorflow_nor_qt():
    code = (
        "import sys, dropout_studio.core.project, dropout_studio.core.shapes, dropout_studio.cli;"
        "bad = [m for m in ('tensorflow', 'keras', 'PySide6', 'pyqtgraph') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}
    )
    assert result.returncode == 0, result.stdout + result.stderr
