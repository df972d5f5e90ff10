"""Project files: the dataset choice, the layer stack and the training settings, as JSON.

Loading never raises anything but :class:`ProjectError`, whose message names the file and the
field, so the GUI and the CLI can show it as one sentence. Saving is atomic: a crash mid-write
leaves the previous file intact. The format is documented in ``docs/project-format.md``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from dropout_studio.core.datasets import SOURCES, DatasetSpec, known_signature
from dropout_studio.core.shapes import Problem, StackReport, format_shape, infer
from dropout_studio.core.spec import (
    DROPOUT_TYPES,
    LAYER_KINDS,
    DropoutSpec,
    LayerSpec,
    NetworkSpec,
    options_from_mapping,
)

FORMAT_NAME = "dropout-studio-project"
FORMAT_VERSION = 1
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
LOOPS = ("auto", "compiled", "fit")


class ProjectError(ValueError):
    """A project file that cannot be used, with a message that says what to change."""


@dataclass(frozen=True)
class TrainingSpec:
    optimizer: str = "adam"
    learning_rate: float = 0.001
    batch_size: int = 32
    epochs: int = 20
    seed: int = 0
    early_stopping: int = 0  # patience in epochs; 0 = off
    loop: str = "auto"  # "compiled" (fast in-memory loop, TF only), "fit", or choose
    device: str = "auto"  # "auto", "cpu", "gpu:0", ...
    tensorboard: bool = False  # also write TensorBoard event files into the run folder


@dataclass(frozen=True)
class Project:
    name: str = "untitled"
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    description: str = ""

    def with_training(self, **changes: Any) -> Project:
        return replace(self, training=replace(self.training, **changes))

    def check(self) -> StackReport:
        """Shape inference plus the fit between the stack and the dataset's known signature."""
        report = infer(self.network)
        extra = list(data_problems(self, report))
        if not extra:
            return report
        return StackReport(report.layers, report.problems + tuple(extra))


def data_problems(project: Project, report: StackReport, signature: Any = None) -> list[Problem]:
    """Problems between stack and data; ``signature`` is given once files are loaded."""
    signature = signature or known_signature(project.dataset)
    layers = project.network.layers
    if signature is None or not report.ok or not layers:
        return []
    problems: list[Problem] = []
    first = layers[0]
    expected = tuple(signature.input_shape)
    if first.kind == "Input" and tuple(first.option("shape")) != expected:
        problems.append(
            Problem(
                f"layer 1 (Input) has shape {format_shape(first.option('shape'))} but the dataset's "
                f"samples are {format_shape(expected)}: set the Input shape to {list(expected)}",
                0,
            )
        )
    out = report.output_shape
    last = len(layers) - 1
    if out is not None and first.kind == "Input" and not problems:
        if len(out) != 1:
            problems.append(
                Problem(
                    f"layer {last + 1} ({layers[last].kind}) outputs {format_shape(out)} but a "
                    "prediction needs one vector per sample: end with Flatten or global pooling and "
                    "a Dense layer",
                    last,
                )
            )
        elif out[0] != signature.outputs:
            what = f"{signature.classes} classes" if signature.classes else "1 target value"
            problems.append(
                Problem(
                    f"layer {last + 1} ({layers[last].kind}) has {out[0]} outputs but the dataset has "
                    f"{what}: set its units to {signature.outputs}",
                    last,
                )
            )
    return problems


# ---------------------------------------------------------------- reading


class _Reader:
    """Type-checked access to one JSON object, with field paths for messages."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise ProjectError(
                f"{source}: {where or 'the file'} must be a JSON object, got {type(data).__name__}"
            )
        self.data, self.where, self.source = data, where, source

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, expected: str, value: Any) -> ProjectError:
        return ProjectError(f"{self.source}: {self._path(key)} must be {expected}, got {value!r}")

    def get(self, key: str, kind: str, default: Any = ..., choices: tuple[str, ...] = ()) -> Any:
        if key not in self.data or (self.data[key] is None and default is None):
            if default is ...:
                raise ProjectError(f"{self.source}: {self._path(key)} is missing")
            return default
        value = self.data[key]
        if kind == "str":
            if not isinstance(value, str):
                raise self.fail(key, "text", value)
            if choices and value not in choices:
                raise self.fail(key, "one of " + ", ".join(choices), value)
        elif kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.fail(key, "a whole number", value)
        elif kind == "float":
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise self.fail(key, "a number", value)
            value = float(value)
        elif kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(key, "true or false", value)
        elif kind == "fraction":
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 1:
                raise self.fail(key, "a number from 0 up to (not including) 1", value)
            value = float(value)
        return value

    def child(self, key: str) -> _Reader:
        return _Reader(self.data.get(key, {}), self._path(key), self.source)


def _read_layer(raw: Any, index: int, source: str) -> LayerSpec:
    r = _Reader(raw, f"layers[{index}]", source)
    kind = r.get("kind", "str")
    if kind not in LAYER_KINDS:
        raise r.fail("kind", "one of " + ", ".join(LAYER_KINDS), kind)
    dropout = NO = DropoutSpec()
    if "dropout" in r.data and r.data["dropout"] is not None:
        d = r.child("dropout")
        dtype = d.get("type", "str", "dropout", DROPOUT_TYPES)
        rate = d.get("rate", "float", 0.0)
        dropout = DropoutSpec(dtype, rate) if dtype != "none" else NO
    options = options_from_mapping(kind, r.data)
    known = {"kind", "dropout", "input_dropout", "recurrent_dropout", "l2", "name"}
    unknown = sorted(set(r.data) - known - set(options))
    if unknown:
        raise ProjectError(
            f"{source}: layers[{index}] ({kind}) has unknown field {unknown[0]!r}; its fields are "
            + ", ".join(o.name for o in LAYER_KINDS[kind].options)
            or "none"
        )
    for name, value in options.items():
        opt = LAYER_KINDS[kind].option(name)
        assert opt is not None
        if opt.kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            raise r.fail(name, "a whole number", value)
        if opt.kind == "bool" and not isinstance(value, bool):
            raise r.fail(name, "true or false", value)
        if opt.kind == "choice" and value not in opt.choices:
            raise r.fail(name, "one of " + ", ".join(opt.choices), value)
    return LayerSpec.make(
        kind,
        dropout,
        input_dropout=r.get("input_dropout", "float", 0.0),
        recurrent_dropout=r.get("recurrent_dropout", "float", 0.0),
        l2=r.get("l2", "float", 0.0),
        **options,
    )


def project_from_dict(data: Any, source: str = "project") -> Project:
    """Parse and type-check a project; raises :class:`ProjectError` naming the bad field."""
    r = _Reader(data, "", source)
    fmt = r.get("format", "str", None)
    if fmt != FORMAT_NAME:
        raise ProjectError(
            f"{source} is not a Dropout Studio project (format is {fmt!r}, "
            f"expected {FORMAT_NAME!r})"
        )
    version = r.get("version", "int")
    if version > FORMAT_VERSION:
        raise ProjectError(
            f"{source} was written by a newer Dropout Studio (format version "
            f"{version}; this one reads up to {FORMAT_VERSION}): update the app"
        )
    if version < 1:
        raise r.fail("version", "1 or more", version)
    d = r.child("dataset")
    source_kind = d.get("source", "str", "synthetic", SOURCES)
    train_size = d.get("train_size", "int", None)
    if train_size is not None and train_size < 2:
        raise d.fail("train_size", "at least 2 (or null for all)", train_size)
    standard = {
        "source",
        "name",
        "path",
        "train_size",
        "validation_split",
        "test_split",
        "standardize",
        "label_column",
    }
    dataset = DatasetSpec(
        source=source_kind,
        name=d.get("name", "str", ""),
        path=d.get("path", "str", None),
        train_size=train_size,
        validation_split=d.get("validation_split", "fraction", 0.2),
        test_split=d.get("test_split", "fraction", 0.2),
        standardize=d.get("standardize", "bool", True),
        label_column=d.get("label_column", "str", None),
        options=tuple(sorted((k, v) for k, v in d.data.items() if k not in standard)),
    )
    if dataset.validation_split + dataset.test_split >= 0.9:
        raise ProjectError(
            f"{source}: dataset.validation_split + test_split leave too little to "
            "train on: keep their sum below 0.9"
        )
    if source_kind in ("csv", "npz", "images") and not dataset.path:
        raise ProjectError(
            f"{source}: dataset.path is missing: a {source_kind} dataset needs "
            "the file or folder to read"
        )
    raw_layers = r.data.get("layers")
    if not isinstance(raw_layers, list):
        raise r.fail("layers", "a list of layers", raw_layers)
    layers = [_read_layer(item, i, source) for i, item in enumerate(raw_layers)]
    t = r.child("training")
    defaults = TrainingSpec()
    training = TrainingSpec(
        optimizer=t.get("optimizer", "str", defaults.optimizer, OPTIMIZERS),
        learning_rate=t.get("learning_rate", "float", defaults.learning_rate),
        batch_size=t.get("batch_size", "int", defaults.batch_size),
        epochs=t.get("epochs", "int", defaults.epochs),
        seed=t.get("seed", "int", defaults.seed),
        early_stopping=t.get("early_stopping", "int", defaults.early_stopping),
        loop=t.get("loop", "str", defaults.loop, LOOPS),
        device=t.get("device", "str", defaults.device),
        tensorboard=t.get("tensorboard", "bool", defaults.tensorboard),
    )
    for key in ("batch_size", "epochs"):
        if getattr(training, key) < 1:
            raise t.fail(key, "at least 1", getattr(training, key))
    if training.learning_rate <= 0:
        raise t.fail("learning_rate", "a positive number", training.learning_rate)
    return Project(
        name=r.get("name", "str", "untitled"),
        dataset=dataset,
        network=NetworkSpec(tuple(layers)),
        training=training,
        description=r.get("description", "str", ""),
    )


def load_project(path: str | os.PathLike[str]) -> Project:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); the file may be truncated"
        ) from None
    return project_from_dict(data, str(path))


# ---------------------------------------------------------------- writing


def _layer_to_dict(layer: LayerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": layer.kind}
    info = LAYER_KINDS[layer.kind]
    for option in info.options:  # every option, defaults too: the file documents itself
        value = layer.option(option.name)
        if value is not None:
            out[option.name] = list(value) if isinstance(value, tuple) else value
    if layer.dropout.type != "none":
        out["dropout"] = {"type": layer.dropout.type, "rate": layer.dropout.rate}
    for key in ("input_dropout", "recurrent_dropout", "l2"):
        if getattr(layer, key):
            out[key] = getattr(layer, key)
    return out


def project_to_dict(project: Project) -> dict[str, Any]:
    ds = project.dataset
    dataset: dict[str, Any] = {"source": ds.source, "name": ds.name}
    for key in ("path", "train_size", "label_column"):
        if getattr(ds, key) is not None:
            dataset[key] = getattr(ds, key)
    dataset.update(
        validation_split=ds.validation_split, test_split=ds.test_split, standardize=ds.standardize
    )
    dataset.update(dict(ds.options))
    t = project.training
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": project.name,
        "description": project.description,
        "dataset": dataset,
        "layers": [_layer_to_dict(layer) for layer in project.network.layers],
        "training": {
            "optimizer": t.optimizer,
            "learning_rate": t.learning_rate,
            "batch_size": t.batch_size,
            "epochs": t.epochs,
            "seed": t.seed,
            "early_stopping": t.early_stopping,
            "loop": t.loop,
            "device": t.device,
            "tensorboard": t.tensorboard,
        },
    }


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, json.dumps(project_to_dict(project), indent=2) + "\n")


def resolve_data_path(project_file: str | os.PathLike[str] | None, data_path: str) -> Path:
    """Paths inside a project are relative to the project file's folder."""
    p = Path(data_path).expanduser()
    if p.is_absolute() or project_file is None:
        return p
    return Path(project_file).resolve().parent / p


# ---------------------------------------------------------------- presets


def _preset_files() -> dict[str, Any]:
    folder = resources.files("dropout_studio.resources") / "presets"
    return {f.name[:-5]: f for f in folder.iterdir() if f.name.endswith(".json")}


def preset_names() -> list[str]:
    return sorted(_preset_files())


def load_preset(name: str) -> Project:
    files = _preset_files()
    if name not in files:
        raise ProjectError(f"no preset named {name!r}; choose one of {', '.join(sorted(files))}")
    return project_from_dict(json.loads(files[name].read_text(encoding="utf-8")), f"preset {name}")
