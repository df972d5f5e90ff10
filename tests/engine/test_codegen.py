"""Exported scripts run, and build the architecture with the expected parameter counts."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from dropout_studio.cli import main
from dropout_studio.core.codegen import (
    expected_torch_parameters,
    keras_script,
    pytorch_differences,
    pytorch_script,
)
from dropout_studio.core.project import Project, load_preset, save_project
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec

pytestmark = pytest.mark.slow
HAS_TORCH = importlib.util.find_spec("torch") is not None


def mixed_project() -> Project:
    """Every layer family and dropout type in one stack."""
    layers = (
        LayerSpec.make("Input", shape=(30,)),
        LayerSpec.make("Embedding", input_dim=50, output_dim=8),
        LayerSpec.make("Conv1D", filters=6, kernel_size=3, dropout=DropoutSpec("spatial", 0.2)),
        LayerSpec.make("MaxPooling1D", pool_size=2),
        LayerSpec.make("GRU", units=5, return_sequences=True, input_dropout=0.1),
        LayerSpec.make("LSTM", units=4, recurrent_dropout=0.2),
        LayerSpec.make("Dense", units=7, activation="selu", dropout=DropoutSpec("alpha", 0.1)),
        LayerSpec.make("BatchNormalization"),
        LayerSpec.make("Dense", units=6, dropout=DropoutSpec("gaussian", 0.3), l2=1e-3),
        LayerSpec.make("Dense", units=3, activation="softmax"),
    )
    return replace(load_preset("digits-mlp"), name="mixed", network=NetworkSpec(layers))


PROJECTS = {
    "mlp-classic": lambda: load_preset("mlp-classic"),
    "cnn-classic": lambda: load_preset("cnn-classic"),
    "lstm-sequence": lambda: load_preset("lstm-sequence"),
    "mixed": mixed_project,
}


def run_script(tmp_path, text):
    path = tmp_path / "script.py"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("name", list(PROJECTS))
def test_keras_script_runs_with_the_same_parameter_count(tmp_path, name):
    project = PROJECTS[name]()
    out = run_script(tmp_path, keras_script(project))
    assert f"parameters: {infer(project.network).total_params}" in out


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("name", list(PROJECTS))
def test_pytorch_script_runs_with_the_documented_parameter_count(tmp_path, name):
    project = PROJECTS[name]()
    out = run_script(tmp_path, pytorch_script(project))
    assert f"trainable parameters: {expected_torch_parameters(project)}" in out
    assert "loss after one epoch" in out


def test_differences_are_named_where_frameworks_disagree():
    assert pytorch_differences(load_preset("mlp-classic")) == []
    notes = " ".join(pytorch_differences(mixed_project()))
    assert "new mask at every time step" in notes
    assert "no PyTorch equivalent" in notes
    assert "second bias" in notes
    assert expected_torch_parameters(load_preset("mlp-classic")) == 67_845
    assert "# - " in pytorch_script(mixed_project())


def test_cli_code_export(tmp_path, capsys):
    path = tmp_path / "p.json"
    save_project(load_preset("lstm-sequence"), path)
    assert (
        main(["code", str(path), "--framework", "pytorch", "--out", str(tmp_path / "net.py")]) == 0
    )
    assert "class Net(nn.Module)" in (tmp_path / "net.py").read_text()
    assert "no PyTorch equivalent" in capsys.readouterr().err
