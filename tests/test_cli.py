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
        "mnist-classic",
        "small-data",
    ]


def test_new_and_check_print_the_layer_table(tmp_path, capsys):
    path = tmp_path / "my.json"
    assert main(["new", str(path), "--preset", "mlp-classic"]) == 0
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "total parameters: 67,845" in out
    assert "dropout · drop 50% · keep 50%" in out
    assert "\n1  Input " in out  # kinds print as plain words
    assert main(["new", str(path)]) == 2  # no silent overwrite
    assert "already exists" in capsys.readouterr().err


def test_check_shows_rnn_dropout_as_drop_and_keep(tmp_path, capsys):
    path = tmp_path / "rnn.json"
    assert main(["new", str(path), "--preset", "lstm-sequence"]) == 0
    assert main(["check", str(path)]) == 0
    assert "input drop 20% · keep 80%; recurrent drop 20% · keep 80%" in capsys.readouterr().out


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


# ---------------------------------------------------------------- user errors: one line, no trace


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.mark.parametrize("command", ["check", "train", "code", "compare", "sweep"])
def test_a_missing_project_file_is_one_line(tmp_path, capsys, command):
    argv = [command, str(tmp_path / "missing.json")]
    if command in ("code", "compare", "sweep"):
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "missing.json" in one_line_error(capsys)


def test_a_bad_project_is_one_line(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text('{"format": "dropout-studio-project", "version": 1, "layers": 7}')
    assert main(["train", str(path)]) == 2
    one_line_error(capsys)


def test_export_of_a_folder_that_is_not_a_run_is_one_line(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert main(["export", str(tmp_path / "run"), "--format", "keras"]) in (1, 2)
    assert "model.keras" in one_line_error(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "p.json", "--epochs", "x"],
        ["train", "p.json", "--loop", "fastest"],
        ["new", "p.json", "--preset", "nope"],
        ["train"],
        ["fly"],
    ],
)
def test_a_bad_option_value_is_one_line_with_status_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "--help" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--seed", "-1", "--seed must be from 0 to 2147483647"),
        ("--seed", str(2**32), "--seed must be from 0 to 2147483647"),
        ("--epochs", str(2**31), "--epochs must be at most 1,000,000"),
        ("--batch-size", "0", "--batch-size must be at least 1"),
    ],
)
def test_out_of_range_overrides_are_one_line(tmp_path, capsys, option, value, expected):
    path = tmp_path / "p.json"
    main(["new", str(path), "--preset", "small-data"])
    capsys.readouterr()
    assert main(["train", str(path), option, value]) == 2
    assert expected in one_line_error(capsys)


def test_an_unwritable_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["new", str(tmp_path / "file" / "p.json")]) in (1, 2)
    one_line_error(capsys)


def test_an_unexpected_error_is_one_line_unless_asked(tmp_path, capsys, monkeypatch):
    import dropout_studio.cli as cli

    def broken(args):
        raise RecursionError("maximum recursion depth exceeded\nwhile calling")

    monkeypatch.setattr(cli, "cmd_presets", broken)
    assert main(["presets"]) == 1
    err = one_line_error(capsys)
    assert "RecursionError: maximum recursion depth exceeded while calling" in err
    monkeypatch.setenv("DROPOUT_STUDIO_TRACEBACK", "1")
    with pytest.raises(RecursionError):
        main(["presets"])


@pytest.mark.slow
def test_an_unavailable_device_is_one_line(tmp_path):
    assert run("new", "p.json", "--preset", "small-data", cwd=tmp_path).returncode == 0
    result = run("train", "p.json", "--device", "gpu:7", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("dropout-studio")]
    assert "device 'gpu:7' is not available; this machine has cpu" in line
    assert not (tmp_path / "runs").exists()


def small_project(folder, name, **training):
    path = folder / "p.json"
    assert main(["new", str(path), "--preset", "small-data"]) == 0
    data = json.loads(path.read_text())
    data["name"] = name
    data["training"].update(epochs=1, **training)
    path.write_text(json.dumps(data))  # ensure_ascii: NUL and a lone surrogate as \u escapes
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["n" * 300, "a\x00b", "\ud800", "x/../../../outside"], ids=["300", "nul", "sur", "dots"]
)
def test_a_run_of_any_project_name_is_written_inside_the_runs_folder(tmp_path, capsys, name):
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    path = small_project(project_dir, name)
    assert main(["train", str(path), "--quiet"]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    (folder,) = (project_dir / "runs").iterdir()
    assert {"history.csv", "project.json", "model.keras", "summary.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert json.loads((folder / "project.json").read_text())["name"] == name
    assert f"run folder: {folder}" in out
    assert sorted(p.name for p in project_dir.iterdir()) == ["p.json", "runs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # nothing escaped


@pytest.mark.slow
@pytest.mark.parametrize("out", ["bad\x00name", "x" * 300, "\ud800"], ids=["nul", "long", "sur"])
def test_an_unwritable_out_folder_falls_back_and_says_so(tmp_path, capsys, out):
    path = small_project(tmp_path, "p")
    assert main(["train", str(path), "--quiet", "--out", str(tmp_path / out)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("run-")
    assert (folder / "history.csv").exists()
    assert "warning: could not write the run folder" in captured.err
    assert f"run folder: {folder}" in captured.out


@pytest.mark.slow
def test_an_unwritable_out_folder_with_tensorboard_falls_back_before_training(tmp_path, capsys):
    path = small_project(tmp_path, "p", tensorboard=True)
    assert main(["train", str(path), "--quiet", "--out", str(tmp_path / "bad\x00name")]) == 0
    captured = capsys.readouterr()
    assert "cannot use the run folder" in captured.err
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "history.csv").exists()
    assert list((folder / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.slow  # imports TensorFlow
def test_write_run_falls_back_to_a_temporary_folder_when_nothing_else_is_writable(
    tmp_path, monkeypatch, caplog
):
    import tempfile
    from types import SimpleNamespace

    from dropout_studio.core.project import load_preset
    from dropout_studio.engine.export import write_run

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (tmp_path / "file").write_text("")
    result = SimpleNamespace(
        history=[{"epoch": 0, "loss": 1.0, "val_loss": 1.5}],
        model=None,
        masks={},
        status="finished",
        message="",
        best_epoch=0,
        test_metrics={},
        best_test_metrics={},
        wall_time=1.0,
        samples_per_second=60.0,
        loop="compiled",
    )
    warnings = []
    folder = write_run(
        tmp_path / "file" / "run",  # under a regular file: cannot be made, nor beside it
        load_preset("small-data"),
        result,
        on_warning=warnings.append,
    )
    assert folder.parent == temp
    assert (folder / "history.csv").read_text().startswith("epoch,loss,val_loss")
    assert json.loads((folder / "summary.json").read_text())["status"] == "finished"
    (warning,) = warnings
    assert f"the run was written to {folder} instead" in warning
    assert warning in caplog.text


def test_train_of_an_invalid_stack_is_one_line_naming_the_problem(tmp_path, capsys):
    path = tmp_path / "bad.json"
    main(["new", str(path), "--preset", "cnn-classic"])
    data = json.loads(path.read_text())
    data["layers"].insert(1, {"kind": "Flatten"})
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["train", str(path)]) == 2
    err = one_line_error(capsys)
    assert "remove the Flatten or move it after the convolutions" in err
    assert f"dropout-studio check {path} lists them" in err


def _moons_project(folder, **training):
    data = {
        "format": "dropout-studio-project",
        "version": 1,
        "name": "t",
        "dataset": {"source": "synthetic", "name": "moons", "samples": 60},
        "layers": [
            {"kind": "Input", "shape": [2]},
            {"kind": "Dense", "units": 64, "activation": "linear", "dropout": {"rate": 0.1}},
            {"kind": "Dense", "units": 64, "activation": "linear"},
            {"kind": "Dense", "units": 2, "activation": "softmax"},
        ],
        "training": {"epochs": 1, "batch_size": 16, **training},
    }
    data["layers"][1]["dropout"]["type"] = "dropout"
    path = folder / "p.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("command", ["sweep", "compare"])
@pytest.mark.parametrize("seeds", ["0", "-3", "1000001"])
def test_seeds_out_of_range_are_one_line(tmp_path, capsys, command, seeds):
    path = _moons_project(tmp_path)
    assert main([command, str(path), "--out", str(tmp_path / "x"), "--seeds", seeds]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip() == f"dropout-studio {command}: --seeds must be from 1 to 1,000,000, got {seeds}"
    )
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["code", "{p}", "--out", "a\x00b.py"],
        ["compare", "{p}", "--out", "a\x00b"],
        ["sweep", "{p}", "--out", "a\x00b"],
        ["check", "p\x00.json"],
        ["export", "run\x00", "--format", "keras"],
    ],
    ids=["code", "compare", "sweep", "project", "run"],
)
def test_a_nul_in_a_path_is_one_line(tmp_path, capsys, argv):
    path = _moons_project(tmp_path)
    assert main([a.replace("{p}", str(path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "a path cannot contain a NUL character" in err
    assert len(err.strip().splitlines()) == 1


def test_keras_tuner_prints_no_traceback_for_a_failed_trial():
    pytest.importorskip("keras_tuner")
    import keras_tuner

    import dropout_studio.engine.sweep  # noqa: F401 - sets the flag on import

    assert keras_tuner.src.config.DEBUG is False


@pytest.mark.slow
def test_a_diverging_sweep_is_one_line(tmp_path, capsys):
    path = _moons_project(tmp_path, optimizer="sgd", learning_rate=10.0)
    status = main(
        ["sweep", str(path), "--out", str(tmp_path / "s"), "--seeds", "1", "--rates", "0.5"]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert status in (0, 2)
