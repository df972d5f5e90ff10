"""Backend and device set-up, done once per process and before any GPU is touched."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import keras


@functools.cache
def configure_devices() -> list[str]:
    """Turn on memory growth (a desktop app must not grab the whole card) and list devices.

    Returns names such as ``"cpu"``, ``"gpu:0"``, in the order the backend reports them.
    """
    names = ["cpu"]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        for i, gpu in enumerate(tf.config.list_physical_devices("GPU")):
            with contextlib.suppress(RuntimeError):  # already initialised: growth is fixed
                tf.config.experimental.set_memory_growth(gpu, True)
            names.append(f"gpu:{i}")
    elif keras.backend.backend() == "jax":
        import jax

        names += [f"gpu:{i}" for i, _ in enumerate(jax.devices("gpu"))] if _has_jax_gpu() else []
    return names


def _has_jax_gpu() -> bool:
    import jax

    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


@contextlib.contextmanager
def on_device(device: str) -> Iterator[None]:
    """Run the enclosed work on ``device`` (``auto`` lets the backend choose: GPU when seen)."""
    available = configure_devices()
    if device in ("auto", "") or keras.backend.backend() != "tensorflow":
        yield
        return
    if device not in available:
        raise ValueError(
            f"device {device!r} is not available; this machine has {', '.join(available)}"
        )
    import tensorflow as tf

    kind, _, index = device.partition(":")
    with tf.device(f"/{kind.upper()}:{index or 0}"):
        yield


def versions() -> dict[str, str]:
    info = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return info
