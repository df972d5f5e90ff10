"""What a data file holds, read cheaply: shape, class count and problems, without loading it.

``check`` and the dataset panel call :func:`probe_file_dataset` before TensorFlow (or pandas) is
imported, so it reads only headers, a sample and a capped scan. The engine's loaders share the
rules here (paths, .npy headers, labels, image folders), so ``check`` and ``train`` agree on what
a file means and say the same thing about it. Standard library and numpy only.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dropout_studio.core.datasets import DATASET_OPTIONS, DatasetSpec, DataSignature

SAMPLE_ROWS = 200  # CSV rows read with the csv module to tell numeric from text columns
SCAN_BYTES = 64 * 2**20  # files up to this size are scanned whole: exact rows and classes
MAX_COLUMNS = 100_000  # a CSV header wider than this is not a table of samples
MAX_LINE_CHARS = 16 * 2**20
SMALL_LABELS = 64 * 2**20  # an NPZ ``y`` up to this size is read for its exact class count
FLOAT32_MAX = float(np.finfo(np.float32).max)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
DEFAULT_IMAGE_SIZE = 32
DEFAULT_IMAGE_CHANNELS = 3
NAN_WORDS = frozenset({"nan", "+nan", "-nan"})


class DataProblem(ValueError):
    """A data file that cannot be used; the message says what to change (without the path)."""


@dataclass(frozen=True)
class DataProbe:
    """What a probe found: the signature when it could tell, and one sentence per problem.

    ``approximate`` is true when the file was larger than the scan cap and the row and class
    counts come from its first part only. ``class_counts`` are the samples per class, in the
    order of ``class_names``, where the probe could count them (empty otherwise).
    """

    signature: DataSignature | None
    problems: tuple[str, ...]
    samples: int | None = None
    class_names: tuple[str, ...] = ()
    approximate: bool = False
    class_counts: tuple[int, ...] = ()


# ---------------------------------------------------------------- paths


def resolve_path(project_file: str | os.PathLike[str] | None, data_path: str) -> Path:
    """Paths inside a project are relative to the project file's folder (as project.py)."""
    p = Path(data_path).expanduser()
    if p.is_absolute() or project_file is None:
        return p
    return Path(project_file).resolve().parent / p


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise DataProblem("no such file or folder: check the dataset path") from None
    except NotADirectoryError:
        raise DataProblem("a part of the path is a file, not a folder: check the path") from None
    except PermissionError:
        raise DataProblem("permission denied: allow reading it or choose another path") from None
    except OSError as exc:
        raise DataProblem(
            f"cannot be opened ({exc.strerror or exc}): choose another path"
        ) from None
    except ValueError as exc:
        raise DataProblem(f"cannot be opened ({exc}): choose another path") from None


def check_regular_file(path: Path, kind: str = "file") -> int:
    """The size of ``path`` when it is a regular file; stat first, so a FIFO is never opened."""
    st = _stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise DataProblem(f"is a folder, not a {kind}: choose the {kind} itself")
    if not stat.S_ISREG(st.st_mode):
        raise DataProblem(f"is not a regular file (a pipe, socket or device): choose a {kind}")
    return st.st_size


def check_folder(path: Path) -> None:
    if not stat.S_ISDIR(_stat(path).st_mode):
        raise DataProblem(
            "is a file, not a folder: choose the folder that holds one sub-folder per class"
        )


def _size_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def memory_bytes() -> int:
    """Physical memory of this machine (16 GiB when the system will not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return 16 * 2**30


# ---------------------------------------------------------------- labels


def classes_from_labels(
    values: np.ndarray, task: str | None, locate: Callable[[int], str], min_classes: int = 2
) -> tuple[np.ndarray, list[str]]:
    """Labels become class indices unless they are non-integer numbers (regression).

    ``locate(i)`` names sample ``i`` in messages ("row 5, column 'label'"). Text labels that
    are all numbers count as numbers, so "1" and "1.0" are one class. A preview's sample may
    hold one class only (``min_classes=1``).
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise DataProblem(f"labels must be one value per sample, got shape {values.shape}")
    numeric: np.ndarray | None = None
    if values.dtype.kind in "biuf":
        numeric = values.astype("float64")
    elif values.dtype.kind in "US":
        try:
            text = np.char.strip(values.astype(str))
        except UnicodeDecodeError:
            raise DataProblem(
                "text labels stored as bytes must be ASCII: save them as str"
            ) from None
        empty = np.flatnonzero(text == "")
        if len(empty):
            raise DataProblem(f"{locate(int(empty[0]))} is empty: fill in the label or remove it")
        try:
            numeric = text.astype("float64")
        except (ValueError, OverflowError):
            if task == "regression":
                raise DataProblem(
                    "labels must be numbers for regression: choose classification or fix them"
                ) from None
        values = text
    else:
        raise DataProblem(f"labels must be numbers or text, not {values.dtype}")
    if numeric is not None:
        bad = np.flatnonzero(~np.isfinite(numeric))
        if len(bad):
            raise DataProblem(
                f"{locate(int(bad[0]))} is {numeric[bad[0]]}, not a label: fill it in or remove it"
            )
        regression = task == "regression" or (
            task is None and not np.all(numeric == np.round(numeric))
        )
        if regression:
            big = np.flatnonzero(np.abs(numeric) > FLOAT32_MAX)
            if len(big):
                raise DataProblem(
                    f"{locate(int(big[0]))} is {numeric[big[0]]:g}, too large for 32-bit floats "
                    f"(at most {FLOAT32_MAX:.3g}): rescale the labels"
                )
            return numeric.astype("float32"), []
        keys, indices = np.unique(numeric, return_inverse=True)
        names = [str(int(k)) if float(k).is_integer() else str(k) for k in keys]
    else:
        skeys, indices = np.unique(values, return_inverse=True)
        names = [str(k) for k in skeys]
    if len(names) < min_classes:
        raise DataProblem(
            f"every sample has the label {names[0]!r}; a classifier needs at least two classes"
        )
    return indices.reshape(-1).astype("int64"), names


def one_hot_indices(y: np.ndarray) -> np.ndarray:
    """Class indices of one-hot rows; refuses rows that are not exactly one 1 and 0s."""
    flat = y.reshape(len(y), -1)
    if flat.dtype.kind not in "biuf":
        raise DataProblem(f"y has shape {y.shape} and holds {y.dtype}: give one label per sample")
    ones = flat == 1
    if not np.all(ones | (flat == 0)) or not np.all(ones.sum(axis=1) == 1):
        row = int(np.flatnonzero(~(ones | (flat == 0)).all(axis=1) | (ones.sum(axis=1) != 1))[0])
        raise DataProblem(
            f"y has shape {y.shape} but sample {row + 1} is not one-hot (one 1, the rest 0): "
            "give one class per sample, shape (samples,), or one-hot rows"
        )
    return np.argmax(flat, axis=1).astype("int64")


# ---------------------------------------------------------------- NPZ


@dataclass(frozen=True)
class NpyHeader:
    """One array of an .npz archive as its header describes it."""

    member: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    stored_bytes: int  # the member's uncompressed size in the archive

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


NPZ_HINT = "save the arrays with numpy.savez(path, x=x, y=y)"
# What reading a damaged archive raises: zip, zlib and .npy header errors.
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    ValueError,
    EOFError,
    RuntimeError,
    NotImplementedError,
)


def read_npz_headers(path: Path) -> dict[str, NpyHeader]:
    """The headers of every array in the archive, read without loading any array."""
    size = check_regular_file(path, ".npz file")
    if size == 0:
        raise DataProblem(f"the file is empty: {NPZ_HINT}")
    with open(path, "rb") as fh:
        magic = fh.read(6)
        if magic == b"\x93NUMPY":
            raise DataProblem(
                f"holds a single .npy array (numpy.save), not an .npz archive: {NPZ_HINT}"
            )
        fh.seek(0)
        try:
            archive = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise DataProblem(f"is not a readable .npz (zip) archive ({exc}): {NPZ_HINT}") from None
        with archive:
            headers = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                try:
                    with archive.open(info) as member:
                        headers[name] = _read_npy_header(member, info)
                except DataProblem as exc:
                    raise DataProblem(f"array {name!r} {exc}") from None
                except _UNREADABLE as exc:
                    raise DataProblem(
                        f"array {name!r} cannot be read ({exc}): the file is damaged; " + NPZ_HINT
                    ) from None
    return headers


def _read_npy_header(member: Any, info: zipfile.ZipInfo) -> NpyHeader:
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise DataProblem(f"uses .npy format {version}, which this version cannot read")
    if dtype.hasobject:
        raise DataProblem(
            "holds Python objects, which need pickle to load (refused for safety): "
            "save numbers or text"
        )
    return NpyHeader(info.filename, tuple(shape), dtype, fortran, info.file_size)


def npz_arrays(headers: dict[str, NpyHeader]) -> tuple[NpyHeader, NpyHeader]:
    """The headers of ``x`` and ``y`` after every check that needs no data."""
    if "x" not in headers or "y" not in headers:
        raise DataProblem(
            f"needs arrays named 'x' and 'y', found {', '.join(headers) or 'none'}: {NPZ_HINT}"
        )
    x, y = headers["x"], headers["y"]
    for name, h in (("x", x), ("y", y)):
        if not h.shape:
            raise DataProblem(
                f"{name} is a single value (a 0-d array): save one entry per sample, "
                f"shape (samples, ...)"
            )
        if h.shape[0] == 0 or 0 in h.shape:
            raise DataProblem(f"{name} has shape {h.shape}, which holds no values: fill it")
        if h.stored_bytes < h.nbytes:
            raise DataProblem(
                f"the header of {name} claims shape {h.shape} ({_size_text(h.nbytes)}) but the "
                f"archive holds only {_size_text(h.stored_bytes)}: the file is damaged; "
                "save it again"
            )
    if x.shape[0] != y.shape[0]:
        raise DataProblem(
            f"x has {x.shape[0]} samples but y has {y.shape[0]}: give one label per sample"
        )
    if x.dtype.kind not in "biuf":
        raise DataProblem(f"x must be numeric, got {x.dtype}: save it as numbers (float32)")
    if y.dtype.kind not in "biufUS":
        raise DataProblem(f"y must hold numbers or text, got {y.dtype}")
    if len(y.shape) > 2:
        raise DataProblem(
            f"y has shape {y.shape}: give one label per sample, shape (samples,), "
            "or one-hot rows, shape (samples, classes)"
        )
    need = math.prod(x.shape) * 4 + y.nbytes
    budget = memory_bytes() // 2
    if need > budget:
        raise DataProblem(
            f"x of shape {x.shape} needs {_size_text(need)} as 32-bit floats, more than half "
            f"this computer's memory ({_size_text(budget * 2)}): use fewer or smaller samples"
        )
    return x, y


def read_npz_array(path: Path, header: NpyHeader) -> np.ndarray:
    """One array of the archive, read in chunks (``allow_pickle=False``)."""
    with zipfile.ZipFile(path) as archive, archive.open(header.member) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def npz_labels(y: np.ndarray, task: str | None) -> tuple[np.ndarray, list[str]]:
    """Class indices (or regression targets) of an NPZ ``y``; one-hot rows become indices."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(len(y))
    if y.ndim == 2:
        if task == "regression":
            raise DataProblem(
                f"y has shape {y.shape}; regression needs one number per sample, shape (samples,)"
            )
        indices = one_hot_indices(y)
        if len(np.unique(indices)) < 2:
            raise DataProblem(
                f"every sample of y is class {int(indices[0])}; a classifier needs at least "
                "two classes"
            )
        return indices, [str(k) for k in range(y.shape[1])]
    return classes_from_labels(y, task, lambda i: f"sample {i + 1} of y")


# ---------------------------------------------------------------- image folders


def image_options(dataset: DatasetSpec) -> tuple[int, int, int]:
    """(height, width, channels) an image folder is read at.

    ``size`` is one side (or ``[side]``) or ``[height, width]``, in the dataset registry's range (the rule
    project files are checked by); whole floats such as 32.0 pass too, as JSON may hold them.
    """
    size = dataset.option("size", DEFAULT_IMAGE_SIZE)
    channels = dataset.option("channels", DEFAULT_IMAGE_CHANNELS)
    spec = DATASET_OPTIONS["size"]
    sides = list(size) if isinstance(size, (list, tuple)) else [size]
    sides = sides * 2 if len(sides) == 1 else sides  # [64] is one side, as in the registry
    low, high = spec.minimum or 1, spec.maximum or math.inf
    if len(sides) != 2 or not all(_whole(s) and low <= s <= high for s in sides):
        raise DataProblem(
            f"the image size must be {spec.expected()} (height, width), not {size!r}: "
            "set the size option"
        )
    if not _whole(channels) or channels not in (1, 3):
        raise DataProblem(f"channels must be 1 (grey) or 3 (colour), not {channels!r}")
    return int(sides[0]), int(sides[1]), int(channels)


def _whole(value: Any) -> bool:
    """An int, or a float with a whole value (JSON may hold 32.0); never a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def image_folder_files(path: Path) -> list[tuple[str, list[Path]]]:
    """Each class folder's name with its image files, sorted; hidden entries are skipped.

    Only regular files count, so a FIFO named like an image is never opened.
    """
    check_folder(path)
    try:
        with os.scandir(path) as entries:
            classes = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError as exc:
        raise DataProblem(f"cannot be listed ({exc})") from None
    if len(classes) < 2:
        found = f"{len(classes)} ({classes[0]})" if classes else "0"
        raise DataProblem(
            "needs one sub-folder per class and at least two classes, found "
            f"{found}: put each class's images in a sub-folder of its own"
        )
    result = []
    for name in classes:
        try:
            with os.scandir(path / name) as entries:
                files = sorted(
                    Path(e.path)
                    for e in entries
                    if not e.name.startswith(".")
                    and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES
                    and e.is_file()
                )
        except OSError as exc:
            raise DataProblem(f"the class folder {name!r} cannot be listed ({exc})") from None
        if not files:
            raise DataProblem(
                f"the class folder {name!r} holds no images (.png, .jpg, .jpeg, .bmp, .gif): "
                "add images or remove the folder"
            )
        result.append((name, files))
    return result


# ---------------------------------------------------------------- CSV


def read_csv_header(path: Path) -> tuple[list[str], int]:
    """The header's stripped names and how many physical lines precede the data."""
    check_regular_file(path, "CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(_capped_lines(fh, path))
            for row in reader:
                if any(cell.strip() for cell in row):
                    if len(row) > MAX_COLUMNS:
                        raise DataProblem(
                            f"has {len(row):,} columns, more than the {MAX_COLUMNS:,} Dropout "
                            "Studio reads: is it one sample per line, with a header row?"
                        )
                    return [h.strip() for h in row], reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataProblem(f"cannot be read as CSV ({exc}): save it as UTF-8 CSV") from None
    raise DataProblem("needs a header row and at least two data rows")


def _capped_lines(fh: Any, path: Path) -> Iterator[str]:
    """Lines of a text file, refusing one longer than :data:`MAX_LINE_CHARS` before it is read
    whole (a 100 MB single-line file must not be parsed to learn it is not a table)."""
    while True:
        line = fh.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            raise DataProblem(
                f"has a line longer than {MAX_LINE_CHARS // 2**20} MB: is it a CSV file with one "
                "sample per line?"
            )
        yield line


def label_index(header: list[str], label_column: str | None) -> int:
    label = label_column or header[-1]
    if label not in header:
        raise DataProblem(f"no column named {label!r}; the columns are {', '.join(header)}")
    return header.index(label)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_rows(
    path: Path, skip: int, limit: int, quick: bool
) -> Generator[tuple[list[str], int, int], None, None]:
    """Non-blank data rows with the characters and physical lines read so far, to ``limit``.

    ``quick`` splits unquoted lines directly (several times faster than the csv module) and
    gives up with :class:`_NeedCsvModule` when a quoted field spans lines.
    """
    read = 0
    count = 0

    def lines(fh: Any) -> Iterator[str]:
        nonlocal read, count
        for line in fh:
            read += len(line)
            count += 1
            yield line

    with open(path, newline="", encoding="utf-8-sig") as fh:
        source = lines(fh)
        for _ in range(skip):
            next(source, None)
        if quick:
            for line in source:
                if '"' in line:
                    if line.count('"') % 2:
                        raise _NeedCsvModule
                    cells = next(csv.reader([line]))
                else:
                    cells = line.rstrip("\r\n").split(",")
                if any(c.strip() for c in cells):
                    yield cells, read, count
                if read > limit:
                    return
        else:
            for cells in csv.reader(source):
                if any(c.strip() for c in cells):
                    yield cells, read, count
                if read > limit:
                    return


class _NeedCsvModule(Exception):
    """A quoted field spans lines: the scan restarts with the csv module."""


def first_ragged_row(path: Path, skip: int, width: int) -> tuple[int, int] | None:
    """(row number, cells) of the first non-blank row whose length differs from the header's.

    For the loader's error path: pandas fills short rows silently, so when a file is known to
    be bad this scan tells a short row from an empty cell.
    """
    try:
        return _ragged(path, skip, width, quick=True)
    except _NeedCsvModule:
        return _ragged(path, skip, width, quick=False)


def _ragged(path: Path, skip: int, width: int, quick: bool) -> tuple[int, int] | None:
    for row, (cells, _, _) in enumerate(_csv_rows(path, skip, 2**62, quick), start=2):
        if len(cells) != width:
            return row, len(cells)
    return None


def _probe_csv(path: Path, label_column: str | None, task: str | None) -> DataProbe:
    size = check_regular_file(path, "CSV file")
    header, skip = read_csv_header(path)
    label = label_index(header, label_column)
    try:
        try:
            return _scan_csv(path, header, skip, label, task, size, quick=True)
        except _NeedCsvModule:
            return _scan_csv(path, header, skip, label, task, size, quick=False)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataProblem(f"cannot be read as CSV ({exc}): save it as UTF-8 CSV") from None


def _scan_csv(
    path: Path,
    header: list[str],
    skip: int,
    label: int,
    task: str | None,
    size: int,
    quick: bool,
) -> DataProbe:
    problems: list[str] = []
    width = len(header)
    numeric = [True] * width  # decided from the sample; text columns are one-hot encoded
    categories: list[set[str]] = [set() for _ in range(width)]
    first_row: dict[str, int] = {}
    counts: dict[str, int] = {}
    scan = _Scan(count=0, read=0, lines=skip)
    sample: list[list[str]] = []
    rows = _csv_rows(path, skip, SCAN_BYTES, quick)
    for cells, read, lines in rows:
        scan.count, scan.read, scan.lines = scan.count + 1, read, lines
        _check_width(cells, width, scan.count + 1)
        sample.append(cells)
        if scan.count == SAMPLE_ROWS:
            break
    _decide_columns(sample, header, label, numeric, categories, first_row, problems)
    for cells in sample:
        value = cells[label].strip()
        counts[value] = counts.get(value, 0) + 1
    text = [c for c in range(width) if not numeric[c] and c != label]
    if scan.count == SAMPLE_ROWS and scan.read <= SCAN_BYTES:
        if quick:
            rows.close()
            _scan_lines(path, scan, width, label, text, first_row, categories, counts)
        else:
            for cells, read, _ in rows:
                scan.count, scan.read = scan.count + 1, read
                _check_width(cells, width, scan.count + 1)
                value = cells[label].strip()
                first_row.setdefault(value, scan.count + 1)
                counts[value] = counts.get(value, 0) + 1
                for c in text:
                    categories[c].add(cells[c].strip())
    if scan.count < 2:
        raise DataProblem("needs a header row and at least two data rows")
    approximate = scan.read > SCAN_BYTES and size > scan.read
    samples = round(scan.count * size / max(scan.read, 1)) if approximate else scan.count
    features = sum(1 if numeric[c] else len(categories[c]) for c in range(width) if c != label)
    if features == 0:
        problems.append(f"only the label column {header[label]!r}; add feature columns")
    labels = sorted(first_row)
    locate = _row_locator([first_row[k] for k in labels], header[label])
    try:
        indices, names = classes_from_labels(np.asarray(labels, dtype=str), task, locate)
    except DataProblem as exc:
        problems.append(str(exc))
        return DataProbe(None, tuple(problems), samples, (), approximate)
    signature = DataSignature((features,), len(names)) if not problems else None
    per_class: tuple[int, ...] = ()
    if names:
        weights = np.asarray([counts.get(k, 0) for k in labels], dtype="float64")
        found = np.bincount(indices, weights=weights, minlength=len(names))
        per_class = tuple(int(v) for v in found)
    return DataProbe(signature, tuple(problems), samples, tuple(names), approximate, per_class)


@dataclass
class _Scan:
    count: int  # data rows so far
    read: int  # characters so far
    lines: int  # physical lines so far, header included


def _check_width(cells: list[str], width: int, row: int) -> None:
    if len(cells) != width:
        raise DataProblem(
            f"row {row} has {len(cells)} cells but the header has {width}: fix that row"
        )


def _scan_lines(
    path: Path,
    scan: _Scan,
    width: int,
    label: int,
    text: list[int],
    first_row: dict[str, int],
    categories: list[set[str]],
    counts: dict[str, int],
) -> None:
    """The rest of the file up to the cap, reading only the label and text columns.

    A line with the header's number of commas and no quote is split only as far as the last
    column needed; anything else goes the careful way.
    """
    commas = width - 1
    last_only = not text and label == width - 1
    upto = max([label, *text]) + 1
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for _ in range(scan.lines):
            fh.readline()
        for line in fh:
            scan.read += len(line)
            if '"' in line or line.count(",") != commas:
                if line.count('"') % 2:
                    raise _NeedCsvModule
                cells = next(csv.reader([line])) if '"' in line else line.split(",")
                cells[-1] = cells[-1].rstrip("\r\n")
                if not any(c.strip() for c in cells):
                    continue
                scan.count += 1
                _check_width(cells, width, scan.count + 1)
            elif last_only:
                value = line[line.rfind(",") + 1 :].strip()
                if not value and not line.strip(", \t\r\n"):
                    continue
                scan.count += 1
                first_row.setdefault(value, scan.count + 1)
                counts[value] = counts.get(value, 0) + 1
                cells = []
            else:
                cells = line.split(",", upto)
                if not cells[label].strip() and not line.strip(", \t\r\n"):
                    continue
                scan.count += 1
            if cells:
                value = cells[label].strip()
                first_row.setdefault(value, scan.count + 1)
                counts[value] = counts.get(value, 0) + 1
                for c in text:
                    categories[c].add(cells[c].strip())
            if scan.read > SCAN_BYTES:
                return


def _row_locator(rows: list[int], column: str) -> Callable[[int], str]:
    return lambda i: f"row {rows[i]}, column {column!r}"


def _decide_columns(
    sample: list[list[str]],
    header: list[str],
    label: int,
    numeric: list[bool],
    categories: list[set[str]],
    first_row: dict[str, int],
    problems: list[str],
) -> None:
    """Mark text columns and report the sample's bad cells, as the loader would."""
    for r, cells in enumerate(sample, start=2):
        first_row.setdefault(cells[label].strip(), r)
    for c, name in enumerate(header):
        if c == label:
            continue
        cells = [row[c].strip() for row in sample]
        numbers = [is_number(v) for v in cells]
        if not any(numbers) and all(cells):
            numeric[c] = False
            categories[c].update(cells)
            continue
        for r, (cell, ok) in enumerate(zip(cells, numbers), start=2):
            if not any(numbers) and cell:
                continue  # a text column with gaps: report the gap
            if not ok or cell.lower() in NAN_WORDS or not math.isfinite(float(cell)):
                what = "is empty" if not cell else f"holds {cell!r}, which is not a finite number"
                problems.append(f"row {r}, column {name!r} {what}: fix the cell or remove the row")
                break
            if abs(float(cell)) > FLOAT32_MAX:
                problems.append(
                    f"row {r}, column {name!r} holds {cell!r}, which is too large for 32-bit "
                    f"floats (at most {FLOAT32_MAX:.3g}): rescale the column or remove the row"
                )
                break


# ---------------------------------------------------------------- probe


def probe_file_dataset(
    dataset: DatasetSpec, project_file: str | os.PathLike[str] | None = None
) -> DataProbe:
    """Shape, class count and problems of a CSV, NPZ or image-folder dataset, read cheaply.

    Never raises for a bad path or file: every problem is a sentence in ``problems``, each
    starting with the path. Other sources, and a file source without a path (which
    ``dataset_problems`` reports), give no signature and no problems. Results are cached by the
    file's size and modification time, so calling this on every edit costs a ``stat``.
    """
    if dataset.source not in ("csv", "npz", "images") or not dataset.path:
        return DataProbe(None, ())
    task = dataset.option("task")
    try:
        path = resolve_path(project_file, str(dataset.path))
    except (OSError, ValueError, RuntimeError) as exc:
        return DataProbe(None, (f"{dataset.path}: not a usable path ({exc}): choose another",))
    if dataset.source == "images":
        try:
            options = image_options(dataset)
        except DataProblem as exc:
            return DataProbe(None, (f"{path}: {exc}",))
        key = _folder_key(path)
        if key is None:
            return _probe("images", path, None, None, options)
        return _probe_cached("images", str(path), key, None, None, options)
    try:
        st = path.stat()
    except (OSError, ValueError):
        return _probe(dataset.source, path, dataset.label_column, task, ())
    if not isinstance(task, (str, type(None))) or not isinstance(
        dataset.label_column, (str, type(None))
    ):
        return _probe(dataset.source, path, dataset.label_column, task, ())
    key = (st.st_size, st.st_mtime_ns, st.st_ino)
    return _probe_cached(dataset.source, str(path), key, dataset.label_column, task)


@functools.lru_cache(maxsize=32)
def _probe_cached(
    source: str,
    path: str,
    key: tuple[Any, ...],
    label_column: str | None,
    task: str | None,
    options: tuple[int, ...] = (),
) -> DataProbe:
    """Probed again only when the file (or a class folder) changes size, time or inode."""
    del key  # part of the cache key only
    return _probe(source, Path(path), label_column, task, options)


def _folder_key(path: Path) -> tuple[Any, ...] | None:
    """The modification times of a folder and its sub-folders: adding or removing an image
    changes its class folder's time. ``None`` when the folder cannot be listed."""
    try:
        st = path.stat()
        if not stat.S_ISDIR(st.st_mode):
            return None
        with os.scandir(path) as entries:
            subs = sorted((e.name, e.stat().st_mtime_ns, e.inode()) for e in entries if e.is_dir())
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_ino, tuple(subs))


def _probe(
    source: str, path: Path, label_column: Any, task: Any, options: tuple[Any, ...]
) -> DataProbe:
    if not isinstance(label_column, (str, type(None))):
        label_column = str(label_column)
    if task not in (None, "classification", "regression"):
        task = None
    try:
        if source == "csv":
            found = _probe_csv(path, label_column, task)
            return replace(found, problems=tuple(f"{path}: {p}" for p in found.problems))
        if source == "npz":
            return _probe_npz(path, task)
        return _probe_images(path, options)
    except DataProblem as exc:
        return DataProbe(None, (f"{path}: {exc}",))
    except _UNREADABLE as exc:
        return DataProbe(None, (f"{path}: cannot be read ({exc}): check the file",))
    except MemoryError:
        return DataProbe(None, (f"{path}: too large to inspect: use a smaller file",))


def _probe_npz(path: Path, task: str | None) -> DataProbe:
    x, y = npz_arrays(read_npz_headers(path))
    shape = x.shape[1:] or (1,)
    if y.nbytes > SMALL_LABELS:  # too large to read for a check: say what the header tells
        if task == "regression":
            return DataProbe(DataSignature(shape, 0), (), x.shape[0])
        if len(y.shape) == 2 and y.shape[1] > 1:  # one-hot rows (the loader checks them)
            return DataProbe(DataSignature(shape, y.shape[1]), (), x.shape[0])
        return DataProbe(None, (), x.shape[0], (), True)
    indices, names = npz_labels(read_npz_array(path, y), task)
    counts = tuple(int(v) for v in np.bincount(indices, minlength=len(names))) if names else ()
    return DataProbe(DataSignature(shape, len(names)), (), x.shape[0], tuple(names), False, counts)


def _probe_images(path: Path, options: tuple[Any, ...]) -> DataProbe:
    height, width, channels = options
    classes = image_folder_files(path)
    samples = sum(len(files) for _, files in classes)
    signature = DataSignature((height, width, channels), len(classes))
    names = tuple(name for name, _ in classes)
    counts = tuple(len(files) for _, files in classes)
    return DataProbe(signature, (), samples, names, False, counts)
