"""Datasets: built-in, synthetic and imported, split into train / validation / held-out test.

The split is fixed by the seed and stratified for classification. ``train_size`` then takes a
stratified subset of the training part (the small-data regime). Standardization is fitted on the
training part only. The test set is returned for final reporting; nothing here looks at it.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dropout_studio.core.datasets import BUILTIN, SYNTHETIC, DatasetSpec, DataSignature
from dropout_studio.core.project import resolve_data_path


class DataError(ValueError):
    """A dataset that cannot be used; the message names the file, row or column."""


@dataclass
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def signature(self) -> DataSignature:
        return DataSignature(tuple(self.x_train.shape[1:]), len(self.class_names))

    @property
    def task(self) -> str:
        return self.signature.task

    def summary(self) -> str:
        parts = [
            f"train {len(self.x_train)}",
            f"validation {len(self.x_val)}",
            f"test {len(self.x_test)}",
            f"samples {tuple(self.x_train.shape[1:])}",
        ]
        if self.class_names:
            counts = np.bincount(self.y_train.astype(int), minlength=len(self.class_names))
            parts.append(f"{len(self.class_names)} classes (train counts {counts.tolist()})")
        else:
            parts.append("regression")
        return ", ".join(parts)


# ---------------------------------------------------------------- generators


def _spirals(n: int, arms: int, noise: float, rng: np.random.Generator) -> tuple:
    per = n // arms
    xs, ys = [], []
    for k in range(arms):
        t = np.sqrt(rng.random(per)) * 3 * np.pi
        angle = t + 2 * np.pi * k / arms
        pts = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (3 * np.pi)
        xs.append(pts + rng.normal(0, noise, pts.shape))
        ys.append(np.full(per, k))
    return np.concatenate(xs), np.concatenate(ys)


def _sine(n: int, steps: int, noise: float, rng: np.random.Generator) -> tuple:
    freq = rng.uniform(0.1, 0.4, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.0, (n, 1))
    t = np.arange(steps + 1)[None, :]
    clean = amp * np.sin(freq * t + phase)
    series = clean + rng.normal(0, noise, clean.shape)
    return series[:, :steps, None].astype("float32"), clean[:, steps].astype("float32")


def _shape_image(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One 32×32 image of a square, disc, triangle, cross or ring at a random place and size."""
    yy, xx = np.mgrid[0:size, 0:size].astype("float32")
    r = rng.uniform(size * 0.18, size * 0.32)
    cy, cx = rng.uniform(r, size - r, 2)
    dy, dx = yy - cy, xx - cx
    if kind == 0:
        img = (np.abs(dy) <= r * 0.8) & (np.abs(dx) <= r * 0.8)
    elif kind == 1:
        img = dy**2 + dx**2 <= r**2
    elif kind == 2:
        img = (dy <= r * 0.7) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    elif kind == 3:
        img = ((np.abs(dy) <= r * 0.25) & (np.abs(dx) <= r)) | (
            (np.abs(dx) <= r * 0.25) & (np.abs(dy) <= r)
        )
    else:
        d2 = dy**2 + dx**2
        img = (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    return img.astype("float32")


def _stripe_image(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype("float32")
    period = rng.uniform(4, 9)
    phase = rng.uniform(0, 2 * np.pi)
    coord = [yy, xx, xx + yy, xx - yy, None][kind]
    if coord is None:
        return (
            (np.sin(2 * np.pi * yy / period + phase) > 0)
            ^ (np.sin(2 * np.pi * xx / period + phase) > 0)
        ).astype("float32")
    return (np.sin(2 * np.pi * coord / period + phase) > 0).astype("float32")


def _images(
    name: str, n: int, size: int, channels: int, noise: float, rng: np.random.Generator
) -> tuple:
    draw = _shape_image if name == "shapes" else _stripe_image
    y = np.arange(n) % 5
    rng.shuffle(y)
    x = np.empty((n, size, size, channels), dtype="float32")
    for i, label in enumerate(y):
        img = draw(int(label), size, rng)
        if channels == 1:
            x[i, :, :, 0] = img
        else:
            colour = rng.uniform(0.4, 1.0, channels)
            x[i] = img[:, :, None] * colour[None, None, :]
    x += rng.normal(0, noise, x.shape).astype("float32")
    return np.clip(x, 0, 1), y


def _synthetic(spec: DatasetSpec, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn import datasets as skd

    name = spec.name
    rng = np.random.default_rng(seed)
    n = int(spec.option("samples", 1000))
    noise = float(
        spec.option(
            "noise",
            {
                "circles": 0.1,
                "moons": 0.25,
                "spirals": 0.05,
                "xor": 0.35,
                "sine": 0.1,
                "wave": 0.3,
            }.get(name, 0.15),
        )
    )
    two = ["class 0", "class 1"]
    if name == "circles":
        x, y = skd.make_circles(n, noise=noise, factor=0.5, random_state=seed)
        return x, y, two
    if name == "moons":
        x, y = skd.make_moons(n, noise=noise, random_state=seed)
        return x, y, two
    if name == "spirals":
        arms = int(spec.option("arms", 3))
        x, y = _spirals(n, arms, noise, rng)
        return x, y, [f"arm {k}" for k in range(arms)]
    if name == "xor":
        centres = rng.integers(0, 2, (n, 2))
        x = centres * 2.0 - 1.0 + rng.normal(0, noise, (n, 2))
        return x, centres[:, 0] ^ centres[:, 1], two
    if name == "wave":
        x = rng.uniform(-1, 1, (n, 1)).astype("float32")
        y = np.sin(2 * np.pi * x[:, 0]) + rng.normal(0, noise, n)
        return x, y.astype("float32"), []
    if name == "sine":
        x, y = _sine(n, int(spec.option("steps", 20)), noise, rng)
        return x, y, []
    if name in ("shapes", "stripes"):
        size, channels = int(spec.option("size", 32)), int(spec.option("channels", 1))
        x, y = _images(name, n, size, channels, noise, rng)
        names = (
            ["square", "disc", "triangle", "cross", "ring"]
            if name == "shapes"
            else ["horizontal", "vertical", "diagonal /", "diagonal \\", "checker"]
        )
        return x, y, names
    raise DataError(f"unknown synthetic dataset {name!r}; choose one of {', '.join(SYNTHETIC)}")


def _builtin(spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn import datasets as skd

    if spec.name not in BUILTIN:
        raise DataError(
            f"unknown built-in dataset {spec.name!r}; choose one of {', '.join(BUILTIN)}"
        )
    bunch = getattr(skd, f"load_{spec.name}")()
    x = bunch.data.astype("float32")
    if spec.name == "digits":
        x = x / 16.0
        if spec.option("as_images"):
            x = x.reshape(-1, 8, 8, 1)
    return x, bunch.target, [str(t) for t in bunch.target_names]


# ---------------------------------------------------------------- files


def _classes_from_labels(
    raw: list[str] | np.ndarray, task: str | None, where: str
) -> tuple[np.ndarray, list[str]]:
    """Labels become class indices unless they are non-integer numbers (regression)."""
    values = np.asarray(raw)
    numeric = None
    try:
        numeric = values.astype("float64")
    except ValueError:
        if task == "regression":
            raise DataError(f"{where}: labels must be numbers for regression") from None
    if numeric is not None:
        if np.isnan(numeric).any():
            row = int(np.flatnonzero(np.isnan(numeric))[0])
            raise DataError(f"{where}: label of sample {row + 1} is NaN: fill it in or remove it")
        if task == "regression" or (task is None and not np.all(numeric == np.round(numeric))):
            return numeric.astype("float32"), []
        keys = np.unique(numeric)
        names = [str(int(k)) if float(k).is_integer() else str(k) for k in keys]
        indices = np.searchsorted(keys, numeric)
    else:
        keys = np.unique(values.astype(str))
        names = [str(k) for k in keys]
        indices = np.searchsorted(keys, values.astype(str))
    if len(names) < 2:
        raise DataError(
            f"{where}: every sample has the label {names[0]!r}; a classifier needs at "
            "least two classes"
        )
    return indices.astype("int64"), names


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def load_csv(path: Path, label_column: str | None, task: str | None = None) -> tuple:
    """Numeric columns as they are, text-only columns one-hot encoded, one error per bad cell."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 3:
        raise DataError(f"{path}: needs a header row and at least two data rows")
    header = [h.strip() for h in rows[0]]
    label = label_column or header[-1]
    if label not in header:
        raise DataError(f"{path}: no column named {label!r}; the columns are {', '.join(header)}")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path}: row {number} has {len(row)} cells but the header has "
                f"{len(header)}: fix that row"
            )
    label_index = header.index(label)
    columns: list[np.ndarray] = []
    for c, name in enumerate(header):
        if c == label_index:
            continue
        cells = [r[c].strip() for r in rows[1:]]
        values = [_number(v) for v in cells]
        numeric = [v is not None for v in values]
        if not any(numeric) and all(cells):
            categories = sorted(set(cells))
            onehot = np.zeros((len(cells), len(categories)), dtype="float32")
            onehot[np.arange(len(cells)), [categories.index(v) for v in cells]] = 1
            columns.append(onehot)
            continue
        for row_no, (cell, value) in enumerate(zip(cells, values), start=2):
            if value is None or math.isnan(value) or math.isinf(value):
                what = "is empty" if not cell else f"holds {cell!r}, which is not a finite number"
                raise DataError(
                    f"{path}: row {row_no}, column {name!r} {what}: fix the cell or remove the row"
                )
        columns.append(np.asarray(values, dtype="float32")[:, None])
    if not columns:
        raise DataError(f"{path}: only the label column {label!r}; add feature columns")
    x = np.concatenate(columns, axis=1)
    y, names = _classes_from_labels(
        [r[label_index].strip() for r in rows[1:]], task, f"{path}, column {label!r}"
    )
    return x, y, names


def load_npz(path: Path, task: str | None = None) -> tuple:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data or "y" not in data:
                raise DataError(
                    f"{path}: needs arrays named 'x' and 'y', found "
                    f"{', '.join(data.files) or 'none'}"
                )
            x, y = data["x"], data["y"]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if len(x) != len(y):
        raise DataError(f"{path}: x has {len(x)} samples but y has {len(y)}")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{path}: x must be numeric, got {x.dtype}")
    x = x.astype("float32")
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise DataError(
            f"{path}: sample {int(np.flatnonzero(bad)[0]) + 1} of x contains NaN or "
            "infinity: clean it or remove the sample"
        )
    y_out, names = _classes_from_labels(
        y.reshape(len(y)) if y.ndim > 1 and y.shape[1] == 1 else y, task, f"{path} (y)"
    )
    return x, y_out, names


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


def load_image_folder(path: Path, size: int, channels: int) -> tuple:
    """One sub-folder per class, loaded with Keras' image utilities and scaled to [0, 1]."""
    import keras

    if not path.is_dir():
        raise DataError(f"{path}: no such folder")
    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise DataError(
            f"{path}: needs one sub-folder per class and at least two classes, found {len(classes)}"
        )
    xs, ys = [], []
    for k, name in enumerate(classes):
        files = sorted(f for f in (path / name).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{path / name}: the class folder holds no images (.png, .jpg, ...)")
        for f in files:
            try:
                img = keras.utils.load_img(
                    f, color_mode="grayscale" if channels == 1 else "rgb", target_size=(size, size)
                )
            except Exception as exc:
                raise DataError(f"{f}: cannot be read as an image ({exc})") from None
            xs.append(keras.utils.img_to_array(img) / 255.0)
            ys.append(k)
    return np.stack(xs).astype("float32"), np.asarray(ys), classes


# ---------------------------------------------------------------- splitting


def stratified_split(
    y: np.ndarray, fraction: float, rng: np.random.Generator, classify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, taken) with ``fraction`` of every class in ``taken``."""
    n = len(y)
    if fraction <= 0:
        return rng.permutation(n), np.array([], dtype=int)
    if not classify:
        perm = rng.permutation(n)
        k = max(1, round(n * fraction))
        return perm[k:], perm[:k]
    rest, taken = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(len(idx) * fraction)
        if len(idx) > 1:
            k = min(max(k, 1), len(idx) - 1)
        taken.append(idx[:k])
        rest.append(idx[k:])
    return rng.permutation(np.concatenate(rest)), rng.permutation(np.concatenate(taken))


def stratified_take(
    y: np.ndarray, count: int, rng: np.random.Generator, classify: bool
) -> np.ndarray:
    """``count`` indices with class proportions kept (at least one per class when possible)."""
    if count >= len(y):
        return rng.permutation(len(y))
    _, taken = stratified_split(y, count / len(y), rng, classify)
    if len(taken) > count:
        taken = taken[:count]
    elif len(taken) < count:
        extra = np.setdiff1d(np.arange(len(y)), taken)
        taken = np.concatenate([taken, rng.permutation(extra)[: count - len(taken)]])
    return rng.permutation(taken)


def split(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    spec: DatasetSpec,
    seed: int,
    description: str = "",
) -> Dataset:
    classify = bool(names)
    rng = np.random.default_rng(seed)
    rest, test = stratified_split(y, spec.test_split, rng, classify)
    val_fraction = spec.validation_split / max(1e-9, 1 - spec.test_split)
    train_rel, val_rel = stratified_split(y[rest], val_fraction, rng, classify)
    train, val = rest[train_rel], rest[val_rel]
    if spec.train_size is not None:
        train = train[stratified_take(y[train], spec.train_size, rng, classify)]
    if len(train) < 2:
        raise DataError(
            f"only {len(train)} training samples remain after the split: lower "
            "validation_split or test_split, or use more data"
        )
    x = x.astype("float32")
    if spec.standardize:
        axes = 0
        mean = x[train].mean(axis=axes)
        std = x[train].std(axis=axes)
        std = np.where(std < 1e-6, 1.0, std)
        x = (x - mean) / std
    y = y.astype("int32") if classify else y.astype("float32")
    return Dataset(x[train], y[train], x[val], y[val], x[test], y[test], names, description)


def load_dataset(
    spec: DatasetSpec, seed: int = 0, project_file: str | os.PathLike[str] | None = None
) -> Dataset:
    """Load, split and (optionally) standardize the project's dataset."""
    task = spec.option("task")
    if spec.source == "builtin":
        x, y, names = _builtin(spec)
        desc = BUILTIN[spec.name][2]
    elif spec.source == "synthetic":
        # The data itself is fixed (seed 0 unless the project sets data_seed); the split follows
        # the run's seed so several seeds see several splits of the same data.
        x, y, names = _synthetic(spec, int(spec.option("data_seed", 0)))
        desc = SYNTHETIC.get(spec.name, spec.name)
    else:
        if not spec.path:
            raise DataError(f"a {spec.source} dataset needs a path")
        path = resolve_data_path(project_file, spec.path)
        if spec.source == "csv":
            x, y, names = load_csv(path, spec.label_column, task)
        elif spec.source == "npz":
            x, y, names = load_npz(path, task)
        elif spec.source == "images":
            x, y, names = load_image_folder(
                path, int(spec.option("size", 32)), int(spec.option("channels", 3))
            )
        else:
            raise DataError(f"unknown dataset source {spec.source!r}")
        desc = f"{spec.source} {path.name}"
    if len(x) < 5:
        raise DataError(
            f"the dataset has only {len(x)} samples; at least 5 are needed to split "
            "it into training, validation and test sets"
        )
    return split(x, y, names, spec, seed, desc)
