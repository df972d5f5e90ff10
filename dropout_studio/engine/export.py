"""Run folders and model export: plain ``.keras``, SavedModel, TFLite/LiteRT and ONNX.

Everything exported is plain Keras (recording layers swapped for their stock twins), so a Python
without Dropout Studio loads it and predicts identically. On the JAX backend, saving never
imports TensorFlow, and the formats only TensorFlow writes (SavedModel, TFLite, ONNX) are
converted in a TensorFlow-backend subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from dropout_studio.core.files import atomic_write_text
from dropout_studio.core.project import Project, load_project, project_to_dict
from dropout_studio.core.runs import fallback_run_folder, write_history_csv
from dropout_studio.engine.build import plain_clone, tensorflow_unprobed

FORMATS = ("keras", "saved_model", "tflite", "onnx")
SUFFIXES = {"keras": ".keras", "saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}


class ExportError(RuntimeError):
    """An export that cannot be done, with the reason and what to do instead."""


logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- run folders


def write_masks(path: Path, masks: dict[str, dict[str, Any]]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, record in masks.items():
        arrays[f"{name}/last_mask"] = np.asarray(record["last_mask"])
        arrays[f"{name}/drop_frequency"] = np.asarray(record["drop_frequency"])
        arrays[f"{name}/step"] = np.asarray(record["step"])
    np.savez(path, **arrays)  # type: ignore[arg-type]


def write_run(
    folder: str | os.PathLike[str],
    project: Project,
    result: Any,
    extra: dict[str, Any] | None = None,
    *,
    fallback_parent: str | os.PathLike[str] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Path:
    """The run folder: project snapshot, history.csv, plain model.keras, masks.npz, summary.

    Returns the folder actually written. A finished run is never lost to its folder's name or
    place: when ``folder`` cannot be written (too long, a NUL, a surrogate, no permission), the
    run goes to ``run-<date-time>`` in ``fallback_parent`` (default: ``folder``'s parent), else
    in a new temporary folder, and ``on_warning`` (and the log) say where. Raises
    :class:`ExportError` only when no place at all can be written.
    """
    wanted = Path(folder)
    try:
        return _write_run_files(wanted, project, result, extra)
    except (OSError, ValueError) as exc:  # UnicodeError is a ValueError
        first = exc
    parents: list[Path] = [Path(fallback_parent)] if fallback_parent is not None else []
    parents.append(wanted.parent)
    errors = [f"{_shown(wanted)}: {_reason(first)}"]
    for parent in [*parents, None]:
        try:
            target = (
                fallback_run_folder(parent)
                if parent is not None
                else Path(tempfile.mkdtemp(prefix="dropout-studio-run-"))
            )
            written = _write_run_files(target, project, result, extra)
        except (OSError, ValueError) as exc:
            errors.append(f"{_shown(parent) if parent else 'a temporary folder'}: {_reason(exc)}")
            continue
        message = (
            f"could not write the run folder {_shown(wanted)} ({_reason(first)}); "
            f"the run was written to {_shown(written)} instead"
        )
        logger.warning(message)
        if on_warning is not None:
            on_warning(message)
        return written
    raise ExportError("could not write the run anywhere: " + "; ".join(errors))


def _shown(path: Path) -> str:
    """A path as printable text, even with a NUL or a lone surrogate in it."""
    return ascii(str(path))[1:-1] if not str(path).isprintable() else str(path)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _write_run_files(
    folder: Path, project: Project, result: Any, extra: dict[str, Any] | None
) -> Path:
    """Write every file of a run into ``folder``; a folder it created is removed on failure."""
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_text(
            folder / "project.json", json.dumps(project_to_dict(project), indent=2) + "\n"
        )
        write_history_csv(folder / "history.csv", result.history)
        if result.model is not None:
            with tensorflow_unprobed():  # JAX: saving never imports TensorFlow
                plain_clone(result.model).save(folder / "model.keras")
        write_masks(folder / "masks.npz", result.masks)
        summary = {
            "status": result.status,
            "message": result.message,
            "epochs_finished": len(result.history),
            "best_epoch": result.best_epoch,
            # Whose weights model.keras holds (0-based epoch; null = the initial weights): after
            # a NaN or a stop, the end of the last epoch whose loss was finite.
            "weights_epoch": getattr(result, "weights_epoch", None),
            "test": result.test_metrics,
            "best_test": result.best_test_metrics,
            "wall_time_s": round(result.wall_time, 3),  # the whole run
            "first_epoch_s": round(getattr(result, "first_epoch_time", 0.0) or 0.0, 3),
            "samples_per_second": round(result.samples_per_second, 1),
            "loop": result.loop,
            **(extra or {}),
        }
        atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def load_run_model(folder: str | os.PathLike[str]) -> keras.Model:
    path = Path(folder) / "model.keras"
    if not path.exists():
        raise ExportError(
            f"{folder} holds no model.keras: is it a run folder written by 'dropout-studio train'?"
        )
    return keras.saving.load_model(path)


def run_project(folder: str | os.PathLike[str]) -> Project:
    return load_project(Path(folder) / "project.json")


# ---------------------------------------------------------------- export


def _sample_batch(model: keras.Model, n: int = 2) -> np.ndarray:
    shape = tuple(model.input_shape[1:])
    if any(d is None for d in shape):
        raise ExportError(f"the model input {shape} has an open dimension")
    dtype = model.inputs[0].dtype
    if "int" in str(dtype):
        return np.zeros((n, *shape), dtype="int32")
    return np.random.default_rng(0).random((n, *shape)).astype("float32")


def _has_recurrent(model: keras.Model) -> bool:
    return any(isinstance(layer, keras.layers.RNN) for layer in model.layers)


def _unrolled(model: keras.Model) -> keras.Model:
    """A clone with ``unroll=True`` RNNs: LiteRT runs it with built-in ops only."""
    if any(d is None for d in model.input_shape[1:]):
        raise ExportError(
            "TFLite needs built-in ops, which means unrolling the recurrent "
            "layers over a fixed sequence length, and this model's sequence "
            "length is open: give the Input a fixed number of steps"
        )

    def unroll(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN):
            config["unroll"] = True
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=unroll)
    clone.set_weights(model.get_weights())
    return clone


TENSORFLOW_FORMATS = {"saved_model": "SavedModel", "tflite": "TFLite", "onnx": "ONNX"}


def export_model(model: keras.Model, fmt: str, out: str | os.PathLike[str]) -> Path:
    """Write ``model`` (recording or plain) as ``fmt``; returns the written path.

    SavedModel, TFLite and ONNX need TensorFlow: on another backend (JAX) the plain model is
    saved as ``.keras`` and converted in a TensorFlow-backend subprocess
    (:func:`export_in_tensorflow_process`).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "keras" and out.suffix != ".keras":
        raise ExportError(f"a Keras model file must end in .keras, not {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    plain = plain_clone(model)
    plain(_sample_batch(plain))  # ONNX and TFLite need a model that has been called
    if fmt == "keras":
        with tensorflow_unprobed():
            plain.save(out)
    elif keras.backend.backend() != "tensorflow":
        export_in_tensorflow_process(plain, fmt, out)
    elif fmt == "saved_model":
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        plain.export(str(out), format="tf_saved_model", verbose=False)
    elif fmt == "tflite":
        target = _unrolled(plain) if _has_recurrent(plain) else plain
        target(_sample_batch(target))
        with tempfile.TemporaryDirectory() as tmp:
            produced = target.export(
                str(Path(tmp) / "model.tflite"), format="litert", verbose=False
            )
            found = produced if isinstance(produced, str) else None
            candidates = [Path(found)] if found else list(Path(tmp).rglob("*.tflite"))
            if not candidates or not candidates[0].exists():
                raise ExportError("the TFLite converter wrote no file")
            shutil.copyfile(candidates[0], out)
    else:
        _require_onnx_packages()
        plain.export(str(out), format="onnx", verbose=False)
    if not out.exists():
        raise ExportError(f"the {fmt} exporter reported success but wrote no {out}")
    return out


def _require_onnx_packages() -> None:
    missing = [m for m in ("tf2onnx", "onnx") if not _importable(m)]
    if missing:
        raise ExportError(
            f"ONNX export needs the package(s) {', '.join(missing)}: "
            "pip install 'dropout-studio[onnx]'"
        )


def export_in_tensorflow_process(
    model: keras.Model, fmt: str, out: str | os.PathLike[str], timeout: float = 600
) -> Path:
    """Export ``model`` as ``fmt`` in a subprocess on the TensorFlow backend.

    Keras picks its backend once per process, and the SavedModel, TFLite and ONNX converters
    run only on TensorFlow: the plain ``.keras`` file of ``model`` goes to a fresh Python with
    ``KERAS_BACKEND=tensorflow``, which loads it (no Dropout Studio layers in it) and exports
    it. Costs TensorFlow's import (3-4 s) plus the conversion. Raises :class:`ExportError`
    when TensorFlow is not installed, or with the subprocess's own message when it fails.
    """
    what = TENSORFLOW_FORMATS[fmt]
    if not _importable("tensorflow"):
        raise ExportError(
            f"{what} export needs TensorFlow, which is not installed in this Python "
            f"({sys.executable}); this process trains on {keras.backend.backend()}, and "
            "the plain .keras export works without TensorFlow: export .keras here and "
            "convert it where TensorFlow is installed, or pip install tensorflow"
        )
    if fmt == "onnx":
        _require_onnx_packages()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dropout-studio-export-") as tmp:
        source = Path(tmp) / "model.keras"
        with tensorflow_unprobed():
            plain_clone(model).save(source)
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "KERAS_BACKEND": "tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        code = "from dropout_studio.engine.export import _tensorflow_process_main as m; m()"
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code, fmt, str(source), str(out)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ExportError(
                f"{what} export in the TensorFlow subprocess took over {timeout:.0f} s"
            ) from exc
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
        raise ExportError(f"{what} export in the TensorFlow subprocess failed: {reason}")
    if not out.exists():
        raise ExportError(f"the {what} export in the TensorFlow subprocess wrote no {out}")
    return out


def _tensorflow_process_main() -> None:
    """The subprocess side of :func:`export_in_tensorflow_process`: argv = fmt, .keras, out."""
    fmt, source, out = sys.argv[1:4]
    if keras.backend.backend() != "tensorflow":
        sys.exit(f"error: this subprocess runs {keras.backend.backend()}, not tensorflow")
    try:
        export_model(keras.saving.load_model(source), fmt, out)
    except ExportError as exc:
        sys.exit(f"error: {exc}")


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def predict_exported(path: str | os.PathLike[str], fmt: str, x: np.ndarray) -> np.ndarray:
    """Predictions of an exported file, through its own runtime (used to verify exports)."""
    path = Path(path)
    if fmt == "keras":
        return keras.saving.load_model(path).predict(x, verbose=0)
    if fmt == "saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        return np.asarray(loaded.serve(tf.constant(x)))
    if fmt == "tflite":
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
        interpreter = Interpreter(model_path=str(path))
        inp = interpreter.get_input_details()[0]
        outp = interpreter.get_output_details()[0]
        interpreter.resize_tensor_input(inp["index"], x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interpreter.invoke()
        return interpreter.get_tensor(outp["index"])
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return session.run(None, {name: x})[0]
    raise ExportError(f"unknown format {fmt!r}")


def default_export_path(run_folder: Path, fmt: str) -> Path:
    return run_folder / f"export-{fmt}{SUFFIXES[fmt]}"
