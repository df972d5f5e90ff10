"""Sweeps through KerasTuner: grid points, per-layer mode, and chief + two workers locally."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from dropout_studio.cli import main
from dropout_studio.core.project import load_preset, save_project
from dropout_studio.engine.sweep import SweepPlan, run_sweep, trial_project, write_sweep_csv
from tests.engine.helpers import tiny_project

pytestmark = pytest.mark.slow


def test_trial_project_changes_the_right_layers():
    project = load_preset("digits-mlp")
    every = trial_project(project, SweepPlan(), {"rate": 0.3, "train_size": 100})
    assert [layer.dropout.rate for layer in every.network.layers] == [0.3, 0.3, 0.3, 0.0]
    assert every.dataset.train_size == 100
    one = trial_project(
        project, SweepPlan(per_layer=True), {"rate": 0.0, "layer": 1, "train_size": 0}
    )
    assert [layer.dropout.rate for layer in one.network.layers] == [0.2, 0.0, 0.5, 0.0]
    assert one.dataset.train_size is None


def test_grid_sweep_visits_every_point(tmp_path):
    seen = []
    plan = SweepPlan(rates=(0.0, 0.5), sizes=(40, 0), seeds=1)
    rows = run_sweep(tiny_project(epochs=2), plan, tmp_path, on_trial=seen.append)
    assert sorted((r["rate"], r["train_size"]) for r in rows) == [
        (0.0, 0),
        (0.0, 40),
        (0.5, 0),
        (0.5, 40),
    ]
    assert len(seen) == 4
    assert all(r["val_loss"] > 0 for r in rows)
    write_sweep_csv(tmp_path / "s.csv", rows)
    assert (tmp_path / "s.csv").read_text().splitlines()[0].startswith("rate,train_size,val_loss")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_chief_and_two_workers_on_localhost(tmp_path):
    project = tmp_path / "tiny.json"
    save_project(tiny_project(epochs=2), project)
    out = tmp_path / "sweep"
    env = {
        **os.environ,
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(_free_port()),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    command = [
        sys.executable,
        "-m",
        "dropout_studio",
        "sweep",
        str(project),
        "--out",
        str(out),
        "--rates",
        "0",
        "0.25",
        "0.5",
        "--seeds",
        "1",
    ]
    chief = subprocess.Popen(
        command,
        env={**env, "KERASTUNER_TUNER_ID": "chief"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            command,
            env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        worker_out = [w.communicate(timeout=240) for w in workers]
        chief_out = chief.communicate(timeout=120)
    finally:
        for proc in (chief, *workers):
            proc.kill()
    for proc, (stdout, stderr) in zip(workers, worker_out):
        assert proc.returncode == 0, stderr[-2000:]
        assert "finished its trials" in stdout
    assert chief.returncode == 0, chief_out[1][-2000:]
    with open(out / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(float(r["rate"]) for r in rows) == [0.0, 0.25, 0.5]
    trials_run = sum(err.count("best validation loss") for _, err in worker_out)
    assert trials_run == 3  # the workers ran every trial; the chief only served the oracle


def test_a_stopped_sweep_returns_the_finished_trials_without_an_error(tmp_path, monkeypatch):
    import dropout_studio.engine.sweep as engine_sweep

    stop = threading.Event()
    real_train, calls = engine_sweep.train, []

    def train_then_stop(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            stop.set()  # a stop request in the middle of the second trial
        return real_train(*args, **kwargs)

    monkeypatch.setattr(engine_sweep, "train", train_then_stop)
    seen = []
    plan = SweepPlan(rates=(0.0, 0.3, 0.5), sizes=(0,), seeds=1)
    rows = run_sweep(tiny_project(epochs=2), plan, tmp_path, on_trial=seen.append, stop=stop)
    assert len(rows) == 1  # the cut-short trial is not recorded as complete
    assert len(seen) == 1
    assert rows[0]["rate"] == 0.0


def test_cli_sweep_ctrl_c_prints_what_finished(tmp_path, capsys, monkeypatch):
    import dropout_studio.engine.sweep as engine_sweep

    real_train, calls = engine_sweep.train, []

    def interrupted_train(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(engine_sweep, "train", interrupted_train)
    path = tmp_path / "tiny.json"
    save_project(tiny_project(epochs=2), path)
    out = tmp_path / "sweep"
    args = ["sweep", str(path), "--out", str(out), "--rates", "0", "0.3", "0.5", "--seeds", "1"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert "stopped: 1 of 3 points finished" in captured.err
    assert (out / "sweep.csv").exists()
