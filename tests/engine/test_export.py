"""Exports reload and predict the same; the plain .keras needs no Dropout Studio."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dropout_studio.core.project import load_preset
from dropout_studio.core.runs import read_history_csv, write_history_csv
from dropout_studio.engine.build import build_model
from dropout_studio.engine.export import (
    ExportError,
    _sample_batch,
    export_model,
    predict_exported,
)

pytestmark = pytest.mark.slow
SUFFIX = {"keras": ".keras", "saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}


@pytest.fixture(scope="module")
def models():
    return {
        name: build_model(load_preset(name).network, 0)
        for name in ("mlp-classic", "lstm-sequence", "cnn-classic")
    }


@pytest.mark.parametrize("fmt", ["keras", "saved_model", "tflite", "onnx"])
@pytest.mark.parametrize("name", ["mlp-classic", "lstm-sequence"])
def test_each_export_reloads_and_predicts_the_same(models, tmp_path, name, fmt):
    model = models[name]
    x = _sample_batch(model, 4)
    expected = model.predict(x, verbose=0)
    out = export_model(model, fmt, tmp_path / f"model{SUFFIX[fmt]}")
    np.testing.assert_allclose(predict_exported(out, fmt, x), expected, atol=1e-5)


def test_plain_keras_file_loads_without_dropout_studio(models, tmp_path):
    model = models["cnn-classic"]
    path = export_model(model, "keras", tmp_path / "cnn.keras")
    x = _sample_batch(model, 3)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    code = (
        "import sys; sys.modules['dropout_studio'] = None\n"
        "import numpy as np, keras\n"
        f"m = keras.saving.load_model({str(path)!r})\n"
        "assert not any('Recording' in type(l).__name__ for l in m.layers)\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.testing.assert_array_equal(m.predict(x, verbose=0), "
        f"np.load({str(tmp_path / 'expected.npy')!r}))\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_bad_keras_suffix_and_unknown_format(models, tmp_path):
    with pytest.raises(ExportError, match=r"must end in \.keras"):
        export_model(models["mlp-classic"], "keras", tmp_path / "model.h5")
    with pytest.raises(ExportError, match="unknown format 'pt'"):
        export_model(models["mlp-classic"], "pt", tmp_path / "model.pt")


def test_history_csv_has_the_csvlogger_layout(tmp_path):
    history = [
        {"epoch": 0, "loss": 1.5, "val_loss": 1.6, "accuracy": 0.5, "val_accuracy": 0.4},
        {"epoch": 1, "loss": 1.2, "val_loss": 1.3, "accuracy": 0.6, "val_accuracy": 0.5},
    ]
    write_history_csv(tmp_path / "history.csv", history)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert lines[1] == "0,0.5,1.5,0.4,1.6"
    assert read_history_csv(tmp_path / "history.csv") == history
