"""The dataset choice of a project, and what is known about each dataset without loading it.

Loading lives in the engine; the catalogue here lets ``check`` and the GUI compare the stack's
input and output with the data before TensorFlow is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

SOURCES = ("builtin", "synthetic", "csv", "npz", "images")
BUILTIN = {
    # name: (feature shape, classes, description)
    "digits": ((64,), 10, "8×8 handwritten digits, 1,797 samples (scikit-learn)"),
    "iris": ((4,), 3, "iris flowers, 150 samples, 4 measurements"),
    "wine": ((13,), 3, "wine cultivars, 178 samples, 13 chemical measurements"),
    "breast_cancer": ((30,), 2, "breast cancer diagnosis, 569 samples, 30 features"),
}
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


def known_signature(dataset: DatasetSpec) -> DataSignature | None:
    """The signature of built-in and synthetic sets; ``None`` for files (known once loaded)."""
    if dataset.source == "builtin" and dataset.name in BUILTIN:
        shape: tuple[int, ...]
        shape, classes, _ = BUILTIN[dataset.name]
        if dataset.name == "digits" and dataset.option("as_images"):
            shape = (8, 8, 1)
        return DataSignature(shape, classes)
    if dataset.source == "synthetic":
        if dataset.name in ("circles", "moons", "xor"):
            return DataSignature((2,), 2)
        if dataset.name == "spirals":
            return DataSignature((2,), int(dataset.option("arms", 3)))
        if dataset.name == "wave":
            return DataSignature((1,), 0)
        if dataset.name == "sine":
            return DataSignature((int(dataset.option("steps", 20)), 1), 0)
        if dataset.name in ("shapes", "stripes"):
            size = int(dataset.option("size", 32))
            return DataSignature((size, size, int(dataset.option("channels", 1))), 5)
    return None


def describe(dataset: DatasetSpec) -> str:
    if dataset.source == "builtin":
        return BUILTIN.get(dataset.name, ((), 0, dataset.name))[2]
    if dataset.source == "synthetic":
        return SYNTHETIC.get(dataset.name, dataset.name)
    return f"{dataset.source} file {dataset.path}"
