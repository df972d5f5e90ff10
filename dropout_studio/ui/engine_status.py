"""Loading the engine (TensorFlow) and previewing the dataset, both as jobs.

The engine job imports TensorFlow and the engine modules (3–4 s) off the GUI thread; sklearn is
imported only when the dataset needs it, and a dataset that needs no Keras is previewed just
before the import (which waits at most 0.5 s for it), not after it. The preview runs only when
the dataset spec changed, at most one at a time, never during an exclusive job; a newer request
replaces an older one, and a result for a spec that is no longer current is dropped. A built-in
or synthetic preview's dataset is kept in a :class:`DataCache` so that a run of the same spec
skips generating it again; a CSV, NPZ or image-folder preview reads only a sample
(``load_sample``) and the file's size and classes from its probe: the whole set loads once,
when training starts.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from dropout_studio.core.datasets import KERAS_DATASETS, DatasetSpec
from dropout_studio.core.document import ProjectDocument
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.jobs import EXCLUSIVE, Job, JobContext, JobRunner
from dropout_studio.ui.panels import DatasetPanel
from dropout_studio.ui.state import WorkState

Key = tuple[DatasetSpec, int, str]


class DataCache:
    """The last dataset built, by (spec, seed, project file); shared by preview and training."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[Key, Any] | None = None
        self.loading = threading.Lock()  # held while a job builds a dataset for the cache

    @staticmethod
    def key(spec: DatasetSpec, seed: int, path: Path | None) -> Key:
        """Built-in and synthetic sets do not depend on where the project file is."""
        local = spec.source in ("builtin", "synthetic")
        return (spec, seed, "" if local or path is None else str(path.resolve()))

    def get(self, spec: DatasetSpec, seed: int, path: Path | None) -> Any:
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] == self.key(spec, seed, path):
            return entry[1]
        return None

    def put(self, spec: DatasetSpec, seed: int, path: Path | None, data: Any) -> None:
        small = spec.source in ("builtin", "synthetic") and spec.name not in KERAS_DATASETS
        if small:  # file sets and Keras downloads may be large: not kept twice
            with self._lock:
                self._entry = (self.key(spec, seed, path), data)

    def clear(self) -> None:
        with self._lock:
            self._entry = None


@dataclass(frozen=True)
class DataProgress:
    """How far a dataset load has got, reported from the job: a first-use download (bytes of
    MNIST, CIFAR-10…), a CSV file's parse (bytes) or an image folder's decoding (images)."""

    done: int
    total: int
    downloading: bool = False

    @property
    def percent(self) -> int | None:
        return min(100, 100 * self.done // self.total) if self.total > 0 else None

    def describe(self) -> str:
        if self.downloading:
            total = f" / {self.total / 1e6:.1f} MB" if self.total else " MB"
            return f"downloading the dataset… {self.done / 1e6:.1f}{total}"
        percent = self.percent
        return "loading the data…" if percent is None else f"loading the data… {percent} %"


def load_data_in_job(
    cache: DataCache, spec: Any, seed: int, path: Path | None, ctx: JobContext
) -> Any:
    """The dataset from the shared cache, or loaded in the job with progress and Stop.

    A load reports each new whole percent (a download every report it gets), so a large file
    sends at most about a hundred events to the window."""
    data = cache.get(spec, seed, path)
    if data is not None:
        return data
    # A preview of the same spec may be building it right now: wait for it rather than
    # generating the same set twice (Stop still ends the wait).
    while not cache.loading.acquire(timeout=0.05):
        if ctx.stopped:
            from dropout_studio.engine.data import LoadStopped

            raise LoadStopped("the dataset: loading was stopped")
    try:
        data = cache.get(spec, seed, path)
        if data is not None:
            return data
        from dropout_studio.engine.data import load_dataset

        downloading = needs_keras(spec)
        last: list[int | None] = [-1]

        def on_progress(done: int, total: int) -> None:
            event = DataProgress(done, total, downloading)
            if downloading or event.percent != last[0]:
                last[0] = event.percent
                ctx.report(event)

        data = load_dataset(spec, seed, path, on_progress=on_progress, stop=ctx.stop)
        cache.put(spec, seed, path, data)
        return data
    finally:
        cache.loading.release()


def load_preview_in_job(
    cache: DataCache, spec: Any, seed: int, path: Path | None, ctx: JobContext
) -> Any:
    """A CSV, NPZ or image-folder source's sample (never the whole set); other sources as
    :func:`load_data_in_job`, whose result training then reuses."""
    if spec.source in ("csv", "npz", "images"):
        from dropout_studio.engine.data import load_sample

        return load_sample(spec, path)
    return load_data_in_job(cache, spec, seed, path, ctx)


def needs_keras(spec: DatasetSpec) -> bool:
    """Keras' own datasets (MNIST, CIFAR-10…) load through keras.datasets."""
    return spec.source == "builtin" and spec.name in KERAS_DATASETS


def load_engine(needs_sklearn: bool) -> dict[str, Any]:
    """Every heavy import happens here, not in the first run (a module initialising under the
    GIL mid-training stalled the window for ~250 ms)."""
    from dropout_studio.quiet import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's C++ start-up lines stay off the terminal
    if needs_sklearn:
        import sklearn.datasets  # noqa: F401

    from dropout_studio.engine import data, evaluate, export, train  # noqa: F401
    from dropout_studio.engine.runtime import configure_devices, versions

    return {**versions(), "devices": configure_devices()}


PREVIEW_FIRST_S = 0.5  # the longest the engine's import waits for the launch preview


class EngineController(QObject):
    """Starts the engine job and keeps the dataset preview current."""

    loaded = Signal(object)  # versions and devices
    failed = Signal(str, str)

    def __init__(
        self,
        document: ProjectDocument,
        runner: JobRunner,
        state: WorkState,
        cache: DataCache,
        panel: DatasetPanel,
        label: QLabel,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.document, self.runner, self.state, self.cache = document, runner, state, cache
        self.panel, self.label, self.parent_widget = panel, label, parent
        self.engine_job: Job | None = None
        self.preview_job: Job | None = None
        self.previewed: Key | None = None  # the spec the panel shows (or is being built)
        self.starting = False  # start() was called: the engine job follows the preview
        self.label.setText("Loading TensorFlow…")
        self.label.setToolTip("Training is available once the engine has loaded")
        document.subscribe(lambda _doc: self.request_preview(), ("dataset", "replaced", "path"))
        runner.changed.connect(self.request_preview)
        runner.started.connect(self._on_job_started)

    def start(self) -> None:
        """The dataset first (it needs no TensorFlow), then the import, which waits at most
        ``PREVIEW_FIRST_S`` for it. Side by side, the two held the GIL in turns: the import
        took ~0.5 s longer and a run pressed at launch trained its first epoch ~0.3 s later.
        Such a run reuses the preview's set from the cache."""
        if self.engine_job is not None or self.state.engine == "ready" or self.starting:
            return
        self.starting = True
        self.request_preview()
        if self.preview_job is None:
            self._start_engine()
            return
        self.preview_job.finished.connect(self._start_engine)
        QTimer.singleShot(int(PREVIEW_FIRST_S * 1000), self, self._start_engine)

    def _start_engine(self) -> None:
        if self.engine_job is not None or self.state.engine == "ready":
            return
        needs_sklearn = self.document.project.dataset.source == "builtin"
        self.engine_job = self.runner.start("engine", lambda _ctx: load_engine(needs_sklearn))
        self.engine_job.returned.connect(self._on_engine_returned)
        self.engine_job.errored.connect(self._on_engine_errored)

    def _on_job_started(self, job: Job) -> None:
        """No preview runs beside a training, compare, sweep or twin: stop it (a run of the
        same spec waits for its dataset in the cache instead of building it again), and build
        the preview again once the job has ended."""
        if job.kind in EXCLUSIVE and self.preview_job is not None:
            self.preview_job.stop()
            self.previewed = None

    def _on_engine_returned(self, info: dict[str, Any]) -> None:
        # TensorFlow leaves ~10^6 long-lived objects; a full collection of them held the GIL
        # for ~200 ms mid-training. Freezing moves them out of the collector's sight, at no
        # cost here (a collect() first held the GUI thread for ~300 ms).
        gc.freeze()
        devices = info.get("devices", ["cpu"])
        gpu = "GPU" if any(d.startswith("gpu") for d in devices) else "CPU only"
        backend = "JAX" if "jax" in info else "TensorFlow"
        version = info.get(backend.lower(), "?")
        self.label.setText(f"{backend} {version} · Keras {info.get('keras')} · {gpu}")
        self.state.engine_info = info
        self.state.set(engine="ready")
        self.loaded.emit(info)
        self.request_preview()

    def _on_engine_errored(self, message: str, details: str) -> None:
        self.label.setText("TensorFlow failed to load: training unavailable")
        self.state.set(engine="failed")
        text = (
            f"TensorFlow could not be loaded ({message}). Training is unavailable; "
            "editing and saving still work."
        )
        self.failed.emit(text, details)
        error_box(self.parent_widget, text, details).show()

    # preview --------------------------------------------------------------------------
    def request_preview(self) -> None:
        """Build the preview of the current dataset spec if it is not shown yet."""
        if self.runner.current is not None:
            return  # never during training: asked again when the job ends
        project, path = self.document.project, self.document.path
        if self.state.engine != "ready" and needs_keras(project.dataset):
            return  # a Keras download waits for the engine; numpy-only sets do not
        if self.preview_job is not None:
            return  # one at a time: asked again when it ends
        key = DataCache.key(project.dataset, project.training.seed, path)
        if self.previewed is not None and self.previewed[::2] == key[::2]:
            return  # only a dataset-spec (or project file) change rebuilds it
        self.previewed = key
        spec, seed = project.dataset, project.training.seed
        job = self.runner.start("preview", lambda ctx: self._build(spec, seed, path, ctx))
        job.progressed.connect(self._on_preview_progressed)
        job.returned.connect(lambda data: self._on_preview_returned(key, data))
        job.errored.connect(lambda message, _details: self._on_preview_errored(key, message))
        job.finished.connect(self._on_preview_finished)
        self.preview_job = job

    def _build(self, spec: DatasetSpec, seed: int, path: Path | None, ctx: JobContext) -> Any:
        return load_preview_in_job(self.cache, spec, seed, path, ctx)

    def _current(self, key: Key) -> bool:
        project, path = self.document.project, self.document.path
        return DataCache.key(project.dataset, project.training.seed, path)[::2] == key[::2]

    def _on_preview_progressed(self, event: Any) -> None:
        describe = getattr(event, "describe", None)
        if describe is not None:  # a download or a load: the panel says how far it is
            self.panel.info.setText(describe())

    def _on_preview_returned(self, key: Key, data: Any) -> None:
        if self._current(key):
            self.panel.show_data(data)

    def _on_preview_errored(self, key: Key, message: str) -> None:
        if self.preview_job is not None and self.preview_job.stopping:
            return  # stopped for a training: built again when it ends
        if self._current(key):
            self.panel.show_error(message)

    def _on_preview_finished(self) -> None:
        self.preview_job = None
        self.request_preview()  # a newer spec may have come in meanwhile
