"""Datasets: built-in, synthetic and imported, split into train / validation / held-out test.

The split is fixed by the seed and stratified for classification. ``train_size`` then takes a
stratified subset of the training part (the small-data regime). Standardization is fitted on the
training part only. The test set is returned for final reporting; nothing here looks at it.
"""

from __future__ import annotations

import csv
import io
import math
import os
import threading
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dropout_studio.core.dataprobe import (
    FLOAT32_MAX,
    NAN_WORDS,
    DataProblem,
    classes_from_labels,
    first_ragged_row,
    image_folder_files,
    image_options,
    is_number,
    label_index,
    npz_arrays,
    npz_labels,
    one_hot_indices,
    probe_file_dataset,
    read_csv_header,
    read_npz_array,
    read_npz_headers,
)
from dropout_studio.core.datasets import (
    BUILTIN,
    KERAS_DATASETS,
    SYNTHETIC,
    SYNTHETIC_NOISE,
    DatasetSpec,
    DataSignature,
    image_sides,
)
from dropout_studio.core.project import resolve_data_path
from dropout_studio.engine.images import (
    ImageArray,
    ImageFiles,
    PixelArray,
    Scaling,
    aligned_empty,
    default_memory_budget,
    image_mean_std,
    megabytes,
)


class DataError(ValueError):
    """A dataset that cannot be used; the message names the file, row or column."""


class LoadStopped(DataError):
    """The stop flag was set while a file was being loaded."""


Progress = Callable[[int, int], None]
# A CSV file from this size is parsed through :class:`_ProgressReader` (about 10 % slower than
# pandas reading the path itself); a smaller one parses in well under a second, by path, with
# Stop checked before and after.
PROGRESS_BYTES = 128 * 2**20


class _Stopped(Exception):
    """Raised inside a read when the stop flag is set; becomes :class:`LoadStopped`."""


class _ProgressReader(io.RawIOBase):
    """The file pandas parses, read through here: bytes read so far go to ``on_progress`` and a
    set ``stop`` ends the parse at the next read (pandas pulls 256 KiB at a time)."""

    def __init__(
        self, fh: Any, total: int, on_progress: Progress | None, stop: threading.Event | None
    ) -> None:
        super().__init__()
        self.fh, self.total, self.on_progress, self.stop = fh, total, on_progress, stop
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.stop is not None and self.stop.is_set():
            raise _Stopped
        n = self.fh.readinto(buffer) or 0
        self.done += n
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)
        return n


def _stopped(path: Path) -> LoadStopped:
    return LoadStopped(f"{path}: loading was stopped")


Features = np.ndarray | ImageArray


@dataclass
class Dataset:
    """The three parts of a set. ``x_*`` are float32 arrays, or, for image sets, an
    :class:`~dropout_studio.engine.images.ImageArray` (uint8 pixels in memory, or files read
    per batch) that reads as float32 when indexed: index before converting a whole part.
    ``placement`` says where the samples live, for the run's first line ("in memory (…)")."""

    x_train: Features
    y_train: np.ndarray
    x_val: Features
    y_val: np.ndarray
    x_test: Features
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)
    description: str = ""
    placement: str = ""
    train_available: int | None = None  # the training part's size before train_size took some

    @property
    def signature(self) -> DataSignature:
        return DataSignature(tuple(self.x_train.shape[1:]), len(self.class_names))

    @property
    def task(self) -> str:
        return self.signature.task

    @property
    def streamed(self) -> bool:
        """Samples are read from disk a batch at a time (the set is over the memory budget)."""
        return isinstance(self.x_train, ImageArray) and self.x_train.streamed

    @property
    def nbytes(self) -> int:
        """Bytes the samples take in memory (uint8 pixels count as stored; 0 when streamed)."""
        total = 0
        for x, y in ((self.x_train, self.y_train), (self.x_val, self.y_val)):
            total += y.nbytes + _stored_bytes(x)
        return total + self.y_test.nbytes + _stored_bytes(self.x_test)

    def where(self) -> str:
        """ "in memory (123 MB)" or "streamed from disk (…)": which path a run takes."""
        return self.placement or f"in memory ({megabytes(self.nbytes)})"

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


def _stored_bytes(x: Features) -> int:
    if isinstance(x, ImageArray):
        return 0 if x.streamed else x.raw_nbytes
    return int(x.nbytes)


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


def _shape_image(kind: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """One image of a square, disc, triangle, cross or ring at a random place and size."""
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype("float32")
    side = min(height, width)
    r = rng.uniform(side * 0.18, side * 0.32)
    cy, cx = rng.uniform(r, np.array([height, width]) - r, 2)
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


def _stripe_image(kind: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]].astype("float32")
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
    name: str,
    n: int,
    size: tuple[int, int],
    channels: int,
    noise: float,
    rng: np.random.Generator,
) -> tuple:
    draw = _shape_image if name == "shapes" else _stripe_image
    y = np.arange(n) % 5
    rng.shuffle(y)
    x = np.empty((n, *size, channels), dtype="float32")
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
    name = spec.name
    rng = np.random.default_rng(seed)
    n = int(spec.option("samples", 1000))
    noise = float(spec.option("noise", SYNTHETIC_NOISE.get(name, 0.15)))
    two = ["class 0", "class 1"]
    if name in ("circles", "moons"):
        from sklearn import datasets as skd  # only these two need it (0.9 s to import)

        if name == "circles":
            x, y = skd.make_circles(n, noise=noise, factor=0.5, random_state=seed)
        else:
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
        size, channels = image_sides(spec.option("size", 32)), int(spec.option("channels", 1))
        x, y = _images(name, n, size, channels, noise, rng)
        names = (
            ["square", "disc", "triangle", "cross", "ring"]
            if name == "shapes"
            else ["horizontal", "vertical", "diagonal /", "diagonal \\", "checker"]
        )
        return x, y, names
    raise DataError(f"unknown synthetic dataset {name!r}; choose one of {', '.join(SYNTHETIC)}")


def _builtin(
    spec: DatasetSpec,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A scikit-learn set (float32), or a ``keras.datasets`` set (uint8 pixels, scaled at the
    split) read from the Keras cache and downloaded once when it is not there."""
    if spec.name not in BUILTIN:
        raise DataError(
            f"unknown built-in dataset {spec.name!r}; choose one of {', '.join(BUILTIN)}"
        )
    if spec.name in KERAS_DATASETS:
        from dropout_studio.engine import keras_datasets

        try:
            return keras_datasets.load(spec.name, on_progress, stop)
        except keras_datasets.KerasDataError as exc:
            raise DataError(str(exc)) from None

    from sklearn import datasets as skd

    bunch = getattr(skd, f"load_{spec.name}")()
    x = bunch.data.astype("float32")
    if spec.name == "digits":
        x = x / 16.0
        if spec.option("as_images"):
            x = x.reshape(-1, 8, 8, 1)
    return x, bunch.target, [str(t) for t in bunch.target_names]


# ---------------------------------------------------------------- files


def _problem(path: Path, exc: Exception) -> DataError:
    return DataError(f"{path}: {exc}")


def load_csv(
    path: Path,
    label_column: str | None,
    task: str | None = None,
    *,
    nrows: int | None = None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> tuple:
    """Numeric columns as they are, text-only columns one-hot encoded, one error per bad cell.

    pandas' C parser reads the file; every check is a whole-column numpy operation, so a clean
    file costs little more than the parse. Only a file already known to be bad is scanned row
    by row, to tell a short row from an empty cell. Rows count the header as row 1 and skip
    blank rows. ``nrows`` reads only the first rows (a preview's sample, which may hold one
    class); ``on_progress(bytes read, file size)`` and ``stop`` follow the parse.
    """
    try:
        header, skip = read_csv_header(path)
        label_at = label_index(header, label_column)
    except DataProblem as exc:
        raise _problem(path, exc) from None
    frame = _read_frame(path, header, skip, nrows, on_progress, stop)
    width = len(header)
    last = frame[width - 1]
    if last.dtype.kind not in "biuf" and (last.astype(str).str.strip() == "").any():
        _raise_if_ragged(path, skip, width)
    text = {c: _stripped(frame[c]) for c in range(width) if frame[c].dtype.kind not in "iuf"}
    if len(text) == width:
        blank = np.logical_and.reduce([(t == "").to_numpy() for t in text.values()])
        if blank.any():
            keep = ~blank
            frame = frame[keep].reset_index(drop=True)
            text = {c: t[keep].reset_index(drop=True) for c, t in text.items()}
    n = len(frame)
    if n < 2:
        raise DataError(f"{path}: needs a header row and at least two data rows")
    features = [c for c in range(width) if c != label_at]
    if not features:
        raise DataError(f"{path}: only the label column {header[label_at]!r}; add feature columns")
    columns: dict[int, np.ndarray | tuple[np.ndarray, int]] = {}
    errors: dict[int, str] = {}
    for c in features:
        if c in text:
            parsed = _text_column(text[c])
            if isinstance(parsed, int):
                errors[c] = _cell_error(text[c].iloc[parsed], parsed, header[c])
            else:
                columns[c] = parsed
        else:
            columns[c] = frame[c].to_numpy()
    x, finite = _assemble(columns, n)
    j = 0
    for c in features:
        if c in errors:
            raise DataError(f"{path}: {errors[c]}")
        column = columns[c]
        if not isinstance(column, tuple) and not finite[j]:
            row = int(np.flatnonzero(~np.isfinite(x[:, j]))[0])
            cell = _cell_text(path, skip, width, c, row)
            raise DataError(f"{path}: {_cell_error(cell, row, header[c])}")
        j += _width(column)
    least = 1 if nrows is not None else 2
    y, names = _csv_labels(frame[label_at], text.get(label_at), task, header[label_at], path, least)
    return x, y, names


def _csv_options(width: int, skip: int) -> dict[str, Any]:
    """pandas options that keep every cell as written: no NA guessing, no implicit index."""
    return {
        "header": None,
        "names": range(width),
        "skiprows": skip,
        "index_col": False,
        "na_filter": False,
        "encoding": "utf-8-sig",
        "engine": "c",
    }


def _read_frame(
    path: Path,
    header: list[str],
    skip: int,
    nrows: int | None = None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> Any:
    """The data rows as a DataFrame with columns 0 … n-1, every cell kept as written."""
    import pandas as pd

    width = len(header)

    def read(**extra: Any) -> Any:
        options = {**_csv_options(width, skip), "nrows": nrows, **extra}
        if stop is not None and stop.is_set():
            raise _stopped(path)
        watched = on_progress is not None or stop is not None
        if not watched or nrows is not None or path.stat().st_size < PROGRESS_BYTES:
            return pd.read_csv(path, **options)
        with open(path, "rb", buffering=0) as fh:
            total = os.fstat(fh.fileno()).st_size
            source = io.BufferedReader(_ProgressReader(fh, total, on_progress, stop), 2**20)
            try:
                return pd.read_csv(source, **options)
            except _Stopped:
                raise _stopped(path) from None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = read()
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: needs a header row and at least two data rows") from None
        except pd.errors.ParserError as exc:
            _raise_if_ragged(path, skip, width)
            if "Expected" not in str(exc):
                raise DataError(f"{path}: cannot be read as CSV ({str(exc).strip()})") from None
            # Only blank rows such as ",,," are longer than the header: skip them.
            frame = read(on_bad_lines="skip")
        except LoadStopped:
            raise
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{path}: cannot be read as CSV ({exc}): save it as UTF-8") from None
        except MemoryError:
            raise DataError(f"{path}: too large to load into memory: use fewer rows") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        _raise_if_ragged(path, skip, width)
    return frame


def _raise_if_ragged(path: Path, skip: int, width: int) -> None:
    try:
        found = first_ragged_row(path, skip, width)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    if found is not None:
        row, cells = found
        raise DataError(
            f"{path}: row {row} has {cells} cells but the header has {width}: fix that row"
        )


def _stripped(column: Any) -> Any:
    """Cells of a non-numeric column as stripped text (bools and mixed chunks included)."""
    return column.astype(str).str.strip()


def _text_column(cells: Any) -> tuple[np.ndarray, int] | np.ndarray | int:
    """One-hot codes of a text column, the numbers of a numeric one, or its first bad row."""
    import pandas as pd

    empty = (cells == "").to_numpy()
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    nan_word = cells.str.lower().isin(NAN_WORDS).to_numpy()
    is_number = ~np.isnan(numbers) | nan_word
    if not is_number.any() and not empty.any():
        codes, _ = pd.factorize(cells, sort=True)
        return codes.astype("int64"), int(codes.max()) + 1
    if not is_number.any():  # a text column with gaps: the gap is what to fix
        return int(np.flatnonzero(empty)[0])
    with np.errstate(invalid="ignore"):
        bad = empty | ~is_number | ~np.isfinite(numbers) | (np.abs(numbers) > FLOAT32_MAX)
    if bad.any():
        return int(np.flatnonzero(bad)[0])
    return numbers


def _width(column: np.ndarray | tuple[np.ndarray, int]) -> int:
    return column[1] if isinstance(column, tuple) else 1


def _assemble(
    columns: dict[int, np.ndarray | tuple[np.ndarray, int]], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Features as one float32 array, and which of its columns are all finite.

    Filled a block of rows at a time, so the strided writes stay in cache and no second
    full-size array (a transposed copy, a mask) is ever allocated: at a million rows, fresh
    pages cost more than the copying itself.
    """
    width = sum(_width(c) for c in columns.values())
    x = np.zeros((n, width), dtype="float32")
    finite = np.ones(width, dtype=bool)
    step = max(1024, 2**19 // max(width, 1))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, step):
            stop = min(start + step, n)
            block = x[start:stop]
            j = 0
            for column in columns.values():
                if isinstance(column, tuple):
                    block[np.arange(stop - start), j + column[0][start:stop]] = 1
                else:
                    block[:, j] = column[start:stop]
                j += _width(column)
            finite &= np.isfinite(block).all(axis=0)
    return x, finite


def _cell_text(path: Path, skip: int, width: int, column: int, row: int) -> str:
    """The text of one cell of a numeric column, read again for the error message."""
    import pandas as pd

    cells = pd.read_csv(path, usecols=[column], dtype=str, **_csv_options(width, skip))[column]
    return str(cells.iloc[row]).strip()


def _cell_error(cell: str, row: int, name: str) -> str:
    where = f"row {row + 2}, column {name!r}"
    if not cell:
        return f"{where} is empty: fix the cell or remove the row"
    if is_number(cell) and math.isfinite(float(cell)) and cell.lower() not in NAN_WORDS:
        return (
            f"{where} holds {cell!r}, which is too large for 32-bit floats (at most "
            f"{FLOAT32_MAX:.3g}): rescale the column or remove the row"
        )
    return f"{where} holds {cell!r}, which is not a finite number: fix the cell or remove the row"


def _csv_labels(
    column: Any, text: Any, task: str | None, name: str, path: Path, least: int = 2
) -> tuple[np.ndarray, list[str]]:
    """Labels by the shared rule, applied to the distinct values only (fast for text)."""
    import pandas as pd

    def locate(i: int) -> str:
        return f"row {i + 2}, column {name!r}"

    try:
        if text is None:
            return classes_from_labels(column.to_numpy(), task, locate, least)
        empty = np.flatnonzero((text == "").to_numpy())
        if len(empty):
            raise DataProblem(f"{locate(int(empty[0]))} is empty: fill in the label or remove it")
        codes, uniques = pd.factorize(text)
        distinct = np.asarray(uniques, dtype=str)
        values, names = classes_from_labels(
            distinct, task, lambda i: locate(int(np.argmax(codes == i))), least
        )
        return values[codes], names
    except DataProblem as exc:
        raise _problem(path, exc) from None


def load_npz(path: Path, task: str | None = None) -> tuple:
    """``x`` and ``y`` of an archive; sizes are checked from the .npy headers before loading."""
    try:
        x_header, y_header = npz_arrays(read_npz_headers(path))
        x = read_npz_array(path, x_header)
        y = read_npz_array(path, y_header)
    except DataProblem as exc:
        raise _problem(path, exc) from None
    except MemoryError:
        raise DataError(f"{path}: too large to load into memory: use fewer samples") from None
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise DataError(
            f"{path}: not a readable .npz file ({exc}): save it again with "
            "numpy.savez(path, x=x, y=y)"
        ) from None
    except NotImplementedError as exc:
        raise DataError(f"{path}: uses a zip compression numpy cannot read ({exc})") from None
    x32 = _npz_features(path, x)
    try:
        y_out, names = npz_labels(y, task)
    except DataProblem as exc:
        raise _problem(path, exc) from None
    return x32, y_out, names


def _npz_features(path: Path, x: np.ndarray) -> np.ndarray:
    """``x`` as float32, refusing a sample with NaN, infinity or a value float32 cannot hold."""
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        x32 = x.astype("float32")
    bad = ~np.isfinite(x32.reshape(len(x32), -1)).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        if np.isfinite(x[row].astype("float64")).all():
            raise DataError(
                f"{path}: sample {row + 1} of x holds a value too large for 32-bit floats "
                f"(at most {FLOAT32_MAX:.3g}): rescale x"
            )
        raise DataError(
            f"{path}: sample {row + 1} of x contains NaN or infinity: clean it or remove the sample"
        )
    return x32


def load_image_folder(
    path: Path,
    height: int,
    width: int,
    channels: int,
    *,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> tuple:
    """One sub-folder per class, decoded with Pillow into one uint8 array (scaled at the split).

    uint8 holds a decoded folder in a quarter of float32's memory. ``on_progress(images
    decoded, images)`` is called about a hundred times; a set ``stop`` ends the load.
    """
    try:
        classes = image_folder_files(path)
    except DataProblem as exc:
        raise _problem(path, exc) from None
    total = sum(len(files) for _, files in classes)
    every = max(1, total // 100)
    try:
        x = np.empty((total, height, width, channels), dtype="uint8")
    except MemoryError:
        raise DataError(
            f"{path}: {total} images of {height}×{width}×{channels} do not fit in memory: "
            "use smaller images"
        ) from None
    y = np.empty(total, dtype="int64")
    i = 0
    for k, (_, files) in enumerate(classes):
        for f in files:
            if stop is not None and stop.is_set():
                raise _stopped(path)
            x[i] = _decode_image(f, height, width, channels)
            y[i] = k
            i += 1
            if on_progress is not None and (i % every == 0 or i == total):
                on_progress(i, total)
    return x, y, [name for name, _ in classes]


def _decode_image(f: Path, height: int, width: int, channels: int) -> np.ndarray:
    """One image file as uint8 (height, width, channels), resized by nearest neighbour."""
    from PIL import Image

    try:
        with Image.open(f) as img:
            pixels = img.convert("L" if channels == 1 else "RGB")
            if pixels.size != (width, height):
                pixels = pixels.resize((width, height), Image.Resampling.NEAREST)
            return np.asarray(pixels, dtype="uint8").reshape(height, width, channels)
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise DataError(
            f"{f}: cannot be read as an image ({exc}): replace or remove the file"
        ) from None


# ---------------------------------------------------------------- splitting


def stratified_split(
    y: np.ndarray, fraction: float, rng: np.random.Generator, classify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, taken) with ``fraction`` of every class in ``taken``."""
    n = len(y)
    if fraction <= 0 or n == 0:  # nothing to take (an earlier split may have taken it all)
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


def split_indices(
    y: np.ndarray, spec: DatasetSpec, seed: int, classify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Indices of the training, validation and test parts: fixed by the seed and the labels
    alone, so a set split in memory and the same set streamed from disk get the same parts.
    Last, how many samples the training part had before ``train_size`` took some."""
    rng = np.random.default_rng(seed)
    rest, test = stratified_split(y, spec.test_split, rng, classify)
    val_fraction = spec.validation_split / max(1e-9, 1 - spec.test_split)
    train_rel, val_rel = stratified_split(y[rest], val_fraction, rng, classify)
    train, val = rest[train_rel], rest[val_rel]
    available = len(train)
    if spec.train_size is not None:
        train = train[stratified_take(y[train], spec.train_size, rng, classify)]
    if len(train) < 2:
        raise DataError(
            f"only {len(train)} training samples remain after the split: lower "
            "validation_split or test_split, or use more data"
        )
    return train, val, test, available


def split(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    spec: DatasetSpec,
    seed: int,
    description: str = "",
    divide_by: float | None = None,
) -> Dataset:
    """Split, then convert each part to float32 (dividing by ``divide_by``) and standardize.

    uint8 images with a ``divide_by`` stay uint8 (:class:`PixelArray`): they are converted when
    read, a batch at a time, with the same arithmetic, so a model sees the same floats.
    """
    classify = bool(names)
    train, val, test, available = split_indices(y, spec, seed, classify)
    y = y.astype("int32") if classify else y.astype("float32")
    if divide_by and x.dtype == np.uint8:
        raws = [x[idx] for idx in (train, val, test)]
        scaling = Scaling(divide_by)
        if spec.standardize:
            mean, std = image_mean_std(PixelArray(raws[0], scaling), divide_by, STD_IN_BLOCKS_ABOVE)
            scaling = Scaling(divide_by, mean, np.where(std < 1e-6, 1.0, std))
        images = [PixelArray(raw, scaling) for raw in raws]
        return Dataset(
            images[0],
            y[train],
            images[1],
            y[val],
            images[2],
            y[test],
            names,
            description,
            train_available=available,
        )
    parts = []
    for idx in (train, val, test):
        part = x[idx]
        if part.dtype != np.float32:
            part = part.astype("float32")
        if divide_by:
            part /= divide_by
        parts.append(part)
    if spec.standardize:
        mean, std = _mean_std(parts[0])
        std = np.where(std < 1e-6, 1.0, std)
        for part in parts:
            part -= mean
            part /= std
    x_train, x_val, x_test = parts
    return Dataset(
        x_train,
        y[train],
        x_val,
        y[val],
        x_test,
        y[test],
        names,
        description,
        train_available=available,
    )


def _image_folder(
    path: Path,
    shape: tuple[int, int, int],
    spec: DatasetSpec,
    seed: int,
    budget: int,
    on_progress: Progress | None,
    stop: threading.Event | None,
) -> Dataset:
    """An image folder split by its labels before any image is decoded (the parts
    :func:`split` gives the whole decoded set), then each part decoded into its own uint8
    array, or, when the pixels exceed ``budget``, left on disk as :class:`ImageFiles`. The
    whole set is never held twice; standardizing reads a streamed training part once, here."""
    try:
        classes = image_folder_files(path)
    except DataProblem as exc:
        raise _problem(path, exc) from None
    names = [name for name, _ in classes]
    files = np.array([str(f) for _, group in classes for f in group])
    y = np.concatenate(
        [np.full(len(group), k, dtype="int64") for k, (_, group) in enumerate(classes)]
    )
    if len(files) < 5:
        raise DataError(
            f"the dataset has only {len(files)} samples; at least 5 are needed to split "
            "it into training, validation and test sets"
        )
    *indices, available = split_indices(y, spec, seed, True)
    size = len(files) * int(np.prod(shape))
    streamed = size > budget
    total = len(indices[0]) if streamed else len(files)
    every = max(1, total // 100)

    def on_read(done: int) -> None:
        if stop is not None and stop.is_set():
            raise _stopped(path)
        if on_progress is not None and (done % every == 0 or done == total):
            on_progress(done, total)

    if stop is not None and stop.is_set():
        raise _stopped(path)
    parts: list[ImageArray] = [
        ImageFiles(files[idx], shape, Scaling(255.0), _decode_image) for idx in indices
    ]
    if not streamed:
        done = 0
        decoded: list[ImageArray] = []
        for part in parts:
            pixels = aligned_empty((len(part), *shape))
            for i in range(len(part)):
                pixels[i] = part.raw(np.array([i]))[0]
                done += 1
                on_read(done)
            decoded.append(PixelArray(pixels, part.scaling))
        parts = decoded
    scaling = Scaling(255.0)
    if spec.standardize:
        watched = on_read if streamed else None  # in memory: a pass over arrays, fast
        mean, std = image_mean_std(parts[0], 255.0, STD_IN_BLOCKS_ABOVE, on_block=watched)
        scaling = Scaling(255.0, mean, np.where(std < 1e-6, 1.0, std))
    for part in parts:
        part.scaling = scaling
    why = ""
    if streamed:
        why = (
            f"streamed from disk ({megabytes(size)} of pixels, over the {megabytes(budget)} "
            "memory budget)"
        )
    y = y.astype("int32")
    train, val, test = indices
    return Dataset(
        parts[0],
        y[train],
        parts[1],
        y[val],
        parts[2],
        y[test],
        names,
        f"images {path.name}",
        why,
        train_available=available,
    )


STD_IN_BLOCKS_ABOVE = 64 * 2**20  # bytes; smaller sets keep numpy's own std, bit for bit


def _mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of ``x`` along its first axis.

    ``np.std`` holds a full-size temporary (300 MB for 10,000 64×64×3 images); large arrays are
    summed a block at a time instead, in float64, which is also the more accurate sum.
    """
    if x.nbytes <= STD_IN_BLOCKS_ABOVE:
        return x.mean(axis=0), x.std(axis=0)
    mean = x.mean(axis=0)
    total = np.zeros(x.shape[1:], dtype="float64")
    step = max(1, (16 * 2**20) // max(1, x[0].nbytes))
    for start in range(0, len(x), step):
        deviation = x[start : start + step] - mean
        total += np.einsum("i...,i...->...", deviation, deviation, dtype="float64")
    return mean, np.sqrt(total / len(x)).astype("float32")


def load_dataset(
    spec: DatasetSpec,
    seed: int = 0,
    project_file: str | os.PathLike[str] | None = None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    memory_budget: int | None = None,
) -> Dataset:
    """Load, split and (optionally) standardize the project's dataset.

    ``on_progress(done, total)`` reports a download (MNIST, Fashion-MNIST and CIFAR-10 the
    first time: bytes), a CSV file's parse (bytes) or an image folder's decoding (images),
    called from this thread; setting ``stop`` cancels them with :class:`LoadStopped`.

    An image folder whose decoded pixels (uint8) take more than ``memory_budget`` bytes
    (default: :func:`~dropout_studio.engine.images.default_memory_budget`, a quarter of the
    RAM) is not decoded here: its parts are file lists that training streams a batch at a
    time (``Dataset.streamed``, ``Dataset.where()`` says so).
    """
    budget = default_memory_budget() if memory_budget is None else memory_budget
    try:
        return _load_dataset(
            spec, seed, project_file, on_progress=on_progress, stop=stop, budget=budget
        )
    except MemoryError:  # any step (decode, labels, split) of a set larger than this machine
        raise DataError(
            "the dataset does not fit in this machine's memory: use fewer or smaller samples "
            "(train_size), or a smaller file"
        ) from None


def _load_dataset(
    spec: DatasetSpec,
    seed: int,
    project_file: str | os.PathLike[str] | None,
    *,
    on_progress: Callable[[int, int], None] | None,
    stop: threading.Event | None,
    budget: int,
) -> Dataset:
    task = spec.option("task")
    divide_by = None
    if spec.source == "builtin":
        x, y, names = _builtin(spec, on_progress, stop)
        desc = BUILTIN[spec.name][2]
        if spec.name in KERAS_DATASETS:
            divide_by = 255.0
    elif spec.source == "synthetic":
        # The data itself is fixed (seed 0 unless the project sets data_seed); the split follows
        # the run's seed so several seeds see several splits of the same data.
        x, y, names = _synthetic(spec, int(spec.option("data_seed", 0)))
        desc = SYNTHETIC.get(spec.name, spec.name)
    else:
        if not spec.path:
            raise DataError(f"a {spec.source} dataset needs a path")
        try:
            path = resolve_data_path(project_file, spec.path)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DataError(f"{spec.path}: not a usable path ({exc}): choose another") from None
        if spec.source == "csv":
            x, y, names = load_csv(
                path, spec.label_column, task, on_progress=on_progress, stop=stop
            )
        elif spec.source == "npz":
            x, y, names = load_npz(path, task)
        elif spec.source == "images":
            try:
                height, width, channels = image_options(spec)
            except DataProblem as exc:
                raise _problem(path, exc) from None
            shape = (height, width, channels)
            return _image_folder(path, shape, spec, seed, budget, on_progress, stop)
        else:
            raise DataError(f"unknown dataset source {spec.source!r}")
        if stop is not None and stop.is_set():  # set after the last check inside the loader
            raise _stopped(path)
        desc = f"{spec.source} {path.name}"
    if len(x) < 5:
        raise DataError(
            f"the dataset has only {len(x)} samples; at least 5 are needed to split "
            "it into training, validation and test sets"
        )
    return split(x, y, names, spec, seed, desc, divide_by)


# ---------------------------------------------------------------- previews

SAMPLE_ROWS = 300  # CSV rows and NPZ samples a preview reads
SAMPLE_IMAGES = 48  # image files a preview decodes, spread over the classes


@dataclass
class DataSample:
    """A few hundred rows (or a few dozen images) of a file dataset, for its preview.

    Never the whole set: the sample is read from the file's start (CSV, NPZ) or taken from
    every class folder in turn (images); the whole set's size and classes come from the
    probe. ``x_train`` and ``y_train`` hold the sample as the preview draws it (images scaled
    to 0…1, nothing standardized); ``train_available`` is the size the split's training part
    will have.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    class_names: list[str]
    samples: int | None  # in the whole set
    class_counts: tuple[int, ...]  # in the whole set, by class ('' when unknown)
    approximate: bool  # the whole set's counts are estimated from its first part
    train_available: int | None
    description: str
    taken: str  # how the sample was taken: "the first rows", "from every class"

    @property
    def signature(self) -> DataSignature:
        return DataSignature(tuple(self.x_train.shape[1:]), len(self.class_names))

    def summary(self) -> str:
        about = "about " if self.approximate else ""
        whole = f"{about}{self.samples:,}" if self.samples is not None else "all"
        lines = [
            f"a sample: {len(self.x_train):,} of {whole} samples ({self.taken}); "
            "the whole set loads when training starts"
        ]
        if self.class_names:
            counts = ""
            if len(self.class_counts) == len(self.class_names):
                shown = [f"{n} {c:,}" for n, c in zip(self.class_names, self.class_counts)]
                more = len(shown) - 10
                counts = (
                    f": {about}" + ", ".join(shown[:10]) + (f", … {more} more" if more > 0 else "")
                )
            lines.append(f"{len(self.class_names)} classes{counts}")
        else:
            lines.append("regression")
        return "\n".join(lines)


def training_part_size(spec: DatasetSpec, counts: list[int], classify: bool) -> int:
    """How many samples the split's training part gets, before ``train_size``: the
    arithmetic of :func:`stratified_split`, from the class counts alone (or the sample
    count, for regression)."""

    def taken(n: int, fraction: float, stratified: bool) -> int:
        if fraction <= 0 or n == 0:
            return 0
        k = round(n * fraction)
        if not stratified:
            return max(1, k)
        return min(max(k, 1), n - 1) if n > 1 else k

    val_fraction = spec.validation_split / max(1e-9, 1 - spec.test_split)
    total = 0
    for n in counts:
        rest = n - taken(n, spec.test_split, classify)
        total += rest - taken(rest, val_fraction, classify)
    return total


def load_sample(
    spec: DatasetSpec,
    project_file: str | os.PathLike[str] | None = None,
    rows: int = SAMPLE_ROWS,
    images: int = SAMPLE_IMAGES,
) -> DataSample:
    """A preview's sample of a CSV, NPZ or image-folder dataset, with the whole set's shape
    and class counts from :func:`probe_file_dataset`; raises :class:`DataError` with the
    probe's (or the sample's) first problem."""
    if spec.source not in ("csv", "npz", "images"):
        raise DataError(f"a {spec.source} dataset has no file to sample")
    if not spec.path:
        raise DataError(f"a {spec.source} dataset needs a path")
    probe = probe_file_dataset(spec, project_file)
    if probe.problems:
        raise DataError(probe.problems[0])
    try:
        path = resolve_data_path(project_file, spec.path)
    except (OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"{spec.path}: not a usable path ({exc}): choose another") from None
    names = list(probe.class_names)
    regression = probe.signature is not None and probe.signature.classes == 0
    task = "regression" if regression else ("classification" if names else spec.option("task"))
    if spec.source == "csv":
        x, y, found = load_csv(path, spec.label_column, task, nrows=rows)
        taken = "the first rows"
    elif spec.source == "npz":
        x, y, found = _npz_sample(path, task, rows)
        taken = "the first samples"
    else:
        try:
            height, width, channels = image_options(spec)
            classes = image_folder_files(path)
        except DataProblem as exc:
            raise _problem(path, exc) from None
        x, y = _image_sample(classes, height, width, channels, images)
        found = [name for name, _ in classes]
        taken = "from every class"
    y, names = _as_classes(y, found, names)
    counts = probe.class_counts
    if probe.approximate and probe.samples and sum(counts):  # counted in the first part only
        counts = tuple(round(c * probe.samples / sum(counts)) for c in counts)
    available = None
    if counts:
        available = training_part_size(spec, list(counts), True)
    elif probe.samples is not None:  # regression, or classes the probe could not count
        available = training_part_size(spec, [probe.samples], False)
    desc = f"{spec.source} {path.name}"
    return DataSample(x, y, names, probe.samples, counts, probe.approximate, available, desc, taken)


def _as_classes(y: np.ndarray, found: list[str], names: list[str]) -> tuple[np.ndarray, list]:
    """The sample's class indices renumbered by the whole set's class names."""
    if not found:
        return y, []
    if not names:
        return y, found
    lookup = {name: i for i, name in enumerate(names)}
    for name in found:  # a class the probe's first part did not see
        lookup.setdefault(name, len(lookup))
    names = sorted(lookup, key=lookup.__getitem__)
    order = np.asarray([lookup[name] for name in found], dtype="int64")
    return order[y.astype("int64")], names


def _npz_head(path: Path, header: Any, rows: int) -> np.ndarray:
    """The first ``rows`` entries of one archive member, read from its start (an array in
    Fortran order is read whole: its first rows are not stored first)."""
    with zipfile.ZipFile(path) as archive, archive.open(header.member) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            np.lib.format.read_array_header_1_0(member)
        else:
            np.lib.format.read_array_header_2_0(member)
        if header.fortran_order and len(header.shape) > 1:
            return read_npz_array(path, header)[:rows]
        n = min(rows, header.shape[0])
        each = math.prod(header.shape[1:]) * header.dtype.itemsize
        data = member.read(n * each)
    if len(data) < n * each:
        raise DataError(f"{path}: array {header.member!r} is cut short: save the file again")
    return np.frombuffer(data, dtype=header.dtype).reshape((n, *header.shape[1:])).copy()


def _npz_sample(path: Path, task: str | None, rows: int) -> tuple:
    try:
        x_header, y_header = npz_arrays(read_npz_headers(path))
        x = _npz_head(path, x_header, rows)
        y = _npz_head(path, y_header, rows)
        x32 = _npz_features(path, x)
        if y.ndim == 2 and y.shape[1] > 1 and task != "regression":
            return x32, one_hot_indices(y), [str(k) for k in range(y.shape[1])]
        if y.ndim == 2:
            y = y.reshape(len(y))
        y_out, names = classes_from_labels(y, task, lambda i: f"sample {i + 1} of y", 1)
    except DataProblem as exc:
        raise _problem(path, exc) from None
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    return x32, y_out, names


def _image_sample(
    classes: list[tuple[str, list[Path]]], height: int, width: int, channels: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` images, taken from each class folder in turn, scaled to 0…1."""
    picked: list[tuple[int, Path]] = []
    for i in range(max(len(files) for _, files in classes)):
        if len(picked) >= count:
            break
        for k, (_, files) in enumerate(classes):
            if i < len(files) and len(picked) < count:
                picked.append((k, files[i]))
    x = np.empty((len(picked), height, width, channels), dtype="float32")
    for j, (_, f) in enumerate(picked):
        x[j] = _decode_image(f, height, width, channels) / np.float32(255.0)
    return x, np.asarray([k for k, _ in picked], dtype="int64")
