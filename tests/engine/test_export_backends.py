"""Saving and exporting on a backend other than TensorFlow (Keras on JAX).

The JAX path must never import TensorFlow just to save a run (3.3 s here), and the formats that
only TensorFlow writes (SavedModel, TFLite, ONNX) go through a TensorFlow-backend subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from dropout_studio.engine import export
from dropout_studio.engine.build import build_model
from dropout_studio.engine.export import (
    ExportError,
    _sample_batch,
    export_in_tensorflow_process,
    export_model,
    predict_exported,
)
from tests.engine.helpers import tiny_project

ROOT = Path(__file__).resolve().parents[2]
HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_TF = importlib.util.find_spec("tensorflow") is not None
ON_JAX = keras.backend.backend() == "jax"

# Trains, saves the run folder, reloads model.keras and predicts, all under KERAS_BACKEND=jax;
# prints whether TensorFlow was imported at any point.
NO_TENSORFLOW_CHILD = """
import sys, tempfile
import numpy as np
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.export import load_run_model, write_run
from dropout_studio.engine.train import train
from tests.engine.helpers import tiny_project
project = tiny_project(epochs=3)
result = train(project, load_dataset(project.dataset, 0))
assert result.loop == "jax", result.loop
folder = write_run(tempfile.mkdtemp(), project, result)
model = load_run_model(folder)
model.predict(np.zeros((2, 2), "float32"), verbose=0)
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed (pip install -e '.[jax]')")
def test_jax_train_save_and_load_never_import_tensorflow():
    if not ON_JAX and os.environ.get("DROPOUT_STUDIO_JAX_TESTS") == "separate":
        pytest.skip("runs in the JAX pass of .ci/run")
    env = {**os.environ, "KERAS_BACKEND": "jax", "DROPOUT_STUDIO_JAX_CACHE": "off"}
    proc = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW_CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tensorflow imported: False" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_tensorflow_probe_is_hidden_only_while_saving():
    """``tensorflow_unprobed`` leans on Keras' private lazy module: pin what it touches."""
    from keras.src.utils import module_utils

    from dropout_studio.engine.build import tensorflow_unprobed

    lazy = module_utils.tensorflow
    assert hasattr(lazy, "_available")
    before = lazy._available
    with tensorflow_unprobed():
        if not ON_JAX or "tensorflow" in sys.modules:
            assert lazy._available == before  # nothing to hide
        else:
            assert lazy._available is False
    assert lazy._available == before


def test_a_missing_tensorflow_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(export, "_importable", lambda module: module != "tensorflow")
    model = build_model(tiny_project().network, 0)
    with pytest.raises(ExportError, match="TFLite export needs TensorFlow, which is not installed"):
        export_in_tensorflow_process(model, "tflite", tmp_path / "model.tflite")
    if ON_JAX:  # the public entry point takes the subprocess path on JAX
        with pytest.raises(ExportError, match="SavedModel export needs TensorFlow"):
            export_model(model, "saved_model", tmp_path / "saved")


@pytest.mark.skipif(not HAS_TF, reason="TensorFlow is not installed")
@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param("tflite"),
        pytest.param("saved_model", marks=pytest.mark.slow),
    ],
)
def test_tensorflow_formats_export_through_a_tensorflow_subprocess(tmp_path, fmt):
    """On JAX ``export_model`` itself takes the subprocess path; on TensorFlow (slow: the same
    mechanism, called directly) it is checked once too."""
    if not ON_JAX and fmt == "tflite":
        pytest.skip("the TensorFlow backend exports in process; see test_export.py")
    model = build_model(tiny_project().network, 0)
    x = _sample_batch(model, 4)
    expected = model.predict(x, verbose=0)
    suffix = {"tflite": ".tflite", "saved_model": ""}[fmt]
    out = tmp_path / f"model{suffix}"
    written = (
        export_model(model, fmt, out) if ON_JAX else export_in_tensorflow_process(model, fmt, out)
    )
    assert written.resolve() == out.resolve()
    np.testing.assert_allclose(predict_exported(written, fmt, x), expected, atol=1e-5)
