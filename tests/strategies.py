"""Hypothesis strategies built from the registries, so a new option or kind is fuzzed at once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from dropout_studio.core.datasets import (
    BUILTIN,
    DATASET_FIELDS,
    DATASET_OPTIONS,
    SYNTHETIC,
    DatasetSpec,
)
from dropout_studio.core.layer_kinds import MAX_RANK, OptionSpec
from dropout_studio.core.project import TRAINING_OPTIONS, Project, TrainingSpec
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import (
    DROPOUT_TYPES,
    LAYER_FIELDS,
    LAYER_KINDS,
    DropoutSpec,
    LayerSpec,
    NetworkSpec,
)

NAMES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["x/../../../outside", "a\x00b", "\ud800lone", "é" * 300, ""]),
)


def option_values(spec: OptionSpec, small: bool = False) -> st.SearchStrategy[Any]:
    """Every value ``spec`` accepts (``small`` keeps sizes cheap to train)."""
    low = spec.minimum
    high = spec.maximum
    if small and high is not None:
        high = min(high, 16 if spec.value_type in ("int", "size") else high)
    if spec.choices:
        values: st.SearchStrategy[Any] = st.sampled_from(spec.choices)
    elif spec.value_type == "bool":
        values = st.booleans()
    elif spec.value_type == "int":
        values = st.integers(int(low) if low is not None else None, int(high) if high else None)
    elif spec.value_type == "float":
        values = st.floats(
            low, high, exclude_max=spec.exclusive_maximum, allow_nan=False, allow_infinity=False
        )
    elif spec.value_type == "text":
        values = NAMES if not high else st.text(max_size=min(int(high), 40))
    elif spec.value_type == "size":
        one = st.integers(int(low or 1), int(high or 8))
        values = one | st.tuples(*[one] * spec.axes) if spec.axes > 1 else one
    else:  # shape
        dimension = st.integers(1, 16 if small else 1_000_000)
        values = st.lists(dimension | st.none(), min_size=1, max_size=MAX_RANK).map(tuple)
    return st.none() | values if spec.nullable else values


@st.composite
def layers(draw: st.DrawFn) -> LayerSpec:
    """Any layer whose every field is in its registry range (the stack may still be invalid)."""
    kind = draw(st.sampled_from(sorted(LAYER_KINDS)))
    entry = LAYER_KINDS[kind]
    options = {o.name: draw(option_values(o)) for o in entry.options if draw(st.booleans())}
    fields = {o.name: draw(option_values(o)) for o in LAYER_FIELDS if draw(st.booleans())}
    dropout_type = draw(st.sampled_from(DROPOUT_TYPES))
    rate = draw(st.floats(0, 1, exclude_max=True))
    return LayerSpec.make(kind, DropoutSpec(dropout_type, rate), **fields, **options)


@st.composite
def datasets(draw: st.DrawFn) -> DatasetSpec:
    values = {key: draw(option_values(spec)) for key, spec in DATASET_FIELDS.items()}
    chosen = draw(st.lists(st.sampled_from(sorted(DATASET_OPTIONS)), unique=True, max_size=4))
    options = tuple(sorted((key, draw(option_values(DATASET_OPTIONS[key]))) for key in chosen))
    return DatasetSpec(**values, options=options)


@st.composite
def trainings(draw: st.DrawFn) -> TrainingSpec:
    values = {
        key: draw(option_values(spec)) for key, spec in TRAINING_OPTIONS.items() if key != "device"
    }
    device = draw(st.sampled_from(["auto", "cpu", "gpu", "gpu:0", "cpu:1"]))
    return TrainingSpec(**values, device=device)


@st.composite
def projects(draw: st.DrawFn) -> Project:
    """Any project that save can write: every field valid on its own, combinations free."""
    return Project(
        name=draw(NAMES),
        dataset=draw(datasets()),
        network=NetworkSpec.of(draw(st.lists(layers(), max_size=6))),
        training=draw(trainings()),
        description=draw(st.text(max_size=60)),
    )


# ---------------------------------------------------------------- trainable projects

SMALL_SETS = [
    ("synthetic", "moons"),
    ("synthetic", "spirals"),
    ("synthetic", "sine"),
    ("synthetic", "shapes"),
    ("synthetic", "wave"),
    ("builtin", "iris"),
]
RANK_KINDS = {
    1: ["Dense", "BatchNormalization"],
    2: ["Conv1D", "MaxPooling1D", "GlobalAveragePooling1D", "LSTM", "GRU", "SimpleRNN", "Dense"],
    3: ["Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Flatten"],
}


# Sample counts at and below what a split needs (the registry's minimum is 5), and splits at
# their extremes: the cases where a stratified split runs out of samples.
SAMPLES = st.sampled_from([5, 6, 7, 10]) | st.integers(20, 200)
VALIDATION_SPLITS = st.sampled_from([0.0, 0.0001, 0.1, 0.2, 0.4, 0.6, 0.9999])
TEST_SPLITS = st.sampled_from([0.0, 0.0001, 0.2, 0.3, 0.6])


@st.composite
def data_files(draw: st.DrawFn, folder: Path) -> tuple[DatasetSpec, Path, Any, int]:
    """A small CSV file, NPZ file or image folder, written into a fresh folder under ``folder``.

    Returns (dataset, project file, the sample shape written, the classes written: 0 for a
    regression target). Row counts go below the 5 a split needs; labels may be text, whole
    numbers, real numbers, or one class only; about one case in eight names a file that was
    never written, which ``check`` must refuse.
    """
    import numpy as np

    home = Path(tempfile.mkdtemp(dir=folder))
    source = draw(st.sampled_from(["csv", "npz", "images"]))
    rows = draw(st.sampled_from([1, 4, 5, 6, 9]) | st.integers(10, 60))
    classes = draw(st.integers(1, 4))
    regression = source != "images" and draw(st.integers(0, 3)) == 0
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    labels = rng.integers(0, classes, rows)
    options: dict[str, Any] = {}
    if source == "csv":
        features = draw(st.integers(1, 4))
        shape: Any = (features,)
        x = rng.normal(size=(rows, features)).round(3)
        text_labels = draw(st.booleans())
        column = (
            rng.normal(size=rows).round(3)
            if regression
            else [f"c{k}" if text_labels else str(k) for k in labels]
        )
        lines = [",".join([*(f"f{i}" for i in range(features)), "label"])]
        lines += [",".join([*map(str, x[i]), str(column[i])]) for i in range(rows)]
        name = "data.csv"
        (home / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif source == "npz":
        shape = draw(st.sampled_from([(3,), (5,), (4, 2), (6, 6, 1)]))
        x = rng.normal(size=(rows, *shape)).astype("float32")
        y = rng.normal(size=rows).astype("float32") if regression else labels
        name = "data.npz"
        np.savez(home / name, x=x, y=y)
    else:
        from PIL import Image

        side = draw(st.integers(4, 10))
        channels = draw(st.sampled_from([1, 3]))
        options = {"size": draw(st.integers(4, 10)), "channels": channels}
        shape = (options["size"], options["size"], channels)
        name = "images"
        for i, label in enumerate(labels):
            (home / name / f"class{label}").mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (side, side + i % 3, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(home / name / f"class{label}" / f"{i}.png")
    if regression or draw(st.integers(0, 3)) == 0:
        options["task"] = "regression" if regression else "classification"
    if draw(st.integers(0, 7)) == 0:
        name = "missing-" + name  # never written: check must refuse it
    dataset = DatasetSpec(
        source,
        "",
        path=name,
        train_size=draw(st.none() | st.integers(2, 60)),
        validation_split=draw(VALIDATION_SPLITS),
        test_split=draw(TEST_SPLITS),
        standardize=draw(st.booleans()),
        options=tuple(sorted(options.items())),
    )
    return dataset, home / "p.json", shape, 0 if regression else classes


@st.composite
def trainable_cases(draw: st.DrawFn, folder: Path | None = None) -> tuple[Project, Path | None]:
    """(project, project file): small projects shaped to fit their data, drawn so that
    ``check`` passes often. Given a ``folder``, a third of them read a small CSV, NPZ or image
    file the strategy writes there (see :func:`data_files`); the project file is where the
    dataset's relative path starts (None for synthetic and built-in data)."""
    from dropout_studio.core.dataprobe import probe_file_dataset
    from dropout_studio.core.datasets import known_signature

    project_file: Path | None = None
    if folder is not None and draw(st.integers(0, 2)) == 0:
        dataset, project_file, shape, classes = draw(data_files(folder))
        signature = probe_file_dataset(dataset, project_file).signature
        if signature is not None:  # what the file holds, as check reads it
            shape, classes = signature.input_shape, signature.classes
        outputs = classes or 1
    else:
        source, name = draw(st.sampled_from(SMALL_SETS))
        options: dict[str, Any] = {}
        if source == "synthetic":
            options["samples"] = draw(SAMPLES)
            if name == "spirals":
                options["arms"] = draw(st.integers(2, 4))
            if name == "sine":
                options["steps"] = draw(st.integers(2, 12))
            if name == "shapes":
                options["size"] = draw(st.integers(6, 12))
                options["channels"] = draw(st.sampled_from([1, 3]))
        dataset = DatasetSpec(
            source,
            name,
            train_size=draw(st.none() | st.integers(2, 60)),
            validation_split=draw(VALIDATION_SPLITS),
            test_split=draw(TEST_SPLITS),
            standardize=draw(st.booleans()),
            options=tuple(sorted(options.items())),
        )
        known = known_signature(dataset)
        assert known is not None
        shape, classes, outputs = known.input_shape, known.classes, known.outputs
    stack = [LayerSpec.make("Input", shape=tuple(shape), dropout=draw(_dropouts()))]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(RANK_KINDS.get(len(shape), ["Dense"])))
        entry = LAYER_KINDS[kind]
        options_drawn = {
            o.name: draw(option_values(o, small=True)) for o in entry.options if draw(st.booleans())
        }
        fields = {}
        if entry.recurrent:
            fields = {
                "input_dropout": draw(st.sampled_from([0.0, 0.2])),
                "recurrent_dropout": draw(st.sampled_from([0.0, 0.3])),
            }
        if entry.weighted:
            fields["l2"] = draw(st.sampled_from([0.0, 1e-6, 0.01]))
        layer = LayerSpec.make(kind, draw(_dropouts()), **fields, **options_drawn)
        stack.append(layer)
        out = infer(NetworkSpec.of(stack)).output_shape
        if out is None:
            stack.pop()
        else:
            shape = out
    if len(shape) > 1:
        stack.append(LayerSpec.make("Flatten"))
    activation = "softmax" if classes else "linear"
    stack.append(LayerSpec.make("Dense", units=outputs, activation=activation))
    training = TrainingSpec(
        optimizer=draw(st.sampled_from(["adam", "sgd", "rmsprop", "adamw"])),
        learning_rate=draw(st.sampled_from([1e-3, 0.05, 5.0])),
        batch_size=draw(st.sampled_from([1, 7, 32, 1_000_000])),
        epochs=1,
        seed=draw(st.sampled_from([0, 1, 2**31 - 1])),
        early_stopping=draw(st.sampled_from([0, 1, 1_000_000])),
        loop=draw(st.sampled_from(["auto", "compiled", "fit"])),
        device=draw(st.sampled_from(["auto", "cpu", "gpu:7"])),
    )
    return Project(draw(NAMES), dataset, NetworkSpec.of(stack), training), project_file


def trainable_projects() -> st.SearchStrategy[Project]:
    """Projects on synthetic and built-in data only (no files), for tests without a folder."""
    return trainable_cases().map(lambda case: case[0])


@st.composite
def _dropouts(draw: st.DrawFn) -> DropoutSpec:
    kind = draw(st.sampled_from(["none", "dropout", "gaussian", "alpha", "spatial"]))
    return DropoutSpec(kind, draw(st.sampled_from([0.0, 0.1, 0.5, 0.9])))


__all__ = [
    "BUILTIN",
    "SYNTHETIC",
    "data_files",
    "layers",
    "projects",
    "trainable_cases",
    "trainable_projects",
]
