"""The dataset choice of a project, and what is known about each dataset without loading it.

Loading lives in the engine; the catalogue here lets ``check`` and the GUI compare the stack's
input and output with the data before TensorFlow is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from dropout_studio.core.layer_kinds import OptionSpec, field_problems, shown

SOURCES = ("builtin", "synthetic", "csv", "npz", "images")
FILE_SOURCES = ("csv", "npz", "images")
SOURCE_DESCRIPTIONS = {
    "builtin": "a real dataset: small ones ship with scikit-learn; MNIST, Fashion-MNIST and "
    "CIFAR-10 download once through Keras",
    "synthetic": "data generated on this machine from a seed",
    "csv": "a CSV file: one row per sample, one column is the label",
    "npz": "a NumPy .npz file with arrays x and y",
    "images": "a folder with one sub-folder of images per class",
}
BUILTIN = {
    # name: (feature shape, classes, description)
    "digits": ((64,), 10, "8×8 handwritten digits, 1,797 samples (scikit-learn)"),
    "iris": ((4,), 3, "iris flowers, 150 samples, 4 measurements"),
    "wine": ((13,), 3, "wine cultivars, 178 samples, 13 chemical measurements"),
    "breast_cancer": ((30,), 2, "breast cancer diagnosis, 569 samples, 30 features"),
    "mnist": (
        (28, 28, 1),
        10,
        "MNIST handwritten digits, 70,000 28×28 grey images (Keras: downloaded once, 11 MB)",
    ),
    "fashion_mnist": (
        (28, 28, 1),
        10,
        "Fashion-MNIST clothing, 70,000 28×28 grey images (Keras: downloaded once, 30 MB)",
    ),
    "cifar10": (
        (32, 32, 3),
        10,
        "CIFAR-10 photos in 10 classes, 60,000 32×32 colour images "
        "(Keras: downloaded once, 170 MB)",
    ),
}
# The built-in sets that come through ``keras.datasets``: name -> (title, download bytes). They
# are downloaded once into the Keras cache ($KERAS_HOME/datasets or ~/.keras/datasets); the
# others ship with scikit-learn and need no network.
KERAS_DATASETS: dict[str, tuple[str, int]] = {
    "mnist": ("MNIST", 11_490_434),
    "fashion_mnist": ("Fashion-MNIST", 30_878_645),
    "cifar10": ("CIFAR-10", 170_498_071),
}
SHIPPED = tuple(name for name in BUILTIN if name not in KERAS_DATASETS)
SYNTHETIC = {
    "circles": "two noisy concentric circles (2-D, 2 classes)",
    "moons": "two interleaving half moons (2-D, 2 classes)",
    "spirals": "interleaved spirals (2-D, one class per arm)",
    "xor": "four noisy clusters in XOR layout (2-D, 2 classes)",
    "sine": "noisy sine windows; predict the next value (sequence regression)",
    "wave": "one noisy period of a sine: y from x (1-D regression, for overfitting demos)",
    "shapes": "32×32 images of five noisy shapes (1 or 3 channels)",
    "stripes": "32×32 images of stripes in five orientations (1 or 3 channels)",
}
MAX_SEED = 2**31 - 1
IMAGE_SIDE_MAX = 4096  # pixels: images are resized to the dataset's size as they are read
MAX_DATA_VALUES = 250_000_000  # float32 values a generated dataset may hold (1 GB)

# The fields of every dataset spec, then the options some sources read. Loading checks types
# and ranges against these; ``check`` reports rules that involve several fields.
DATASET_FIELDS: dict[str, OptionSpec] = {
    o.name: o
    for o in (
        OptionSpec("source", "choice", "synthetic", "where the data comes from", SOURCES),
        OptionSpec("name", "text", "moons", "which built-in or synthetic set", maximum=1000),
        OptionSpec(
            "path",
            "text",
            None,
            "file or folder, relative to the project file",
            maximum=4096,
            nullable=True,
        ),
        OptionSpec(
            "train_size",
            "int",
            None,
            "training samples to use (empty = all)",
            minimum=2,
            maximum=1_000_000_000,
            nullable=True,
        ),
        OptionSpec(
            "validation_split",
            "float",
            0.2,
            "fraction held out for validation",
            minimum=0.0,
            maximum=1.0,
            exclusive_maximum=True,
            precision=4,
        ),
        OptionSpec(
            "test_split",
            "float",
            0.2,
            "fraction held out for the final test",
            minimum=0.0,
            maximum=1.0,
            exclusive_maximum=True,
            precision=4,
        ),
        OptionSpec("standardize", "bool", True, "scale each feature to mean 0, std 1"),
        OptionSpec(
            "label_column",
            "text",
            None,
            "CSV column holding the label (empty = last)",
            maximum=1000,
            nullable=True,
        ),
    )
}
DATASET_OPTIONS: dict[str, OptionSpec] = {
    o.name: o
    for o in (
        OptionSpec(
            "samples", "int", 1000, "how many samples to generate", minimum=5, maximum=1_000_000
        ),
        OptionSpec(
            "noise",
            "float",
            0.15,
            "noise level of the generated data",
            minimum=0.0,
            maximum=10.0,
            precision=4,
        ),
        OptionSpec("arms", "int", 3, "number of spiral arms (= classes)", minimum=2, maximum=20),
        OptionSpec("steps", "int", 20, "time steps per sequence", minimum=2, maximum=10_000),
        OptionSpec(
            "size",
            "size",
            32,
            "image side in pixels, or [height, width]",
            minimum=4,
            maximum=IMAGE_SIDE_MAX,
            axes=2,
        ),
        OptionSpec("channels", "int", 1, "1 (grey) or 3 (colour) channels", choices=(1, 3)),
        OptionSpec(
            "data_seed",
            "int",
            0,
            "seed of the generated data (the split follows the run's seed)",
            minimum=0,
            maximum=MAX_SEED,
        ),
        OptionSpec("as_images", "bool", False, "digits as 8×8×1 images instead of 64 values"),
        OptionSpec(
            "task",
            "choice",
            None,
            "classification or regression (empty = guess)",
            ("classification", "regression"),
            nullable=True,
        ),
    )
}
_COMMON_SYNTHETIC = ("samples", "noise", "data_seed")
# Which options each source (and synthetic set) reads: the dataset panel shows these.
SOURCE_OPTIONS: dict[str, tuple[str, ...]] = {
    "builtin": ("as_images",),
    "synthetic": _COMMON_SYNTHETIC,
    "csv": ("task",),
    "npz": ("task",),
    "images": ("size", "channels"),
}
SYNTHETIC_OPTIONS: dict[str, tuple[str, ...]] = {
    "spirals": ("arms",),
    "sine": ("steps",),
    "shapes": ("size", "channels"),
    "stripes": ("size", "channels"),
}
SYNTHETIC_NOISE = {
    "circles": 0.1,
    "moons": 0.25,
    "spirals": 0.05,
    "xor": 0.35,
    "sine": 0.1,
    "wave": 0.3,
}
IMAGE_FOLDER_CHANNELS = 3  # an image folder is read in colour unless it says otherwise


def options_of(source: str, name: str) -> tuple[str, ...]:
    """The dataset options that ``source`` (and the synthetic set ``name``) reads."""
    extra = SYNTHETIC_OPTIONS.get(name, ()) if source == "synthetic" else ()
    return SOURCE_OPTIONS.get(source, ()) + extra


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


@dataclass(frozen=True)
class DatasetSpec:
    """Where the data comes from and how it is split.

    ``train_size`` counts training samples taken (stratified) from the training part; ``None``
    uses all of it. Paths are relative to the project file.
    """

    source: str = "synthetic"
    name: str = "moons"
    path: str | None = None
    train_size: int | None = None
    validation_split: float = 0.2
    test_split: float = 0.2
    standardize: bool = True
    label_column: str | None = None
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # One form however the spec was built: sorted by name, lists as tuples, as the loader
        # reads them, so a save/load round trip gives an equal spec.
        try:
            options = tuple(sorted((k, _frozen(v)) for k, v in dict(self.options).items()))
        except (TypeError, ValueError):
            return  # not (name, value) pairs: left for check() to report
        object.__setattr__(self, "options", options)

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def with_options(self, **changes: Any) -> DatasetSpec:
        merged = {**dict(self.options), **changes}
        return replace(self, options=tuple(sorted(merged.items())))


@dataclass(frozen=True)
class DataSignature:
    """Feature shape and number of outputs; ``classes`` is 0 for regression."""

    input_shape: tuple[int | None, ...]
    classes: int

    @property
    def task(self) -> str:
        return "classification" if self.classes else "regression"

    @property
    def outputs(self) -> int:
        return self.classes or 1


def image_sides(size: Any) -> tuple[int, int]:
    """(height, width) of a parsed ``size`` option: one side for square images, or two."""
    if isinstance(size, list | tuple):
        return (int(size[0]), int(size[-1]))
    return int(size), int(size)


def _valid_option(dataset: DatasetSpec, key: str, default: Any) -> Any:
    """The option's value when it passes the registry; raises ``ValueError`` otherwise."""
    value = dataset.option(key, default)
    return DATASET_OPTIONS[key].parse(value) if value is not None else default


def known_signature(dataset: DatasetSpec) -> DataSignature | None:
    """The signature of built-in and synthetic sets; ``None`` for files (known once loaded)
    and for options that are invalid (:func:`dataset_problems` names those)."""
    try:
        if dataset.source == "builtin" and dataset.name in BUILTIN:
            shape: tuple[int, ...]
            shape, classes, _ = BUILTIN[dataset.name]
            if dataset.name == "digits" and _valid_option(dataset, "as_images", False):
                shape = (8, 8, 1)
            return DataSignature(shape, classes)
        if dataset.source == "synthetic":
            if dataset.name in ("circles", "moons", "xor"):
                return DataSignature((2,), 2)
            if dataset.name == "spirals":
                return DataSignature((2,), _valid_option(dataset, "arms", 3))
            if dataset.name == "wave":
                return DataSignature((1,), 0)
            if dataset.name == "sine":
                return DataSignature((_valid_option(dataset, "steps", 20), 1), 0)
            if dataset.name in ("shapes", "stripes"):
                height, width = image_sides(_valid_option(dataset, "size", 32))
                return DataSignature((height, width, _valid_option(dataset, "channels", 1)), 5)
    except ValueError:
        return None
    return None


def dataset_problems(dataset: DatasetSpec) -> list[str]:
    """Everything wrong with the dataset choice that can be told without reading files.

    Each message says what to change. Field types and ranges are what loading checks too;
    the rest involve several fields, so a project holding them still loads and the user can
    fix it in the app.
    """
    problems = field_problems(dataset, DATASET_FIELDS, "dataset")
    for key, value in dataset.options:
        option = DATASET_OPTIONS.get(key)
        if option is None:
            problems.append(
                f"dataset option {shown(key)} is unknown; the options are "
                + ", ".join(DATASET_OPTIONS)
            )
            continue
        try:
            option.parse(value)
        except ValueError as exc:
            problems.append(f"dataset {key} must be {exc}, not {shown(value)}")
    if problems:
        return problems
    if dataset.source == "builtin" and dataset.name not in BUILTIN:
        problems.append(
            f"there is no built-in dataset {shown(dataset.name)}: choose one of "
            + ", ".join(BUILTIN)
        )
    if dataset.source == "synthetic" and dataset.name not in SYNTHETIC:
        problems.append(
            f"there is no synthetic dataset {shown(dataset.name)}: choose one of "
            + ", ".join(SYNTHETIC)
        )
    if dataset.source in FILE_SOURCES and not dataset.path:
        problems.append(
            f"a {dataset.source} dataset needs a path: choose the "
            f"{'folder' if dataset.source == 'images' else 'file'} to read"
        )
    if dataset.validation_split + dataset.test_split >= 0.9:
        problems.append(
            f"validation ({dataset.validation_split:g}) and test ({dataset.test_split:g}) "
            "leave too little to train on: keep their sum below 0.9"
        )
    signature = known_signature(dataset)
    if dataset.source == "synthetic" and signature is not None:
        samples = _valid_option(dataset, "samples", 1000)
        values = samples * math.prod(d or 1 for d in signature.input_shape)
        if values > MAX_DATA_VALUES:
            problems.append(
                f"{samples:,} samples of shape {signature.input_shape} hold {values:,} values, "
                f"more than the {MAX_DATA_VALUES:,} that fit in memory comfortably: generate "
                "fewer samples or smaller images"
            )
    return problems


def describe(dataset: DatasetSpec) -> str:
    if dataset.source == "builtin":
        return BUILTIN.get(dataset.name, ((), 0, dataset.name))[2]
    if dataset.source == "synthetic":
        return SYNTHETIC.get(dataset.name, dataset.name)
    return f"{dataset.source} file {dataset.path}"
