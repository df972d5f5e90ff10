"""The command line, end to end, as a user types it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dropout_studio.cli import main

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "dropout_studio", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_presets_lists_one_line_each(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "cnn-classic",
        "digits-mlp",
        "lstm-sequence",
        "mlp-classic",
        "small-data",
    ]


def test_new_and_check_print_the_layer_table(tmp_path, capsys):
    path = tmp_path / "my.json"
    assert main(["new", str(path), "--preset", "mlp-classic"]) == 0
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "total parameters: 67,845" in out
    assert "dropout · drop 50% · keep 50%" in out
    assert main(["new", str(path)]) == 2  # no silent overwrite
    assert "already exists" in capsys.readouterr().err


def test_check_of_an_invalid_stack_exits_2_with_the_message(tmp_path, capsys):
    path = tmp_path / "bad.json"
    main(["new", str(path), "--preset", "cnn-classic"])
    data = json.loads(path.read_text())
    data["layers"].insert(1, {"kind": "Flatten"})
    path.write_text(json.dumps(data))
    assert main(["check", str(path)]) == 2
    assert "remove the Flatten or move it after the convolutions" in capsys.readouterr().out


def test_malformed_project_is_one_line_on_stderr(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "dropout-studio-project", "vers')
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "is not valid JSON" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_train_export_import_round_trip(tmp_path):
    assert run("new", "my.json", "--preset", "digits-mlp", cwd=tmp_path).returncode == 0
    result = run(
        "train", "my.json", "--out", "runs/first", "--epochs", "3", "--seed", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "finished: 3 epochs" in result.stdout
    assert "test set: loss" in result.stdout
    folder = tmp_path / "runs" / "first"
    assert sorted(p.name for p in folder.iterdir()) == [
        "history.csv",
        "masks.npz",
        "model.keras",
        "project.json",
        "summary.json",
    ]
    assert json.loads((folder / "project.json").read_text())["training"]["seed"] == 1
    masks = np.load(folder / "masks.npz")
    assert {
        "dense_2_dropout/last_mask",
        "dense_2_dropout/drop_frequency",
        "input_1_dropout/last_mask",
    } <= set(masks.files)
    assert masks["dense_2_dropout/last_mask"].shape == (128,)
    assert abs(masks["dense_2_dropout/drop_frequency"].mean() - 0.5) < 0.05

    result = run("export", "runs/first", "--format", "onnx", "--out", "first.onnx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "first.onnx").stat().st_size > 1000

    result = run("import", "runs/first/model.keras", "my2.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    original = json.loads((tmp_path / "my.json").read_text())["layers"]
    imported = json.loads((tmp_path / "my2.json").read_text())["layers"]
    assert imported == original


@pytest.mark.slow
def test_train_without_out_writes_to_the_projects_runs_folder(tmp_path):
    run("new", "p.json", "--preset", "small-data", cwd=tmp_path)
    result = run("train", "p.json", "--epochs", "2", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-p")
    assert (folder / "history.csv").exists()


@pytest.mark.slow
def test_ctrl_c_stops_and_still_writes_the_run(tmp_path):
    run("new", "p.json", "--preset", "small-data", cwd=tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dropout_studio",
            "train",
            "p.json",
            "--out",
            "r",
            "--epochs",
            "1000000",
        ],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:  # wait for real progress before interrupting
        if line.startswith("epoch"):
            break
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "stopped" in out
    history = (tmp_path / "r" / "history.csv").read_text().splitlines()
    assert len(history) >= 2  # header + every finished epoch
    assert time.perf_counter() - sent < 60  # includes writing the run folder


def test_bad_option_values(capsys, tmp_path):
    path = Path(tmp_path) / "p.json"
    main(["new", str(path)])
    assert main(["train", str(path), "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_tensorboard_event_files_when_asked(tmp_path):
    run("new", "p.json", "--preset", "small-data", cwd=tmp_path)
    data = json.loads((tmp_path / "p.json").read_text())
    data["training"]["tensorboard"] = True
    (tmp_path / "p.json").write_text(json.dumps(data))
    result = run("train", "p.json", "--out", "r", "--epochs", "3", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    events = list((tmp_path / "r" / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    assert events[0].stat().st_size > 100
