"""Image sets kept compact: uint8 pixels in memory, or only file paths, read a batch at a time.

A model sees floats: ``pixels / divide_by``, then ``(x - mean) / std`` when the set is
standardized (:class:`Scaling`). The image parts of a :class:`~dropout_studio.engine.data.Dataset`
keep their pixels as uint8 (a quarter of float32's memory) or, when the set is larger than the
memory budget, only their paths; the training loops convert one batch at a time inside the
compiled step. Everyone else indexes them like float32 arrays: ``images[i:j]`` returns the scaled
floats of those samples, so previews, evaluation and analysis need not know.

numpy only at import time (TensorFlow is imported by the callers that stream).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MEMORY_BUDGET_ENV = "DROPOUT_STUDIO_MEMORY_BUDGET"  # in MB; unset: a quarter of the RAM
# Floats one evaluation chunk may hold (per chunk, before the model's own activations).
EVAL_CHUNK_BYTES = 32 * 2**20
EVAL_CHUNK_MAX = 4096  # samples: the compiled loop's chunk for every other kind of data

Decode = Callable[[Path, int, int, int], np.ndarray]


def default_memory_budget() -> int:
    """Bytes an in-memory image set may take: ``$DROPOUT_STUDIO_MEMORY_BUDGET`` (MB) when set,
    else a quarter of this machine's RAM."""
    value = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if value:
        try:
            return max(0, int(float(value) * 2**20))
        except ValueError:
            pass  # an unreadable setting: the default, as if it were unset
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return 4 * 2**30


def aligned_empty(shape: tuple[int, ...], align: int = 64) -> np.ndarray:
    """An uninitialized uint8 array whose data starts on an ``align``-byte boundary: TensorFlow
    can then use it as a tensor without copying it (see ``train.stored_tensor``)."""
    n = int(np.prod(shape, dtype=np.int64))
    buffer = np.empty(n + align, dtype="uint8")
    offset = (-buffer.ctypes.data) % align
    return buffer[offset : offset + n].reshape(shape)


def megabytes(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def eval_chunk(sample_shape: tuple[int, ...]) -> int:
    """Samples per evaluation pass: at most 4,096, and at most ~32 MB of floats."""
    floats = 4 * int(np.prod(sample_shape, dtype=np.int64))
    return max(1, min(EVAL_CHUNK_MAX, EVAL_CHUNK_BYTES // max(1, floats)))


@dataclass(frozen=True, eq=False)
class Scaling:
    """How stored pixels become the floats a model sees, in the order the split always used:
    float32, divided by ``divide_by``, then ``mean`` subtracted and divided by ``std``."""

    divide_by: float | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def numpy(self, raw: np.ndarray) -> np.ndarray:
        out = raw.astype("float32")
        if self.divide_by:
            out /= self.divide_by
        if self.mean is not None and self.std is not None:
            out -= self.mean
            out /= self.std
        return out


class ImageArray:
    """Images that read as float32 but are stored as uint8 (subclasses say where).

    Supports what the app does with a part of a dataset: ``len``, ``shape``, ``ndim``,
    ``dtype``, indexing (an index, a slice, an index or boolean array, then any further axes)
    and ``numpy.asarray`` (every sample as floats: costs the float32 memory, so index first).
    """

    dtype = np.dtype("float32")
    streamed = False

    def __init__(self, count: int, sample_shape: tuple[int, ...], scaling: Scaling) -> None:
        self.count, self.sample_shape, self.scaling = count, tuple(sample_shape), scaling

    def raw(self, index: np.ndarray) -> np.ndarray:
        """The stored uint8 pixels of the samples at ``index`` (an int array)."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.count, *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def raw_nbytes(self) -> int:
        """Bytes of the decoded uint8 pixels."""
        return self.count * int(np.prod(self.sample_shape, dtype=np.int64))

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape})"

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple[Any, ...] = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        if isinstance(key, int | np.integer):
            i = operator.index(key)
            if not -self.count <= i < self.count:
                raise IndexError(f"index {i} is out of range for {self.count} samples")
            out = self.scaling.numpy(self.raw(np.array([i % self.count])))[0]
        else:
            out = self.scaling.numpy(self.raw(np.arange(self.count)[key]))
        return out[rest] if rest else out

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.count):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def astype(self, dtype: Any, copy: bool = True) -> np.ndarray:
        return self[:].astype(dtype, copy=False)

    # Whole-part reductions read every sample as floats (the memory of the float32 part).
    def min(self, *args: Any, **kwargs: Any) -> Any:
        return self[:].min(*args, **kwargs)

    def max(self, *args: Any, **kwargs: Any) -> Any:
        return self[:].max(*args, **kwargs)

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        return self[:].mean(*args, **kwargs)

    def std(self, *args: Any, **kwargs: Any) -> Any:
        return self[:].std(*args, **kwargs)

    def reshape(self, *shape: Any) -> np.ndarray:
        return self[:].reshape(*shape)

    def batches(self, index: np.ndarray, size: int) -> Iterator[np.ndarray]:
        """Raw uint8 batches of the samples at ``index``, ``size`` at a time."""
        for start in range(0, len(index), size):
            yield self.raw(index[start : start + size])


class PixelArray(ImageArray):
    """Decoded images held in memory as uint8."""

    def __init__(self, pixels: np.ndarray, scaling: Scaling) -> None:
        super().__init__(len(pixels), pixels.shape[1:], scaling)
        self.pixels = pixels

    def raw(self, index: np.ndarray) -> np.ndarray:
        return self.pixels[index]


class ImageFiles(ImageArray):
    """Images left on disk and decoded when read (a set larger than the memory budget)."""

    streamed = True

    def __init__(
        self,
        files: np.ndarray,
        sample_shape: tuple[int, int, int],
        scaling: Scaling,
        decode: Decode,
    ) -> None:
        super().__init__(len(files), sample_shape, scaling)
        self.files, self.decode = files, decode

    def raw(self, index: np.ndarray) -> np.ndarray:
        height, width, channels = self.sample_shape
        out = np.empty((len(index), height, width, channels), dtype="uint8")
        for j, i in enumerate(index):
            out[j] = self.decode(Path(self.files[i]), height, width, channels)
        return out


def stream(
    images: ImageArray, y: np.ndarray, order: np.ndarray, size: int, parallel: int = 2
) -> Any:
    """A ``tf.data`` pipeline of (uint8 batch, labels) in ``order``, ``size`` at a time, decoded
    on ``parallel`` threads with batches read ahead; the order is kept."""
    import tensorflow as tf

    y_dtype = tf.as_dtype(y.dtype)

    def load(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return images.raw(index), y[index]

    def mapped(index: Any) -> tuple[Any, Any]:
        xb, yb = tf.numpy_function(load, [index], (tf.uint8, y_dtype), stateful=False)
        xb.set_shape((None, *images.sample_shape))
        yb.set_shape((None, *y.shape[1:]))
        return xb, yb

    order = np.asarray(order, dtype="int64")
    batches = tf.data.Dataset.from_tensor_slices(order).batch(size)
    return batches.map(mapped, num_parallel_calls=parallel, deterministic=True).prefetch(2)


def image_mean_std(
    images: ImageArray,
    divide_by: float | None,
    exact_below: int,
    block: int = 2048,
    on_block: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation of ``images / divide_by``, a block at a time.

    Sets whose floats take at most ``exact_below`` bytes are converted whole, so their numbers
    are numpy's own, bit for bit as before images were kept compact; larger ones are summed
    in float64 (sum and sum of squares: pixels are bounded, so the subtraction is safe).
    ``on_block(samples read)`` follows the pass (and may raise to end it).
    """
    scaling = Scaling(divide_by)
    if 4 * images.raw_nbytes <= exact_below:
        floats = scaling.numpy(images.raw(np.arange(len(images))))
        return floats.mean(axis=0), floats.std(axis=0)
    total = np.zeros(images.sample_shape, dtype="float64")
    squares = np.zeros(images.sample_shape, dtype="float64")
    done = 0
    for raw in images.batches(np.arange(len(images)), block):
        floats = scaling.numpy(raw).astype("float64")
        total += floats.sum(axis=0)
        squares += np.einsum("i...,i...->...", floats, floats)
        done += len(raw)
        if on_block is not None:
            on_block(done)
    mean = total / len(images)
    var = np.maximum(squares / len(images) - mean**2, 0.0)
    return mean.astype("float32"), np.sqrt(var).astype("float32")
