"""Project files: the dataset choice, the layer stack and the training settings, as JSON.

Loading refuses only what no edit in the app can produce — wrong JSON types, unknown keys,
non-finite numbers, a field outside its registry range, absurd nesting or size — and raises
nothing but :class:`ProjectError`, whose message names the file and the field. Rules that
involve several fields (split sums, a file source without a path, stack vs data) load fine and
are reported by :meth:`Project.check`, so the user can fix them in the app. Whatever
:func:`save_project` writes, :func:`load_project` reads back as an equal project. Saving is
atomic (``core/files.py``). The format is documented in ``docs/project-format.md``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from dropout_studio.core.datasets import (
    DATASET_FIELDS,
    DATASET_OPTIONS,
    FILE_SOURCES,
    MAX_SEED,
    DatasetSpec,
    DataSignature,
    dataset_problems,
    known_signature,
)
from dropout_studio.core.files import atomic_write_text
from dropout_studio.core.layer_kinds import (
    OptionSpec,
    field_problems,
    option_value_to_json,
    shown,
)
from dropout_studio.core.shapes import Problem, StackReport, format_shape, infer
from dropout_studio.core.spec import (
    DROPOUT_RATE,
    DROPOUT_TYPE,
    LAYER_FIELDS,
    LAYER_KINDS,
    DropoutSpec,
    LayerSpec,
    NetworkSpec,
)

__all__ = ["ProjectError", "atomic_write_text", "load_project", "save_project"]

FORMAT_NAME = "dropout-studio-project"
FORMAT_VERSION = 1
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
LOOPS = ("auto", "compiled", "fit")
DEVICE_PATTERN = re.compile(r"(auto|cpu|gpu)(:\d{1,3})?")
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LAYERS = 1000

TRAINING_OPTIONS: dict[str, OptionSpec] = {
    o.name: o
    for o in (
        OptionSpec("optimizer", "choice", "adam", "how weights are updated", OPTIMIZERS),
        OptionSpec(
            "learning_rate",
            "float",
            0.001,
            "step size of the optimizer",
            minimum=1e-10,
            maximum=10.0,
            precision=6,
        ),
        OptionSpec(
            "batch_size", "int", 32, "samples per training step", minimum=1, maximum=1_000_000
        ),
        OptionSpec(
            "epochs", "int", 20, "passes over the training set", minimum=1, maximum=1_000_000
        ),
        OptionSpec(
            "seed", "int", 0, "seed of weights, masks and split", minimum=0, maximum=MAX_SEED
        ),
        OptionSpec(
            "early_stopping",
            "int",
            0,
            "stop after this many epochs without a better validation loss (0 = off)",
            minimum=0,
            maximum=1_000_000,
        ),
        OptionSpec(
            "loop",
            "choice",
            "auto",
            "compiled: fast in-memory loop; fit: Keras' model.fit",
            LOOPS,
        ),
        OptionSpec("device", "text", "auto", "auto, cpu, gpu or gpu:N", maximum=16),
        OptionSpec("tensorboard", "bool", False, "also write TensorBoard event files"),
    )
}
PROJECT_FIELDS: dict[str, OptionSpec] = {
    o.name: o
    for o in (
        OptionSpec("name", "text", "untitled", "the project's name", maximum=10_000),
        OptionSpec("description", "text", "", "notes shown with the project", maximum=1_000_000),
    )
}


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
    loop: str = "auto"  # "compiled" (fast in-memory loop), "fit", or choose
    device: str = "auto"  # "auto", "cpu", "gpu:0", ...
    tensorboard: bool = False  # also write TensorBoard event files into the run folder


def training_problems(training: TrainingSpec) -> list[str]:
    """Settings outside their registry range (possible only for projects built in code)."""
    problems = field_problems(training, TRAINING_OPTIONS, "training")
    if isinstance(training.device, str) and not DEVICE_PATTERN.fullmatch(training.device):
        problems.append(
            f"training device {shown(training.device)} is not a device name: use auto, cpu, "
            "gpu or gpu:N"
        )
    return problems


@dataclass(frozen=True)
class Project:
    name: str = "untitled"
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    description: str = ""

    def with_training(self, **changes: Any) -> Project:
        return replace(self, training=replace(self.training, **changes))

    def check(self, project_file: str | os.PathLike[str] | None = None) -> StackReport:
        """Everything that would stop training, as problems: the stack (shapes, options), the
        dataset choice, the training settings and the fit between stack and data.

        A file dataset's header is read (never the whole file) to learn its sample shape and
        class count; paths are relative to ``project_file``.
        """
        report = infer(self.network)
        extra = [Problem(m) for m in dataset_problems(self.dataset)]
        extra += [Problem(m) for m in training_problems(self.training)]
        signature = None
        if not extra and self.dataset.source in FILE_SOURCES:
            from dropout_studio.core.dataprobe import probe_file_dataset

            probe = probe_file_dataset(self.dataset, project_file)
            extra += [Problem(m) for m in probe.problems]
            signature = probe.signature
            if not probe.problems and probe.samples is not None and probe.samples < 5:
                extra.append(
                    Problem(
                        f"{self.dataset.path} holds {probe.samples} samples; at least 5 are "
                        "needed to split it into training, validation and test sets"
                    )
                )
        if not extra:
            extra += data_problems(self, report, signature)
        if not extra:
            return report
        return StackReport(report.layers, report.problems + tuple(extra))


# Built-in sets whose features are measurements, never whole numbers.
_REAL_VALUED_BUILTINS = ("iris", "wine", "breast_cancer")


def _real_valued(dataset: DatasetSpec) -> str:
    """Why the dataset's features are real numbers (so no Embedding can take them), or ""."""
    if dataset.standardize:
        return "standardize is on, which makes every feature a real number"
    if dataset.source == "synthetic":
        return f"the synthetic {dataset.name!r} data are real numbers"
    if dataset.source == "builtin" and dataset.name in _REAL_VALUED_BUILTINS:
        return f"the built-in {dataset.name!r} features are real-valued measurements"
    return ""


def data_problems(
    project: Project, report: StackReport, signature: DataSignature | None = None
) -> list[Problem]:
    """Problems between stack and data; ``signature`` is given once files are read."""
    signature = signature or known_signature(project.dataset)
    layers = project.network.layers
    if not report.ok or not layers:
        return []
    problems: list[Problem] = []
    if len(layers) > 1 and layers[1].kind == "Embedding":
        real = _real_valued(project.dataset)
        if real:
            problems.append(
                Problem(
                    f"layer 2 (Embedding) looks up integer token ids, but {real}: use a CSV or "
                    "NPZ file of token ids (0 to input_dim − 1) with standardize off",
                    1,
                )
            )
    if signature is None:
        return problems
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
    """Checked access to one JSON object, with field paths for messages."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise ProjectError(
                f"{source}: {where or 'the file'} must be a JSON object, got {_json_type(data)}"
            )
        self.data, self.where, self.source = data, where, source

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, expected: str, value: Any) -> ProjectError:
        return ProjectError(
            f"{self.source}: {self.path(key)} must be {expected}, got {shown(value)}"
        )

    def only(self, known: Iterable[str], what: str) -> None:
        """Refuse keys nobody reads: a typo must not silently fall back to a default."""
        known = list(known)
        for key in self.data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f"; {what} are " + ", ".join(known)
                )
                raise ProjectError(
                    f"{self.source}: {self.where or 'the project'} has unknown field "
                    f"{shown(key)}{hint}"
                )

    def get(self, spec: OptionSpec, required: bool = False) -> Any:
        if spec.name not in self.data:
            if required:
                raise ProjectError(f"{self.source}: {self.path(spec.name)} is missing")
            return spec.default
        value = self.data[spec.name]
        try:
            return spec.parse(value)
        except ValueError as exc:
            raise self.fail(spec.name, str(exc), value) from None

    def child(self, key: str) -> _Reader:
        value = self.data.get(key, {})
        return _Reader(value, self.path(key), self.source)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "null" if value is None else "a number"
    )


def _read_layer(raw: Any, index: int, source: str) -> LayerSpec:
    r = _Reader(raw, f"layers[{index}]", source)
    kind = r.data.get("kind")
    if not isinstance(kind, str) or kind not in LAYER_KINDS:
        close = (
            difflib.get_close_matches(kind, list(LAYER_KINDS), n=1) if isinstance(kind, str) else []
        )
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise r.fail("kind", "one of " + ", ".join(LAYER_KINDS) + hint, kind)
    info = LAYER_KINDS[kind]
    field_specs = [*info.options, *LAYER_FIELDS]
    r.only(["kind", "name", "dropout", *(o.name for o in field_specs)], f"the fields of {kind}")
    dropout = DropoutSpec()
    if r.data.get("dropout") is not None:
        d = r.child("dropout")
        d.only(["type", "rate"], "the fields of a dropout")
        dtype = d.get(replace(DROPOUT_TYPE, default="dropout"))
        rate = d.get(DROPOUT_RATE)
        if dtype != "none":
            dropout = DropoutSpec(dtype, rate)
    options = {o.name: r.get(o) for o in info.options if o.name in r.data}
    fields = {o.name: r.get(o) for o in LAYER_FIELDS}
    return LayerSpec.make(kind, dropout, **fields, **options)


def _read_dataset(d: _Reader) -> DatasetSpec:
    d.only([*DATASET_FIELDS, *DATASET_OPTIONS], "the dataset fields")
    values = {key: d.get(spec) for key, spec in DATASET_FIELDS.items()}
    options = tuple(
        sorted((key, d.get(spec)) for key, spec in DATASET_OPTIONS.items() if key in d.data)
    )
    return DatasetSpec(**values, options=options)


def _read_training(t: _Reader) -> TrainingSpec:
    t.only(TRAINING_OPTIONS, "the training fields")
    training = TrainingSpec(**{key: t.get(spec) for key, spec in TRAINING_OPTIONS.items()})
    if not DEVICE_PATTERN.fullmatch(training.device):
        raise t.fail("device", "auto, cpu, gpu or gpu:N", training.device)
    return training


def project_from_dict(data: Any, source: str = "project") -> Project:
    """Parse and type-check a project; raises :class:`ProjectError` naming the bad field."""
    r = _Reader(data, "", source)
    fmt = r.data.get("format")
    if fmt != FORMAT_NAME:
        raise ProjectError(
            f"{source} is not a Dropout Studio project (format is {shown(fmt)}, "
            f"expected {FORMAT_NAME!r})"
        )
    r.only(
        ["format", "version", *PROJECT_FIELDS, "dataset", "layers", "training"],
        "the top-level fields",
    )
    version = r.get(OptionSpec("version", "int", 1, "format version"), required=True)
    if version > FORMAT_VERSION:
        raise ProjectError(
            f"{source} was written by a newer Dropout Studio (format version "
            f"{shown(version)}; this one reads up to {FORMAT_VERSION}): update the app"
        )
    if version < 1:
        raise r.fail("version", "1 or more", version)
    raw_layers = r.data.get("layers")
    if not isinstance(raw_layers, list):
        raise r.fail("layers", "a list of layers", raw_layers)
    if len(raw_layers) > MAX_LAYERS:
        raise r.fail("layers", f"a list of at most {MAX_LAYERS} layers", raw_layers)
    return Project(
        name=r.get(PROJECT_FIELDS["name"]),
        dataset=_read_dataset(r.child("dataset")),
        network=NetworkSpec(
            tuple(_read_layer(item, i, source) for i, item in enumerate(raw_layers))
        ),
        training=_read_training(r.child("training")),
        description=r.get(PROJECT_FIELDS["description"]),
    )


def project_from_text(text: str, source: str) -> Project:
    """Parse a project file's text; every failure is a :class:`ProjectError`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); the file may be truncated"
        ) from None
    except RecursionError:
        raise ProjectError(f"{source}: the JSON is nested too deeply to be a project") from None
    except ValueError as exc:  # e.g. a number with more digits than Python converts
        raise ProjectError(f"{source} is not a usable JSON file ({exc})") from None
    try:
        return project_from_dict(data, source)
    except RecursionError:
        raise ProjectError(f"{source}: the JSON is nested too deeply to be a project") from None


def load_project(path: str | os.PathLike[str]) -> Project:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProjectError(
                f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB, far more than a project "
                "holds: is it the right file?"
            )
        if not path.is_file():
            raise ProjectError(f"{path} is not a file: choose a project file (.json)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"{path}: cannot be read ({exc})") from None
    return project_from_text(text, str(path))


# ---------------------------------------------------------------- writing


def _layer_to_dict(layer: LayerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": layer.kind}
    info = LAYER_KINDS[layer.kind]
    for option in info.options:  # every option, defaults and nulls too: the file documents itself
        out[option.name] = option_value_to_json(layer.option(option.name))
    if layer.dropout.type != "none":
        out["dropout"] = {"type": layer.dropout.type, "rate": layer.dropout.rate}
    for spec in LAYER_FIELDS:
        if getattr(layer, spec.name):
            out[spec.name] = getattr(layer, spec.name)
    return out


def project_to_dict(project: Project) -> dict[str, Any]:
    ds = project.dataset
    dataset: dict[str, Any] = {key: getattr(ds, key) for key in DATASET_FIELDS}
    dataset.update(dict(ds.options))
    t = project.training
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": project.name,
        "description": project.description,
        "dataset": dataset,
        "layers": [_layer_to_dict(layer) for layer in project.network.layers],
        "training": {key: getattr(t, key) for key in TRAINING_OPTIONS},
    }


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
