"""Project files: round trip, atomic save, and one clear error for every kind of bad file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from dropout_studio.core import files as files_module
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
        (lambda d: d["training"].update(batch_size=0), "batch_size must be a whole number from 1"),
        (lambda d: d["training"].update(learning_rat=0.5), "did you mean 'learning_rate'"),
        (lambda d: d.update(colour="red"), "has unknown field 'colour'"),
        (lambda d: d["training"].update(seed=-1), "seed must be a whole number from 0 to"),
        (lambda d: d["training"].update(seed=2**32), "seed must be a whole number from 0 to"),
        (lambda d: d["training"].update(epochs=2**31), "epochs must be a whole number from 1 to"),
        (lambda d: d["training"].update(learning_rate=10**400), "learning_rate must be a number"),
        (lambda d: d["layers"][2]["dropout"].update(rate=10**400), "about 40[01] digits"),
        (lambda d: d["layers"][0].update(shape=[10**12]), "shape must be a list of 1 to"),
        (lambda d: d["layers"][2].update(units=70_000), "units must be a whole number from 1 to"),
        (lambda d: d["layers"][0].update(shape=None), "shape must be a list"),
        (lambda d: d["dataset"].update(arms=None), "arms must be a whole number"),
        (lambda d: d["dataset"].update(steps="x"), "steps must be a whole number"),
        (lambda d: d["dataset"].update(size=[]), "size must be a whole number"),
        (lambda d: d["dataset"].update(channels=float("nan")), "channels must be one of 1, 3"),
        (lambda d: d["dataset"].update(samples=-5), "samples must be a whole number from 5"),
        (lambda d: d["dataset"].update(noise=-1), "noise must be a number from 0"),
        (lambda d: d["dataset"].update(data_seed=-1), "data_seed must be a whole number from 0"),
        (lambda d: d["training"].update(device="tpu:0"), "device must be auto, cpu, gpu"),
        (lambda d: d["training"].update(optimizer="adamant"), "optimizer must be one of"),
        (lambda d: d["dataset"].update(validation_split=1.5), "validation_split must be a number"),
        (lambda d: d.pop("version"), "version is missing"),
    ],
)
def test_bad_fields_give_one_clear_error(tmp_path, mutate, pattern):
    data = preset_dict()
    mutate(data)
    with pytest.raises(ProjectError, match=pattern):
        load_project(write(tmp_path, data))


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda d: d["dataset"].update(source="csv"), "a csv dataset needs a path"),
        (
            lambda d: d["dataset"].update(validation_split=0.6, test_split=0.6),
            "keep their sum below 0.9",
        ),
    ],
)
def test_rules_across_fields_load_and_are_reported_by_check(tmp_path, mutate, pattern):
    """The app can produce these, so they load (and save back) and ``check`` names them."""
    data = preset_dict()
    mutate(data)
    project = load_project(write(tmp_path, data))
    save_project(project, tmp_path / "again.json")
    assert load_project(tmp_path / "again.json") == project
    assert any(re.search(pattern, p.message) for p in project.check().errors)


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

    monkeypatch.setattr(files_module.os, "replace", broken_replace)
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


OLD_MAIN_FILE = {
    # Every key the app wrote before the registry (4c7e788), with the importer's and presets'.
    "format": "dropout-studio-project",
    "version": 1,
    "name": "everything",
    "description": "all keys",
    "dataset": {
        "source": "csv",
        "name": "",
        "path": "data.csv",
        "train_size": 40,
        "label_column": "label",
        "validation_split": 0.2,
        "test_split": 0.2,
        "standardize": True,
        "samples": 100,
        "noise": 0.1,
        "data_seed": 3,
        "arms": 3,
        "steps": 20,
        "size": 32,
        "channels": 3,
        "as_images": False,
        "task": "classification",
    },
    "layers": [
        {"kind": "Input", "shape": [20, 4], "dropout": {"type": "dropout", "rate": 0.1}},
        {
            "kind": "Conv1D",
            "filters": 8,
            "kernel_size": 3,
            "strides": 1,
            "padding": "same",
            "activation": "relu",
            "l2": 0.001,
            "dropout": {"type": "spatial", "rate": 0.2},
        },
        {"kind": "MaxPooling1D", "pool_size": 2, "padding": "valid"},
        {
            "kind": "LSTM",
            "units": 8,
            "return_sequences": True,
            "activation": "tanh",
            "input_dropout": 0.2,
            "recurrent_dropout": 0.1,
            "name": "lstm",
        },
        {"kind": "GlobalAveragePooling1D"},
        {"kind": "BatchNormalization"},
        {
            "kind": "Dense",
            "units": 3,
            "activation": "softmax",
            "use_bias": True,
            "dropout": {"type": "gaussian", "rate": 0.3},
        },
    ],
    "training": {
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 32,
        "epochs": 20,
        "seed": 0,
        "early_stopping": 0,
        "loop": "auto",
        "device": "auto",
        "tensorboard": False,
    },
}


def test_every_key_the_app_wrote_before_still_loads(tmp_path):
    project = load_project(write(tmp_path, OLD_MAIN_FILE))
    assert project.network.layers[3].input_dropout == 0.2
    assert project.dataset.option("task") == "classification"
    save_project(project, tmp_path / "again.json")
    assert load_project(tmp_path / "again.json") == project


@pytest.mark.parametrize(
    "name", ["mlp-classic", "cnn-classic", "lstm-sequence", "digits-mlp", "small-data"]
)
def test_presets_load_check_and_round_trip(tmp_path, name):
    project = load_preset(name)
    assert project.check().ok
    save_project(project, tmp_path / "p.json")
    assert load_project(tmp_path / "p.json") == project
    assert json.loads((tmp_path / "p.json").read_text())["layers"][0]["kind"] == "Input"


def test_null_options_survive_the_round_trip(tmp_path):
    data = preset_dict("cnn-classic")
    pools = [layer for layer in data["layers"] if "pool_size" in layer]
    assert pools
    pools[0]["strides"] = None
    project = load_project(write(tmp_path, data))
    save_project(project, tmp_path / "again.json")
    assert (
        json.loads((tmp_path / "again.json").read_text())["layers"][data["layers"].index(pools[0])][
            "strides"
        ]
        is None
    )
    assert load_project(tmp_path / "again.json") == project


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"format": "dropout-studio-project", "version": ' + "9" * 4301 + "}",
        '{"format": "dropout-studio-project", "version": 1, "name": "\\ud800"',
        "",
        "\x00",
    ],
)
def test_hostile_json_is_one_project_error(tmp_path, text):
    with pytest.raises(ProjectError):
        load_project(write(tmp_path, text))


def test_deep_nesting_inside_a_field_is_refused(tmp_path):
    data = preset_dict()
    data["layers"][0]["shape"] = json.loads("[" * 900 + "]" * 900)
    with pytest.raises(ProjectError, match="shape must be a list"):
        load_project(write(tmp_path, data))


def test_check_does_not_trust_values_built_in_code():
    from dataclasses import replace

    from dropout_studio.core.spec import DropoutSpec, LayerSpec

    project = load_preset("mlp-classic")
    wild = replace(
        project,
        network=project.network.with_layer(
            2, LayerSpec.make("Dense", units=10**400, dropout=DropoutSpec("dropout", 10**400))
        ),
        dataset=project.dataset.with_options(samples="abc", size=None),
        training=replace(project.training, seed=-1, epochs=2**31),
    )
    messages = [p.message for p in wild.check().errors]
    assert any("seed must be" in m for m in messages)
    assert any("samples must be" in m for m in messages)
    from dropout_studio.cli import layer_table

    table, ok = layer_table(wild)
    assert not ok
    assert "digits" in table
