"""MNIST, Fashion-MNIST and CIFAR-10, the way ``keras.datasets`` caches them.

The files live where ``keras.datasets.*.load_data()`` puts them: ``$KERAS_HOME/datasets`` or
``~/.keras/datasets`` (``/tmp/.keras/datasets`` when the home folder is read-only). A cached set
is read here directly, without importing TensorFlow and without any network access: Keras'
own loaders would hash MNIST on every call and re-download it on a mismatch, and extract the
whole CIFAR-10 archive again on every call.

A set that is not cached is downloaded once from the URLs ``keras.datasets`` uses, with a short
socket timeout, progress reports and a stop flag; ``keras.utils.get_file`` then checks the file
(the SHA-256 Keras pins) and extracts it exactly as Keras would, so later runs and plain Keras
both find it. Without a network the result is one :class:`~dropout_studio.engine.data.DataError`
line that suggests a set shipped with scikit-learn.

Everything is returned compact: uint8 pixels, channels last, train and test of Keras together
as one pool (the project's own split divides it and scales to 0..1 after indexing).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import math
import os
import pickle
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dropout_studio.core.datasets import KERAS_DATASETS, SHIPPED

Progress = Callable[[int, int], None]
"""``on_progress(done_bytes, total_bytes)``, called from the downloading thread."""

DOWNLOAD_TIMEOUT_S = 10.0  # per connect and per read: offline fails within this
CHUNK = 1 << 16
PROGRESS_INTERVAL_S = 0.1  # on_progress is called at most this often (plus once at the end)
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
CIFAR10_BATCHES = (
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
    "test_batch",
)
# Keras 3 extracts into ``cifar-10-batches-py-target/``; tf.keras 2 extracted beside the archive.
CIFAR10_FOLDERS = ("cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py")


class KerasDataError(ValueError):
    """Raised here; :mod:`dropout_studio.engine.data` turns it into its ``DataError``."""


class DownloadStopped(KerasDataError):
    """The stop flag was set during a download; the partial file is gone."""


@dataclass(frozen=True)
class Download:
    """One ``keras.utils.get_file`` call of a ``keras.datasets`` loader, and where it lands."""

    fname: str
    origin: str
    size: int  # bytes, for progress when the server sends no length
    sha256: str | None = None
    cache_subdir: str = "datasets"
    extract: bool = False

    @property
    def target(self) -> str:
        """The file get_file downloads to, relative to the Keras home."""
        name = f"{self.fname}_archive" if self.extract else self.fname
        return f"{self.cache_subdir}/{name}"


DOWNLOADS: dict[str, tuple[Download, ...]] = {
    "mnist": (
        Download(
            "mnist.npz",
            KERAS_ORIGIN + "mnist.npz",
            11_490_434,
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        ),
    ),
    "fashion_mnist": tuple(
        Download(f, KERAS_ORIGIN + f, size, cache_subdir="datasets/fashion-mnist")
        for f, size in zip(FASHION_FILES, (29_515, 26_421_880, 5_148, 4_422_102), strict=True)
    ),
    "cifar10": (
        Download(
            "cifar-10-batches-py-target",
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            170_498_071,
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            extract=True,
        ),
    ),
}


# ---------------------------------------------------------------- where the cache is


def keras_home() -> Path:
    """The Keras cache folder as Keras resolves it, read from the environment now.

    (Keras itself reads ``KERAS_HOME`` once, when it is imported.)
    """
    configured = os.environ.get("KERAS_HOME")
    if configured:
        return Path(configured).expanduser()
    home = Path("~").expanduser()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def _can_write(path: Path) -> bool:
    """Whether ``path`` is (or could be created as) a writable folder."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return os.access(path, os.W_OK)


def _writable_home() -> Path:
    """Where get_file writes: the Keras home when writable, else ``/tmp/.keras``."""
    home = keras_home()
    return home if _can_write(home) else Path("/tmp/.keras")


def _homes() -> list[Path]:
    """Where cached files may be: the Keras home, and get_file's fallback when it is read-only."""
    home, writable = keras_home(), _writable_home()
    return [home] if writable == home else [home, writable]


def shown_path(path: Path) -> str:
    """``path`` with the home folder written as ``~``."""
    try:
        return "~/" + path.relative_to(Path("~").expanduser()).as_posix()
    except ValueError:
        return str(path)


def _main_file(name: str) -> str:
    """The file (or folder) that messages name, relative to the Keras home."""
    if name == "fashion_mnist":
        return "datasets/fashion-mnist/"
    if name == "cifar10":
        return f"datasets/{CIFAR10_FOLDERS[0]}/"
    return DOWNLOADS[name][0].target


def cache_path(name: str) -> Path:
    """Where ``name`` is (or would be) cached, for messages and the GUI."""
    _check_name(name)
    for home in _homes():
        files = _cached_files(name, home)
        if files is not None:
            return files[0] if name == "mnist" else files[0].parent
    return keras_home() / _main_file(name)


def _cached_files(name: str, home: Path) -> list[Path] | None:
    """The files to read ``name`` from under ``home``, or ``None`` when any is missing."""
    datasets = home / "datasets"
    if name == "mnist":
        files = [datasets / "mnist.npz"]
    elif name == "fashion_mnist":
        files = [datasets / "fashion-mnist" / f for f in FASHION_FILES]
    else:
        for folder in CIFAR10_FOLDERS:
            files = [datasets / folder / b for b in CIFAR10_BATCHES]
            if all(f.is_file() for f in files):
                return files
        return None
    return files if all(f.is_file() for f in files) else None


def is_cached(name: str) -> bool:
    """Whether ``name`` loads without a download (no network, no TensorFlow needed)."""
    _check_name(name)
    return any(_cached_files(name, home) is not None for home in _homes())


def _check_name(name: str) -> None:
    if name not in KERAS_DATASETS:
        raise KerasDataError(
            f"there is no Keras dataset {name!r}; choose one of {', '.join(KERAS_DATASETS)}"
        )


# ---------------------------------------------------------------- loading


def load(
    name: str, on_progress: Progress | None = None, stop: threading.Event | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pixels (uint8, N×H×W×C), labels (uint8) and class names: Keras' train + test as one pool.

    Reads the Keras cache; downloads once when the set is not there.
    """
    _check_name(name)
    files = next((f for h in _homes() if (f := _cached_files(name, h)) is not None), None)
    if files is None:
        download(name, on_progress, stop)
        files = _cached_files(name, _writable_home())
        if files is None:  # get_file put it somewhere else: say where it looked
            raise KerasDataError(
                f"{KERAS_DATASETS[name][0]} was downloaded but its files are not in "
                f"{shown_path(_writable_home() / 'datasets')}: delete that folder and try again"
            )
    try:
        if name == "mnist":
            return (*_read_mnist(files[0]), MNIST_CLASSES)
        if name == "fashion_mnist":
            return (*_read_fashion(files), FASHION_CLASSES)
        return (*_read_cifar10(files), CIFAR10_CLASSES)
    except MemoryError:
        raise KerasDataError(
            f"{KERAS_DATASETS[name][0]} does not fit in memory: close other programs"
        ) from None
    except KerasDataError:
        raise
    except Exception as exc:  # zip, gzip, pickle and numpy raise many kinds for a damaged file
        where = files[0].parent if len(files) > 1 else files[0]
        raise KerasDataError(
            f"{shown_path(where)}: damaged ({type(exc).__name__}: {exc}): delete it and "
            f"{KERAS_DATASETS[name][0]} will be downloaded again"
        ) from None


def _check(ok: bool, path: Path, what: str) -> None:
    if not ok:
        raise KerasDataError(
            f"{shown_path(path)}: damaged ({what}): delete it and it will be downloaded again"
        )


def _labels(y: np.ndarray, path: Path) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    _check(y.size == 0 or int(y.max()) < 10, path, "labels outside 0-9")
    return y.astype("uint8")


def _pool(train: np.ndarray, test: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    x = np.empty((len(train) + len(test), *shape), dtype="uint8")
    x[: len(train)] = train.reshape(len(train), *shape)
    x[len(train) :] = test.reshape(len(test), *shape)
    return x


def _read_mnist(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        _check(not missing, path, f"no {', '.join(sorted(missing))}")
        x_train, y_train, x_test, y_test = (
            f[k] for k in ("x_train", "y_train", "x_test", "y_test")
        )
    for x, y in ((x_train, y_train), (x_test, y_test)):
        _check(
            x.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) == len(y),
            path,
            f"images of shape {x.shape} {x.dtype} for {len(y)} labels",
        )
    y = np.concatenate([_labels(y_train, path), _labels(y_test, path)])
    return _pool(x_train, x_test, (28, 28, 1)), y


def _read_idx(path: Path, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """One gzipped IDX file (the MNIST format): a big-endian header, then uint8 values."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = 8 if magic == 2049 else 16
    _check(len(data) >= header, path, "too short")
    words = np.frombuffer(data[:header], dtype=">u4")
    _check(int(words[0]) == magic, path, f"IDX magic {int(words[0])}, expected {magic}")
    count = int(words[1])
    _check(len(data) == header + count * int(np.prod(shape)), path, "truncated")
    return np.frombuffer(data, np.uint8, offset=header).reshape(count, *shape)


def _read_fashion(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    y_train = _read_idx(files[0], 2049, ())
    x_train = _read_idx(files[1], 2051, (28, 28))
    y_test = _read_idx(files[2], 2049, ())
    x_test = _read_idx(files[3], 2051, (28, 28))
    _check(len(x_train) == len(y_train), files[1], "image and label counts differ")
    _check(len(x_test) == len(y_test), files[3], "image and label counts differ")
    y = np.concatenate([_labels(y_train, files[0]), _labels(y_test, files[2])])
    return _pool(x_train, x_test, (28, 28, 1)), y


# The only globals a CIFAR batch (a pickled dict of a numpy array and lists) may name.
_NUMPY_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }
)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers; refuses every other global (no code runs)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    _check(isinstance(batch, dict), path, "not a CIFAR batch")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    _check("data" in batch and "labels" in batch, path, "no data or labels")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    _check(
        data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3 * 32 * 32,
        path,
        f"data of shape {data.shape} {data.dtype}",
    )
    _check(len(data) == len(labels), path, "image and label counts differ")
    # Stored as 3 planes of 32×32 (channels first): channels last, like Keras' default.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), _labels(labels, path)


def _read_cifar10(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    batches = [_read_cifar_batch(f) for f in files]
    x = np.empty((sum(len(b[0]) for b in batches), 32, 32, 3), dtype="uint8")
    start = 0
    for images, _ in batches:
        x[start : start + len(images)] = images
        start += len(images)
    return x, np.concatenate([labels for _, labels in batches])


# ---------------------------------------------------------------- downloading


def download(
    name: str, on_progress: Progress | None = None, stop: threading.Event | None = None
) -> None:
    """Fetch ``name`` into the Keras cache once: our transfer (timeout, progress, stop), then
    ``keras.utils.get_file`` to check the hash and extract, exactly as ``keras.datasets`` does.

    Files already there are not fetched again. Every failure is one :class:`KerasDataError`.
    """
    _check_name(name)
    title = KERAS_DATASETS[name][0]
    home = _writable_home()
    items = DOWNLOADS[name]
    total = sum(item.size for item in items)
    done = 0
    for item in items:
        target = home / item.target
        if not target.is_file():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                _fetch(item, target, _offset(on_progress, done, total), stop)
            except KerasDataError:
                raise
            except (OSError, ValueError, http.client.HTTPException) as exc:
                raise KerasDataError(
                    f"{title} is not in the Keras cache ({shown_path(home / _main_file(name))}) "
                    f"and cannot be downloaded ({_reason(exc, item.origin)}): connect once, "
                    f"or choose a shipped set such as {SHIPPED[0]}"
                ) from None
            if item.sha256 and _sha256(target) != item.sha256:
                target.unlink(missing_ok=True)
                raise KerasDataError(
                    f"the download of {title} from {_host(item.origin)} was damaged (its "
                    "checksum does not match the one Keras pins): try again"
                )
        done += item.size
    if on_progress is not None:
        on_progress(total, total)
    _keras_get_files(name, home)


def _offset(on_progress: Progress | None, before: int, total: int) -> Progress | None:
    """Progress of one file as progress of the whole set, at most every
    ``PROGRESS_INTERVAL_S`` (the last report of the set comes from :func:`download`)."""
    if on_progress is None:
        return None
    callback = on_progress
    last = -math.inf

    def report(done: int, _size: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL_S:
            last = now
            callback(min(before + done, total), total)

    return report


def _fetch(
    item: Download,
    target: Path,
    on_progress: Progress | None,
    stop: threading.Event | None,
) -> None:
    """Stream ``item.origin`` to ``target`` (through ``target.part``, renamed when complete)."""
    # One partial file per thread: a preview and a run may fetch the same set at once.
    part = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        with (
            urllib.request.urlopen(item.origin, timeout=DOWNLOAD_TIMEOUT_S) as response,
            open(part, "wb") as out,
        ):
            size = int(response.headers.get("Content-Length") or item.size)
            done = 0
            while chunk := response.read(CHUNK):
                if stop is not None and stop.is_set():
                    raise DownloadStopped(f"the download of {item.fname} was stopped")
                out.write(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, size)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)


def _keras_get_files(name: str, home: Path) -> None:
    """Let Keras check and lay out what was fetched (no network: every file is in place)."""
    from keras.utils import get_file

    for item in DOWNLOADS[name]:
        try:
            get_file(
                fname=item.fname,
                origin=item.origin,
                file_hash=item.sha256,
                cache_subdir=item.cache_subdir,
                extract=item.extract,
                cache_dir=str(home),
            )
        except Exception as exc:  # tarfile, zipfile and OSError: a damaged or partial archive
            (home / item.target).unlink(missing_ok=True)
            raise KerasDataError(
                f"Keras could not unpack {KERAS_DATASETS[name][0]} in "
                f"{shown_path(home / 'datasets')} ({exc}): try again"
            ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or url


def _reason(exc: BaseException, url: str) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"{_host(url)} answered HTTP {exc.code}"
    inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(inner, TimeoutError):
        return f"no answer from {_host(url)} within {DOWNLOAD_TIMEOUT_S:g} s"
    if isinstance(inner, (socket.gaierror, ConnectionError)) or (
        isinstance(inner, OSError) and inner.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)
    ):
        return "no network"
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    return str(inner) or type(inner).__name__
