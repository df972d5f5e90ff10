"""Backend and device set-up, done once per process and before any GPU is touched."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import sys
from collections.abc import Iterator

import keras
import numpy as np


class DeviceError(ValueError):
    """The project asks for a device this machine does not have; the message lists those it has."""


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
        enable_jax_compilation_cache()
        names += [f"gpu:{i}" for i in range(len(_jax_gpus()))]
    elif keras.backend.backend() == "torch":
        import torch

        names += [f"gpu:{i}" for i in range(torch.cuda.device_count())]
    return names


def jax_cache_folder() -> str | None:
    """Where compiled JAX programs are kept between runs; None when switched off.

    ``DROPOUT_STUDIO_JAX_CACHE``: a folder, or ``off``. Default: the user's cache folder.
    """
    setting = os.environ.get("DROPOUT_STUDIO_JAX_CACHE", "").strip()
    if setting.lower() in ("0", "off", "no", "false"):
        return None
    if setting:
        return setting
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dropout-studio", "jax")


def enable_jax_compilation_cache() -> None:
    """Keep compiled XLA programs on disk, so a project trains again without recompiling.

    On the 30-sample task here, a run whose programs were cached reached its first epoch in
    about 1 s instead of 8 s (compiling the training loop, and the many small programs JAX
    compiles while Keras builds the model). A cache folder set through JAX's own
    ``JAX_COMPILATION_CACHE_DIR`` wins.
    """
    import jax

    folder = jax_cache_folder()
    if folder is None or getattr(jax.config, "jax_compilation_cache_dir", None):
        return
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _jax_gpus() -> list[object]:
    import jax

    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib
        return []


def normalize_device(device: str) -> str:
    """``"GPU"`` → ``"gpu:0"``, ``"cpu:0"`` → ``"cpu"``; ``""`` → ``"auto"``."""
    name = (device or "auto").strip().lower()
    if name == "gpu":
        return "gpu:0"
    if name.startswith("cpu"):
        return "cpu"
    return name


def check_device(device: str) -> str:
    """The normalized name of ``device``; raises :class:`DeviceError` when it is not here.

    Checked before any model is built, so a project naming another machine's GPU fails with a
    message instead of a backend traceback halfway through.
    """
    name = normalize_device(device)
    available = configure_devices()
    if name != "auto" and name not in available:
        raise DeviceError(
            f"device {device!r} is not available; this machine has {', '.join(available)} "
            "(choose one of those, or auto)"
        )
    return name


@contextlib.contextmanager
def on_device(device: str) -> Iterator[None]:
    """Run the enclosed work on ``device`` (``auto`` lets the backend choose: GPU when seen)."""
    name = check_device(device)
    if name == "auto":
        yield
        return
    kind, _, index = name.partition(":")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.device(f"/{kind.upper()}:{index or 0}"):
            yield
    elif backend == "jax":
        import jax

        target = jax.devices("cpu")[0] if kind == "cpu" else _jax_gpus()[int(index or 0)]
        with jax.default_device(target):
            yield
    else:  # torch: Keras places tensors on its own default device
        yield


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed`` without importing TensorFlow on the JAX/torch backends.

    Keras' own function imports TensorFlow whenever it is installed, to seed ``tf.data``; on
    the JAX backend that import cost 2.8 s of the first run's build here, for nothing.
    """
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator

    global_state.set_global_attribute("global_random_seed", seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)


def versions() -> dict[str, str]:
    info = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    elif keras.backend.backend() == "jax":
        import jax

        info["jax"] = jax.__version__
    return info
