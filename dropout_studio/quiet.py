"""Keep TensorFlow's start-up noise off the user's terminal.

TensorFlow 2.16+ logs through absl before absl's logging is initialised, so its start-up lines go
straight to file descriptor 2 and ``TF_CPP_MIN_LOG_LEVEL`` does not reach them (upstream:
tensorflow/tensorflow#102212, abseil/abseil-cpp#1718). On a CPU machine every import prints, twice
(two shared libraries each carry absl):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, ...

and the first device query adds ``E0000 ... failed call to cuInit: ... UNKNOWN ERROR (303)``.

:func:`quiet_tensorflow` installs a one-shot import hook: while ``tensorflow`` imports and its
devices are first listed, file descriptor 2 goes through :func:`filtered_stderr`, which drops only
those lines (absl INFO/WARNING lines, the InitializeLog notice, and the harmless "no GPU" errors)
and passes every other byte through unchanged: Python tracebacks, warnings and our own messages
still show. Outside that window nothing is filtered. No TensorFlow import happens here.

The same hook keeps the imports of Keras and TensorFlow lean: while they run (in the importing
thread only), the optional packages they merely probe for are reported missing
(:data:`KERAS_PROBES`, :data:`TENSORFLOW_PROBES`). Keras and TensorFlow guard each of those
imports, and nothing of ours uses what they would enable (Keras' scikit-learn wrappers, its
matplotlib image gallery, DataFrame inputs to ``fit``, TFLite's JAX converter). That took
``import tensorflow`` from 4.4 s to 2.7 s on a 2-core machine, the largest share of the time
from launch to the first epoch. Whoever needs one of them later imports it as usual: a refused
import leaves nothing behind in ``sys.modules``.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from types import ModuleType

# absl's format ("I0000 00:00:1795800613.734091    4651 port.cc:153] ...") and the older
# TensorFlow one ("2024-05-01 10:00:00.123456: I tensorflow/core/...cc:42] ...").
_ABSL = r"[{levels}]\d{{4}} [\d:.]+\s+\d+ [\w.\-/]+:\d+\] "
_OLD_TF = r"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [{levels}] \S+:\d+\] "
_INFO_WARNING = re.compile("^(?:" + "|".join(p.format(levels="IW") for p in (_ABSL, _OLD_TF)) + ")")
_ERROR = re.compile("^(?:" + "|".join(p.format(levels="E") for p in (_ABSL, _OLD_TF)) + ")")
# Errors that only mean "this machine has no (usable) NVIDIA GPU": TensorFlow runs on the CPU.
_HARMLESS_ERRORS = re.compile(
    r"failed call to cuInit|Unable to register cu(?:DNN|FFT|BLAS) factory|"
    r"could not open file to read NUMA node"
)
# tf2onnx itself, and Keras' shim around it (whose `hasattr(np, "object")` warns on numpy 2).
_TF2ONNX_MODULES = r"(?:tf2onnx|keras\.src\.export\.tf2onnx_lib)(?:\.|$)"
_NOTICES = (b"WARNING: All log messages before absl::InitializeLog() is called are written to",)


def is_tensorflow_noise(line: bytes | str) -> bool:
    """True for a start-up line of TensorFlow's C++ logging that a user need not see."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    if text.encode("utf-8", "replace").startswith(_NOTICES):
        return True
    if _INFO_WARNING.match(text):
        return True
    return bool(_ERROR.match(text) and _HARMLESS_ERRORS.search(text))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError:  # the terminal went away: nothing more to show
            return
        view = view[written:]


def _pump(read_fd: int, out_fd: int) -> None:
    """Copy ``read_fd`` to ``out_fd`` line by line, leaving out TensorFlow's start-up noise."""
    pending = b""
    try:
        while True:
            try:
                chunk = os.read(read_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_tensorflow_noise(line))
            if kept:
                _write_all(out_fd, kept)
        if pending and not is_tensorflow_noise(pending):
            _write_all(out_fd, pending)
    finally:
        os.close(read_fd)


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """While active, lines written to file descriptor 2 that are TensorFlow start-up noise are
    dropped; everything else reaches the real stderr (a line at a time, in order).

    File descriptor 2 is process-wide, so other threads' output passes through the filter too
    (and is not silenced). Without a usable descriptor 2 this does nothing.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (e.g. started from a desktop launcher on some systems)
        yield
        return
    read_fd, write_fd = os.pipe()
    # The writer may hold the GIL (a C++ static initialiser inside an import) while the pump
    # thread needs it: give the pipe room for far more than TensorFlow's start-up lines.
    with contextlib.suppress(Exception):
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, saved), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump sees EOF and ends
        # A child process started meanwhile may still hold the write end; the pump then keeps
        # forwarding its output and closes when it exits.
        pump.join(timeout=2.0)
        if not pump.is_alive():
            os.close(saved)


# What the imports of Keras and TensorFlow probe for. Keras on JAX (or on numpy, whose backend
# uses JAX too) imports JAX itself: it is then never deferred to Keras' import.
KERAS_PROBES = frozenset({"sklearn", "matplotlib", "pandas"})
TENSORFLOW_PROBES = KERAS_PROBES | {"jax", "jaxlib"}


def keras_backend_configured() -> str:
    """The backend Keras will choose, found as Keras finds it (``KERAS_BACKEND``, else the
    ``backend`` of ``$KERAS_HOME/keras.json`` or ``~/.keras/keras.json``, else TensorFlow),
    without importing Keras."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen.strip().lower()
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as fh:
            backend = json.load(fh).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"
    return str(backend).strip().lower()


class _DeferOptional(importlib.abc.MetaPathFinder):
    """Reports ``packages`` missing to one thread (the one importing Keras or TensorFlow);
    other threads, that one once the import is over, and a package already imported (its
    submodules) import as usual."""

    def __init__(self, packages: frozenset[str]) -> None:
        self.packages = packages
        self.thread = threading.get_ident()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.split(".")[0]
        if threading.get_ident() == self.thread and top in self.packages and top not in sys.modules:
            raise ModuleNotFoundError(
                f"{fullname} is not imported while Keras and TensorFlow import", name=fullname
            )
        return None


@contextlib.contextmanager
def optional_packages_deferred(packages: frozenset[str]) -> Iterator[None]:
    """While active, this thread's imports of ``packages`` fail as if they were not installed;
    see the module docstring for why that is safe."""
    finder = _DeferOptional(packages)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` with the optional packages deferred and, for
    TensorFlow, stderr filtered (unless the user asked for its lines), then lists the devices
    (where TensorFlow probes CUDA) under the same filter."""

    def __init__(self, loader: importlib.abc.Loader, filter_stderr: bool, tensorflow: bool) -> None:
        self._loader = loader
        self._filter_stderr = filter_stderr and tensorflow
        self._tensorflow = tensorflow

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        quiet = filtered_stderr() if self._filter_stderr else contextlib.nullcontext()
        try:
            uses_jax = keras_backend_configured() in ("jax", "numpy")
            probes = KERAS_PROBES if uses_jax else TENSORFLOW_PROBES
            with quiet, optional_packages_deferred(probes):
                self._loader.exec_module(module)
                if self._tensorflow:
                    with contextlib.suppress(Exception):
                        module.config.list_physical_devices("GPU")
        finally:
            module.__loader__ = self._loader
            if module.__spec__ is not None:
                module.__spec__.loader = self._loader


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``keras`` and ``tensorflow`` through the other finders and wraps their loaders,
    once each (Keras probes for the optional packages too, and imports TensorFlow inside its
    own import); gone from ``sys.meta_path`` once TensorFlow is found."""

    def __init__(self, filter_stderr: bool = True) -> None:
        self.filter_stderr = filter_stderr
        self.pending = {"keras", "tensorflow"}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.pending:
            return None
        self.pending.discard(fullname)
        if fullname == "tensorflow":
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # this finder now passes it on
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _QuietLoader(spec.loader, self.filter_stderr, fullname == "tensorflow")
        return spec


def quiet_tensorflow() -> None:
    """Call before anything imports TensorFlow (any number of times; cheap, imports nothing).

    - ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user chose a level: TensorFlow's own INFO/WARNING
      lines after start-up stay off, errors still show;
    - TensorFlow's start-up lines are filtered as described in this module's docstring;
    - FutureWarnings raised inside tf2onnx (numpy deprecations in the ONNX export) are ignored;
    - the optional packages Keras and TensorFlow probe for are not imported with them (see the
      module docstring).

    ``TF_CPP_MIN_LOG_LEVEL=0`` (or a ``TF_CPP_MAX_VLOG_LEVEL``/``TF_CPP_VMODULE``) set by the user
    turns the filter off: they asked to see TensorFlow's lines.
    """
    wants_logs = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0" or any(
        os.environ.get(name) for name in ("TF_CPP_MAX_VLOG_LEVEL", "TF_CPP_VMODULE")
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning, module=_TF2ONNX_MODULES)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder(filter_stderr=not wants_logs))
