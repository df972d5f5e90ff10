"""Training: one function, no Qt, shared by the GUI worker and the CLI.

``train(project, data, on_event, stop)`` builds the model, trains it, and returns a
:class:`TrainingResult`. Every epoch's numbers reach ``on_event`` as an ``epoch_ended`` event;
progress and mask snapshots are throttled by time (about 20 Hz). Setting ``stop`` ends training
within about half a second and keeps every finished epoch.

Two loops compute the same thing:

* ``compiled`` (TensorFlow backend, in-memory data): one ``tf.function`` runs many training
  steps, epoch boundaries and validation passes per call, sized to about 50 ms, so small data
  with thousands of epochs costs a fraction of a millisecond per epoch instead of ``fit``'s
  per-epoch overhead. Its control flow is written as ``tf.while_loop``/``tf.cond`` and traced
  with ``autograph=False``: converting the step's Python was half of its trace (0.9 of 1.9 s
  before the first epoch of ``mlp-classic``), and the conversion holds the GIL throughout.
* ``jax`` (JAX backend, in-memory data): the same design as one ``jax.jit`` function over
  ``model.stateless_call`` and ``optimizer.stateless_apply`` (``engine/jax_loop.py``).
* ``fit``: ``model.fit`` with callbacks, for the torch backend or on request.

Whatever the loop, a run that ends on a NaN (or a stop) leaves the model holding the weights from
the end of the last epoch in the history, or the initial weights if none finished:
``TrainingResult.weights_epoch`` names that epoch.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import keras
import numpy as np

from dropout_studio.core.project import Project, data_problems
from dropout_studio.core.shapes import infer
from dropout_studio.engine.build import BuildError, build_model
from dropout_studio.engine.data import DataError, Dataset, Features
from dropout_studio.engine.images import (
    EVAL_CHUNK_MAX,
    ImageArray,
    PixelArray,
    Scaling,
    eval_chunk,
)
from dropout_studio.engine.layers import RecordingDropout, read_masks
from dropout_studio.engine.runtime import DeviceError, check_device, on_device

SNAPSHOT_INTERVAL_S = 0.05
TARGET_CALL_S = 0.05
# A compiled call's length when nobody listens (an experiment's runs): only a stop request
# waits for it, and each call costs ~0.7 ms on its own.
QUIET_CALL_S = 0.2


@dataclass(frozen=True)
class TrainingEvent:
    """What happened. ``kind``: started, epoch_ended, progress, masks_recorded, finished,
    stopped, failed. ``step`` is the global training step a mask snapshot came from."""

    kind: str
    epoch: int = 0  # 0-based epoch the event belongs to
    batch: int = 0  # batches finished in that epoch
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    masks: dict[str, dict[str, Any]] | None = None
    message: str = ""
    elapsed: float = 0.0


@dataclass
class TrainingResult:
    status: str  # finished, early_stopped, stopped, failed
    history: list[dict[str, float]]
    model: keras.Model | None
    masks: dict[str, dict[str, Any]]
    test_metrics: dict[str, float]
    best_test_metrics: dict[str, float]
    best_epoch: int | None
    message: str
    wall_time: float
    samples_seen: int
    loop: str
    # 0-based epoch whose end-of-epoch weights the model holds; None: the initial weights
    weights_epoch: int | None = None
    # seconds from the loop's start to the first finished epoch: mostly tracing/compiling
    first_epoch_time: float | None = None

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.wall_time if self.wall_time else 0.0


class TrainingError(RuntimeError):
    """Training could not start or run; the message (one line) says what to change.

    Unexpected failures inside Keras arrive chained (``__cause__``) so a GUI can show details.
    """


EventHandler = Callable[[TrainingEvent], None]


class _TraceStopped(Exception):
    """Raised from the Python body of a step while it is being traced, when Stop was pressed:
    tracing is the longest uninterruptible part of a run's start (0.5–1.5 s), so it checks."""


class _HandlerFailed(Exception):
    """Carries an exception raised by the caller's ``on_event`` through the loop unchanged."""


def _ignore(event: TrainingEvent) -> None:
    """The handler of a run nobody listens to (``on_event=None``)."""


def _guarded(on_event: EventHandler | None) -> EventHandler:
    if on_event is None:
        return _ignore
    handler = on_event

    def emit(event: TrainingEvent) -> None:
        try:
            handler(event)
        except Exception as exc:  # the caller's bug, not a training failure: re-raised as is
            raise _HandlerFailed() from exc

    return emit


# TensorFlow's runtime errors embed a Python trace of where the graph was built ("Graph
# execution error: Detected at node … defined at (most recent call last): File …"), then the
# real message, then "[[{{node …}}]] [Op:…]": keep the message and the node, drop the rest.
_TF_TRACE_LINE = re.compile(r"(Graph execution error:|Detected at node|File \"|\[\[)")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc)
    if "Graph execution error" in text or '\n  File "' in text:
        node = re.search(r"Detected at node '?([^\s']+)", text)
        kept = [line for line in text.splitlines() if not _TF_TRACE_LINE.match(line.strip())]
        text = re.sub(r"\s*\[Op:[^\]]*\]", "", " ".join(kept))
        if node and text.strip():
            text = f"{text.strip()} (at {node.group(1)})"
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_fit(project: Project, data: Dataset) -> None:
    report = infer(project.network)
    if report.errors:
        raise TrainingError(report.errors[0].message)
    problems = data_problems(project, report, data.signature)
    if problems:
        raise TrainingError(problems[0].message)


def _output_is_probability(project: Project) -> bool:
    last = project.network.layers[-1]
    return last.option("activation") in ("softmax", "sigmoid")


def make_optimizer(project: Project) -> keras.optimizers.Optimizer:
    t = project.training
    cls = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
    }[t.optimizer]
    return cls(learning_rate=t.learning_rate)


def metric_names(data: Dataset) -> tuple[str, str]:
    """(loss name, second metric name) as Keras would log them."""
    return ("loss", "accuracy") if data.class_names else ("loss", "mae")


def choose_loop(project: Project) -> str:
    if project.training.loop != "auto":
        return project.training.loop
    backend = keras.backend.backend()
    return {"tensorflow": "compiled", "jax": "jax"}.get(backend, "fit")


def train(
    project: Project,
    data: Dataset,
    on_event: EventHandler | None = None,
    stop: threading.Event | None = None,
    *,
    loop: str | None = None,
    keep_best: bool = False,
    log_dir: str | None = None,
    steps: StepCache | None = None,
) -> TrainingResult:
    """Train ``project``'s stack on ``data``; never raises for a NaN loss or a stop request.

    ``keep_best`` also reports test metrics of the weights with the best validation loss
    (``best_test_metrics``); it copies weights on every improvement, so it is off by default.

    ``steps``: a :class:`StepCache` shared by the runs of one experiment, so that the compiled
    loop traces once for them all (the result's model is then the cache's, reused by the next
    run). Without it the run builds its own step, the same way.

    Raises only :class:`TrainingError` (or :class:`DataError` from the data) for a project that
    validation accepts: before training when the stack does not fit the data or the device is
    not here, and, as a last line of defence, for an unexpected failure inside Keras (one-line
    message, the original chained). Exceptions raised by ``on_event`` pass through unchanged.
    """
    _check_fit(project, data)
    emit = _guarded(on_event)
    stop = stop or threading.Event()
    backend = keras.backend.backend()
    chosen = loop or choose_loop(project)
    if chosen == "compiled" and backend != "tensorflow":
        chosen = "jax" if backend == "jax" else "fit"
    if chosen == "jax" and backend != "jax":
        chosen = "compiled" if backend == "tensorflow" else "fit"
    if data.streamed and chosen != "fit":  # read from disk a batch at a time
        chosen = "streamed" if backend == "tensorflow" else "fit"
    try:
        check_device(project.training.device)
        with on_device(project.training.device):
            return _run(project, data, emit, stop, chosen, keep_best, log_dir, steps)
    except _HandlerFailed as wrapped:
        original = wrapped.__cause__
        assert original is not None
        raise original from original.__cause__
    except (TrainingError, DataError):
        raise
    except (DeviceError, BuildError) as exc:
        raise TrainingError(str(exc)) from exc
    except Exception as exc:  # last line of defence: one line here, details chained
        raise TrainingError(
            f"training failed inside {backend} ({type(exc).__name__}): {_one_line(exc)}"
        ) from exc


def _run(
    project: Project,
    data: Dataset,
    emit: EventHandler,
    stop: threading.Event,
    chosen: str,
    keep_best: bool,
    log_dir: str | None,
    steps: StepCache | None = None,
) -> TrainingResult:
    runner: type[_LoopBase]
    compiled: _CompiledStep | None = None
    if chosen in ("compiled", "streamed"):
        # Standalone runs build their own step the same way an experiment does.
        compiled = (steps if steps is not None else StepCache()).step_for(project, data, keep_best)
        model = compiled.model
        if chosen == "streamed":
            from dropout_studio.engine.streamed import StreamedLoop

            runner = StreamedLoop
        else:
            runner = _CompiledLoop
    else:
        model = build_model(project.network, project.training.seed)
        if chosen == "jax":
            from dropout_studio.engine.jax_loop import JaxLoop

            runner = JaxLoop
        else:
            runner = _FitLoop
    loop_runner = runner(project, data, model, emit, stop, keep_best)
    if compiled is not None:
        loop_runner.step = compiled
    if log_dir and project.training.tensorboard:
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            loop_runner.tensorboard = tf.summary.create_file_writer(log_dir)
        else:
            loop_runner.notes.append(
                f"TensorBoard event files are not supported on the {keras.backend.backend()} "
                "backend: none were written (history.csv holds the same numbers)"
            )
    try:
        return loop_runner.run()
    finally:
        if loop_runner.tensorboard is not None:
            loop_runner.tensorboard.close()


class _LoopBase:
    step: _CompiledStep  # the compiled and streamed loops' step, set by _run

    def __init__(
        self,
        project: Project,
        data: Dataset,
        model: keras.Model,
        emit: EventHandler,
        stop: threading.Event,
        keep_best: bool,
    ) -> None:
        self.project, self.data, self.model, self.emit, self.stop = (
            project,
            data,
            model,
            emit,
            stop,
        )
        self.keep_best = keep_best
        # Without a listener, events are not built at all: an experiment's runs (compare,
        # sweep) skip the per-epoch event objects and the throttled mask reads.
        self.listening = emit is not _ignore
        t = project.training
        self.epochs, self.batch_size, self.seed = (
            t.epochs,
            min(t.batch_size, len(data.x_train)),
            t.seed,
        )
        self.steps_per_epoch = math.ceil(len(data.x_train) / self.batch_size)
        self.classify = bool(data.class_names)
        self.from_logits = self.classify and not _output_is_probability(project)
        self.loss_name, self.metric_name = metric_names(data)
        self.history: list[dict[str, float]] = []
        self.started = time.perf_counter()
        self.last_snapshot = 0.0
        self.status, self.message = "finished", ""
        self.best_epoch: int | None = None
        self.best_val_loss = math.inf
        self.tensorboard: Any = None  # a tf.summary writer when the run asks for event files
        self.notes: list[str] = []  # said in the final message (e.g. an unsupported option)
        self.has_val = len(data.x_val) > 0
        self.weights_epoch: int | None = None
        self.first_epoch_time: float | None = None

    def run(self) -> TrainingResult:
        raise NotImplementedError

    def _good(self, train_loss: float, val_loss: float) -> bool:
        """An epoch whose weights may be kept: its losses are finite (validation if any)."""
        return math.isfinite(train_loss) and (not self.has_val or math.isfinite(val_loss))

    # events -----------------------------------------------------------
    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _started(self) -> None:
        if not self.listening:
            return
        self.emit(
            TrainingEvent(
                "started",
                metrics={
                    "epochs": self.epochs,
                    "steps_per_epoch": self.steps_per_epoch,
                    "train_samples": len(self.data.x_train),
                    "streamed": float(self.data.streamed),
                    "data_bytes": float(self.data.nbytes),
                },
                # "in memory (123 MB); train …" or "streamed from disk (…); train …"
                message=f"{self.data.where()}; {self.data.summary()}",
            )
        )

    def _row_ended(self, r: Any) -> None:
        """An epoch row of a compiled loop (epoch, loss, metric, val loss, val metric)."""
        self._epoch_ended(
            {
                "epoch": int(r[0]),
                self.loss_name: float(r[1]),
                self.metric_name: float(r[2]),
                "val_" + self.loss_name: float(r[3]),
                "val_" + self.metric_name: float(r[4]),
            }
        )

    def _epoch_ended(self, row: dict[str, float]) -> None:
        if self.first_epoch_time is None:
            self.first_epoch_time = self._elapsed()
        self.history.append(row)
        if self.tensorboard is not None:
            import tensorflow as tf

            with self.tensorboard.as_default(step=int(row["epoch"])):
                for key, value in row.items():
                    if key != "epoch":
                        tf.summary.scalar(key, value)
        val = row.get("val_loss", math.nan)
        if val < self.best_val_loss:
            self.best_val_loss = val
            self.best_epoch = int(row["epoch"])
        if not self.listening:
            return
        self.emit(
            TrainingEvent(
                "epoch_ended",
                epoch=int(row["epoch"]),
                batch=self.steps_per_epoch,
                metrics=dict(row),
                elapsed=self._elapsed(),
            )
        )

    def _maybe_snapshot(
        self, epoch: int, batch: int, step: int, loss: float, force: bool = False
    ) -> None:
        now = time.perf_counter()
        if not force and now - self.last_snapshot < SNAPSHOT_INTERVAL_S:
            return
        self.last_snapshot = now
        if not self.listening:
            return
        elapsed = now - self.started
        self.emit(
            TrainingEvent(
                "progress",
                epoch=epoch,
                batch=batch,
                step=step,
                metrics={"loss": loss},
                elapsed=elapsed,
            )
        )
        masks = read_masks(self.model)
        if masks:
            self.emit(
                TrainingEvent(
                    "masks_recorded",
                    epoch=epoch,
                    batch=batch,
                    step=step,
                    masks=masks,
                    elapsed=elapsed,
                )
            )

    def _nan(self, epoch: int, batch: int, validation: bool = False) -> None:
        self.status = "failed"
        where = (
            f"the validation loss became NaN or infinite after epoch {epoch + 1}"
            if validation
            else f"the loss became NaN or infinite at epoch {epoch + 1}, batch {batch}"
        )
        self.message = (
            f"{where}: lower the learning rate, check the data for extreme values, or use a "
            "lower dropout rate; the finished epochs are kept"
        )

    def _kept_weights_note(self) -> str:
        if self.weights_epoch is None:
            return "the model keeps its initial weights"
        return f"the model keeps the weights from the end of epoch {self.weights_epoch + 1}"

    def _finish(
        self, samples: int, test: dict[str, float], best_test: dict[str, float]
    ) -> TrainingResult:
        wall = self._elapsed()
        masks = read_masks(self.model)
        if self.status == "stopped" and not self.message:
            self.message = f"stopped by request after {len(self.history)} finished epochs"
        if self.status == "early_stopped":
            self.message = (
                f"early stopping: validation loss has not improved for "
                f"{self.project.training.early_stopping} epochs"
            )
        if self.status == "failed":
            self.message = f"{self.message} ({self._kept_weights_note()})"
        if self.notes:
            self.message = "; ".join([m for m in (self.message, *self.notes) if m])
        final = TrainingEvent(
            {"finished": "finished", "early_stopped": "finished"}.get(self.status, self.status),
            epoch=len(self.history),
            metrics=test,
            masks=masks,
            message=self.message,
            elapsed=wall,
        )
        self.emit(final)
        return TrainingResult(
            self.status,
            self.history,
            self.model,
            masks,
            test,
            best_test,
            self.best_epoch,
            self.message,
            wall,
            samples,
            self.loop_name,
            self.weights_epoch,
            self.first_epoch_time,
        )

    loop_name = "base"


class StepCache:
    """Compiled training steps (TensorFlow), reused by every run of one experiment.

    A step is traced once per model structure and data shape: output-dropout rates, the data,
    the shuffle seed, the patience, the learning rate and the initial weights are inputs or
    variables, so the runs of a compare or a sweep (seeds, arms, rates) reuse one trace. Per run,
    :meth:`_CompiledStep.reset` assigns the weights (and every seed generator's state and
    recording variable) of an untraced model built under the run's seed, the optimizer's
    variables of a fresh optimizer, and the loop state. A standalone ``train`` builds its own
    step the same way, so a seed gives a bitwise-equal history standalone or in an experiment.

    The model of a run's result is the step's model: the next run on the same step overwrites
    its weights. Keep one cache per experiment (or per window, whose next Train retires the last
    model), not per process. ``limit`` bounds the steps kept: a new one beyond it drops the rest.
    ``runs``: how many runs the experiment plans; with their epochs it decides whether a
    full-batch step validates speculatively (``SPECULATE_AFTER_EPOCHS``).
    """

    def __init__(self, limit: int | None = None, runs: int = 1) -> None:
        self.steps: dict[Any, _CompiledStep] = {}
        self.runs = runs  # that the experiment plans: they share a step's tracing
        self.traces = 0  # steps built (each traces once per data shape)
        self.limit = limit
        self.reused = False  # the last step_for handed out a step an earlier run had used

    def step_for(self, project: Project, data: Dataset, keep_best: bool) -> _CompiledStep:
        key = _step_key(project, data, keep_best)
        step = self.steps.get(key)
        self.reused = step is not None
        if step is None:
            if self.limit is not None and len(self.steps) >= self.limit:
                self.steps.clear()
            planned = project.training.epochs * max(1, self.runs)
            step = _CompiledStep(project, data, keep_best, planned > SPECULATE_AFTER_EPOCHS)
            self.steps[key] = step
            self.traces += 1
        else:
            step.reset_weights(project)
        return step


def _step_key(project: Project, data: Dataset, keep_best: bool) -> tuple[Any, ...]:
    """What a traced step depends on. Output-dropout rates are variables (rate 0 keeps the
    layer), so they are left out; everything else in the stack (RNN rates, L2) is in."""
    from dataclasses import replace

    layers = tuple(
        replace(layer, dropout=replace(layer.dropout, rate=0.0)) for layer in project.network.layers
    )
    t = project.training

    def arr(a: Features) -> tuple[Any, ...]:
        if isinstance(a, ImageArray):  # uint8 pixels, scaled in the step
            scaling = a.scaling
            return (a.shape, "uint8", bool(scaling.divide_by), scaling.mean is not None)
        return (a.shape, str(a.dtype))

    return (
        repr(layers),
        t.optimizer,
        min(t.batch_size, len(data.x_train)),
        t.device,
        keep_best,
        bool(data.class_names),
        arr(data.x_train),
        arr(data.y_train),
        arr(data.x_val),
        arr(data.y_val),
    )


def _nothing() -> None:
    """The branch of a ``tf.cond`` that leaves everything as it is."""


def _initial_key(project: Project) -> tuple[Any, ...]:
    """What a run's initial model and optimizer values depend on."""
    t = project.training
    return (repr(project.network), t.seed, t.optimizer, t.learning_rate)


def _recording_layers(model: keras.Model) -> list[RecordingDropout]:
    return [layer for layer in model.layers if isinstance(layer, RecordingDropout)]


@dataclass(frozen=True)
class _InitialState:
    """The values a run under ``key`` starts from: a freshly built model's and optimizer's
    variables, and the dropout layers' rates (a Python attribute, not a variable)."""

    key: tuple[Any, ...]
    model_values: list[np.ndarray]
    optimizer_values: list[np.ndarray]
    rates: list[float]

    @classmethod
    def of(
        cls, project: Project, model: keras.Model, optimizer: keras.optimizers.Optimizer
    ) -> _InitialState:
        return cls(
            _initial_key(project),
            [np.array(v.numpy()) for v in model.variables],
            [np.array(v.numpy()) for v in optimizer.variables],
            [layer.rate for layer in _recording_layers(model)],
        )


# A full-batch step validates each epoch beside the next step (``run_speculatively``) when
# the runs sharing its trace plan more epochs than this in all. Measured on the 30-sample and
# small-data tasks: tracing it costs ~0.09 s more, and each epoch is ~0.15-0.2 ms shorter.
SPECULATE_AFTER_EPOCHS = 500
# ...and while a call holds at least this many steps: each call also takes one step that is
# undone, which at one step per call (a slow step) would double the work. Decided on this many
# calls in a row: one call delayed by the machine (a window's frame beside a run's start took
# 16 ms for one 0.2 ms step) turned a cached step serial for good.
SPECULATE_MIN_STEPS = 8
SPECULATE_SLOW_CALLS = 3


def _validation_draws(model: keras.Model) -> bool:
    """Whether validating draws random numbers: Keras' RNN layers draw their dropout masks
    even when not training, which moves their seed generators. A step validated beside the
    next one would then draw in another order than the serial loop, and train differently."""
    for layer in model._flatten_layers(include_self=False):
        cell = getattr(layer, "cell", None)
        for one in getattr(cell, "cells", [cell]):
            if getattr(one, "dropout", 0) or getattr(one, "recurrent_dropout", 0):
                return True
    return False


def all_finite(tensors: list[Any]) -> Any:
    """True when every element of ``tensors`` is finite, as a scalar tensor (TensorFlow).

    ``x * 0`` is 0 for a finite element and NaN for an infinite or NaN one, and a sum of zeros
    cannot overflow, so the total is finite exactly when every element is. Two float ops per
    tensor: on small data this costs a third of ``reduce_all(is_finite(x))``, whose boolean
    reduction was the dearest op of an epoch's end (measured in bench/).
    """
    import tensorflow as tf

    sums = [tf.cast(tf.reduce_sum(t * tf.zeros((), t.dtype)), tf.float32) for t in tensors]
    return tf.math.is_finite(tf.add_n(sums)) if sums else tf.constant(True)


class _CompiledStep:
    """One model, optimizer, loop state and traced ``run_steps`` (see :class:`StepCache`)."""

    def __init__(
        self, project: Project, data: Dataset, keep_best: bool, speculate: bool = False
    ) -> None:
        import tensorflow as tf

        self.model = model = build_model(project.network, project.training.seed)
        self.optimizer = optimizer = make_optimizer(project)
        optimizer.build(model.trainable_variables)
        self.initial = _InitialState.of(project, model, optimizer)
        n = len(data.x_train)
        self.n = n
        bs = self.bs = min(project.training.batch_size, n)
        spe = self.spe = math.ceil(n / bs)
        classify = bool(data.class_names)
        from_logits = classify and not _output_is_probability(project)
        # Image sets arrive as uint8: each batch becomes floats inside the step, with the
        # split's arithmetic (values in variables, so another split's mean reuses the trace).
        sample_shape = tuple(data.x_train.shape[1:])
        scaling = data.x_train.scaling if isinstance(data.x_train, ImageArray) else None
        has_divide = scaling is not None and bool(scaling.divide_by)
        has_std = scaling is not None and scaling.mean is not None
        self.divide_by = tf.Variable(1.0, trainable=False)
        self.mean = tf.Variable(tf.zeros(sample_shape), trainable=False) if has_std else None
        self.std = tf.Variable(tf.ones(sample_shape), trainable=False) if has_std else None
        chunk = eval_chunk(sample_shape) if scaling is not None else EVAL_CHUNK_MAX
        self.eval_chunk = chunk

        def prepare(xb: Any) -> Any:
            if scaling is None:
                return xb
            xb = tf.cast(xb, tf.float32)
            if has_divide:
                xb = xb / self.divide_by
            if self.mean is not None and self.std is not None:
                xb = (xb - self.mean) / self.std
            return xb

        self.weights = weights = [v for v in model.weights if v.trainable or "moving" in v.path]
        self.keep_best = keep_best
        self.best = best = (
            [tf.Variable(v.value, trainable=False) for v in weights] if keep_best else []
        )
        # The weights at the end of the last good epoch (initial weights until one ends): a NaN
        # run or a stop leaves these in the model. Copied inside the step (measured in bench/).
        self.safe = safe = [tf.Variable(v.value, trainable=False) for v in weights]
        self.safe_epoch = safe_epoch = tf.Variable(-1, dtype=tf.int32)
        has_val = len(data.x_val) > 0
        self.patience = patience = tf.Variable(0, dtype=tf.int32)
        self.state = state = {
            "epoch": tf.Variable(0, dtype=tf.int32),
            "batch": tf.Variable(0, dtype=tf.int32),
            "perm": tf.Variable(tf.range(n, dtype=tf.int32)),
            "loss_sum": tf.Variable(0.0),
            "metric_sum": tf.Variable(0.0),
            "count": tf.Variable(0.0),
            "best_val": tf.Variable(np.inf, dtype=tf.float32),
            "since_best": tf.Variable(0, dtype=tf.int32),
        }
        self.steps_per_call = 1  # the call size the last run grew to
        self.stop: threading.Event | None = None  # the current run's, read while tracing

        def check_stop() -> None:
            """Runs only while tracing (Python does not run inside the traced graph)."""
            if self.stop is not None and self.stop.is_set():
                raise _TraceStopped()

        self.check_stop = check_stop

        def batch_loss(yb: Any, pred: Any) -> tuple[Any, Any]:
            if classify:
                losses = keras.losses.sparse_categorical_crossentropy(
                    yb, pred, from_logits=from_logits
                )
                # A softmax (or sigmoid) output carries its logits, which the loss above reads:
                # their argmax is the class too, and the step then never computes the softmax.
                scores = getattr(pred, "_keras_logits", pred)
                hits = tf.cast(tf.equal(tf.cast(tf.argmax(scores, -1), yb.dtype), yb), tf.float32)
                return losses, hits
            pred = tf.reshape(pred, tf.shape(yb))
            err = pred - yb
            return tf.square(err), tf.abs(err)

        def evaluate(xe: Any, ye: Any) -> tuple[Any, Any]:
            m = xe.shape[0]
            if m is not None and m <= chunk:  # one pass: a nested loop costs more than it saves
                losses, hits = batch_loss(ye, model(prepare(xe), training=False))
                return tf.reduce_mean(losses), tf.reduce_mean(hits)
            m = tf.shape(xe)[0]

            def add_chunk(start: Any, total: Any, metric: Any) -> tuple[Any, Any, Any]:
                pred = model(prepare(xe[start : start + chunk]), training=False)
                losses, hits = batch_loss(ye[start : start + chunk], pred)
                return start + chunk, total + tf.reduce_sum(losses), metric + tf.reduce_sum(hits)

            _, total, metric = tf.while_loop(
                lambda start, _total, _metric: start < m,
                add_chunk,
                (tf.constant(0), tf.constant(0.0), tf.constant(0.0)),
            )
            denom = tf.maximum(tf.cast(m, tf.float32), 1.0)
            return total / denom, metric / denom

        self.evaluate = evaluate  # eager: tracing once more at the end stalled GUI threads ~150 ms

        def end_epoch(
            xv: Any, yv: Any, rows: Any, finished_epochs: Any, halt: Any, bad: Any
        ) -> tuple[Any, Any, Any, Any]:
            check_stop()
            if has_val:
                val_loss, val_metric = evaluate(xv, yv)
            else:
                val_loss, val_metric = tf.constant(math.nan), tf.constant(math.nan)
            return close_epoch(val_loss, val_metric, rows, finished_epochs, bad)

        def close_epoch(
            val_loss: Any,
            val_metric: Any,
            rows: Any,
            finished_epochs: Any,
            bad: Any,
            pending: tuple[Any, Any, Any, list[Any]] | None = None,
        ) -> tuple[Any, Any, Any, Any]:
            """The end of an epoch once its validation numbers are known: its history row,
            the weights kept on NaN or stop, the best weights and early stopping.

            ``pending``: (whether an epoch is pending, its training loss, metric, weights) when
            the model has moved on (``run_speculatively``): its sums are left alone, and with
            nothing pending this changes nothing, without a ``cond`` (each costs tracing)."""
            if pending is None:
                is_pending = tf.constant(True)
                train_loss = state["loss_sum"] / state["count"]
                train_metric = state["metric_sum"] / state["count"]
                values = weights
                at = rows.size()
            else:  # speculative: a row written with nothing pending is overwritten later
                is_pending, train_loss, train_metric, values = pending
                at = finished_epochs
            rows = rows.write(
                at,
                tf.stack(
                    [
                        tf.cast(state["epoch"], tf.float32),
                        train_loss,
                        train_metric,
                        val_loss,
                        val_metric,
                    ]
                ),
            )
            ok = tf.logical_and(tf.logical_not(bad), tf.math.is_finite(train_loss))
            if has_val:  # non-finite validation loss: the weights themselves went bad
                ok = tf.logical_and(ok, tf.math.is_finite(val_loss))
            # The training loss is measured before the epoch's last update, which may itself
            # overflow the weights: only finite weights become the safe copy.
            ok = tf.logical_and(ok, all_finite(values))
            bad = tf.logical_and(is_pending, tf.logical_not(ok))
            ok = tf.logical_and(is_pending, ok)

            def keep_safe() -> None:
                for keep, live in zip(safe, values):
                    keep.assign(live)
                safe_epoch.assign(state["epoch"])

            tf.cond(ok, keep_safe, _nothing)
            best_val, since_best = state["best_val"], state["since_best"]
            improved = tf.logical_and(is_pending, val_loss < best_val)
            best_val.assign(tf.where(is_pending, tf.minimum(val_loss, best_val), best_val))
            since_best.assign(tf.where(improved, 0, since_best + tf.cast(is_pending, tf.int32)))
            if keep_best:  # copying costs ~1 ms/epoch: only on request

                def keep_best_weights() -> None:
                    for keep, live in zip(best, values):
                        keep.assign(live)

                tf.cond(improved, keep_best_weights, _nothing)
            halt = tf.logical_and(is_pending, tf.logical_and(patience > 0, since_best >= patience))
            state["batch"].assign(0)
            closing = tf.cast(is_pending, tf.int32)
            state["epoch"].assign_add(closing)
            if pending is None:
                state["loss_sum"].assign(0.0)
                state["metric_sum"].assign(0.0)
                state["count"].assign(0.0)
            return rows, finished_epochs + closing, halt, bad

        def learn(xb: Any, yb: Any) -> Any:
            """One gradient step on a batch, added to the epoch's sums; returns its loss.
            Shared by the in-memory loop and the streamed one (``engine/streamed.py``)."""
            xb = prepare(xb)  # uint8 images: floats per batch; other data unchanged
            with tf.GradientTape() as tape:
                pred = model(xb, training=True)
                losses, hits = batch_loss(yb, pred)
                data_loss = tf.reduce_mean(losses)
                total = data_loss
                if model.losses:
                    total = total + tf.add_n(model.losses)
            check_stop()
            grads = tape.gradient(total, model.trainable_variables)
            check_stop()
            optimizer.apply(grads, model.trainable_variables)
            check_stop()
            size = tf.cast(tf.shape(yb)[0], tf.float32)
            state["loss_sum"].assign_add(data_loss * size)
            state["metric_sum"].assign_add(tf.reduce_sum(hits))
            state["count"].assign_add(size)
            return total

        self.learn = learn

        def loop_start() -> tuple[Any, ...]:
            """rows, steps done, finished epochs, last loss, bad, halt: as a call begins."""
            return (
                tf.TensorArray(tf.float32, size=0, dynamic_size=True),
                tf.constant(0),
                tf.constant(0),
                tf.constant(0.0),
                tf.constant(False),
                tf.constant(False),
            )

        @tf.function(autograph=False)
        def run_steps(
            x: Any, y: Any, xv: Any, yv: Any, seed: Any, max_steps: Any, epochs_left: Any
        ) -> tuple[Any, Any, Any, Any]:
            check_stop()

            def go_on(
                rows: Any, done: Any, finished_epochs: Any, last_loss: Any, bad: Any, halt: Any
            ) -> Any:
                return tf.logical_and(
                    tf.logical_and(done < max_steps, finished_epochs < epochs_left),
                    tf.logical_not(tf.logical_or(bad, halt)),
                )

            def shuffle() -> None:
                state["perm"].assign(
                    tf.random.experimental.stateless_shuffle(
                        tf.range(n, dtype=tf.int32), seed=tf.stack([seed, state["epoch"]])
                    )
                )

            def one_step(
                rows: Any, done: Any, finished_epochs: Any, last_loss: Any, bad: Any, halt: Any
            ) -> tuple[Any, ...]:
                if spe == 1:  # the whole set in its stored order: no shuffle, no gather
                    total = learn(x, y)
                else:
                    tf.cond(tf.equal(state["batch"], 0), shuffle, _nothing)
                    start = state["batch"] * bs
                    idx = state["perm"][start : start + bs]
                    total = learn(tf.gather(x, idx), tf.gather(y, idx))
                bad = tf.logical_not(tf.math.is_finite(total))
                state["batch"].assign_add(1)
                going = (rows, finished_epochs, halt, bad)
                if spe == 1:  # full batch: every step ends an epoch, so no cond
                    ended = end_epoch(xv, yv, *going)
                else:
                    ended = tf.cond(
                        tf.logical_and(tf.equal(state["batch"], spe), tf.logical_not(bad)),
                        lambda: end_epoch(xv, yv, *going),
                        lambda: going,
                    )
                rows, finished_epochs, halt, bad = ended
                return rows, done + 1, finished_epochs, total, bad, halt

            rows, _, _, last_loss, bad, halt = tf.while_loop(go_on, one_step, loop_start())
            return rows.stack(), last_loss, bad, halt

        # Undone when a speculative step must not have happened (see run_speculatively).
        sums = [state["loss_sum"], state["metric_sum"], state["count"]]
        undoable = list(
            {id(v): v for v in [*model.variables, *optimizer.variables, *sums]}.values()
        )
        weight_at = {id(v): i for i, v in enumerate(undoable)}
        weight_slots = [weight_at[id(v)] for v in weights]

        @tf.function(autograph=False)
        def run_speculatively(
            x: Any, y: Any, xv: Any, yv: Any, seed: Any, max_steps: Any, epochs_left: Any
        ) -> tuple[Any, Any, Any, Any]:
            """``run_steps`` for a full batch with a validation set: each step runs beside the
            validation of the epoch before it, whose numbers decide whether that step should
            have happened (NaN, early stopping, the call's limits). Serially, the validation
            held up every step: on small data it is a third of an epoch's time. The step
            taken beside the last epoch is undone (every variable it wrote restored), so the
            history, weights, records and seed states are those of the serial loop; that
            wasted step is about 1 % of a call (calls last ~50 ms)."""
            check_stop()

            def one_step(
                going: Any,
                rows: Any,
                done: Any,
                finished_epochs: Any,
                last_loss: Any,
                bad: Any,
                halt: Any,
                pending: Any,
                pending_loss: Any,
                pending_metric: Any,
                *_before: Any,
            ) -> tuple[Any, ...]:
                # Read before the step writes (automatic control dependencies keep the order):
                # the model as the pending epoch left it, to validate, keep and restore.
                before = [tf.identity(tf.convert_to_tensor(v)) for v in undoable]
                val_loss, val_metric = evaluate(xv, yv)
                for epoch_sum in sums:
                    epoch_sum.assign(0.0)
                total = learn(x, y)
                count = state["count"]
                step_loss, step_metric = state["loss_sum"] / count, state["metric_sum"] / count
                closing = (pending, pending_loss, pending_metric, [before[i] for i in weight_slots])
                rows, finished_epochs, halt, bad = close_epoch(
                    val_loss, val_metric, rows, finished_epochs, bad, closing
                )
                kept = tf.logical_and(
                    tf.logical_not(tf.logical_or(bad, halt)),
                    tf.logical_and(done < max_steps, finished_epochs < epochs_left),
                )
                step_bad = tf.logical_and(kept, tf.logical_not(tf.math.is_finite(total)))
                return (
                    kept,  # the next iteration closes this step's epoch
                    rows,
                    done + tf.cast(kept, tf.int32),
                    finished_epochs,
                    tf.where(kept, total, last_loss),
                    tf.logical_or(bad, step_bad),
                    halt,
                    kept,
                    step_loss,
                    step_metric,
                    *before,
                )

            start_values = (
                tf.constant(True),
                *loop_start(),
                tf.constant(False),
                tf.constant(0.0),
                tf.constant(0.0),
                *[tf.convert_to_tensor(v) for v in undoable],
            )
            loop = tf.while_loop(lambda going, *_: going, one_step, start_values)
            _, rows, _, finished_epochs, last_loss, bad, halt, _, _, _, *before = loop
            # The last iteration's step was not kept: undo it.
            for variable, value in zip(undoable, before):
                variable.assign(value)
            for epoch_sum in sums:  # as the serial loop leaves them
                epoch_sum.assign(0.0)
            return rows.stack()[:finished_epochs], last_loss, bad, halt

        self.speculative = spe == 1 and has_val and speculate and not _validation_draws(model)
        self.run_steps = run_speculatively if self.speculative else run_steps
        self.serial_steps, self.speculative_steps = run_steps, run_speculatively
        self.stream_parts = (prepare, batch_loss, close_epoch, has_val)
        self._streaming: Any = None

    def stop_speculating(self) -> None:
        """Steps too slow for speculation: a call of a few steps would waste a large share on
        the undone one. The serial loop takes over (traced now, once)."""
        self.speculative = False
        self.run_steps = self.serial_steps

    def set_scaling(self, x: Features) -> None:
        """The run's pixel scaling (its split's mean and std) into the step's variables."""
        if not isinstance(x, ImageArray):
            return
        scaling: Scaling = x.scaling
        self.divide_by.assign(float(scaling.divide_by or 1.0))
        if self.mean is not None and self.std is not None:
            self.mean.assign(np.asarray(scaling.mean, dtype="float32"))
            self.std.assign(np.asarray(scaling.std, dtype="float32"))

    def streaming(self, x: ImageArray, y: np.ndarray) -> Any:
        """The per-batch functions of a streamed run (see ``engine/streamed.py``), traced once."""
        if self._streaming is None:
            from dropout_studio.engine.streamed import StreamSteps

            self._streaming = StreamSteps(self, x, y)
        return self._streaming

    def reset_weights(self, project: Project) -> None:
        """The initial state of a run under ``project``'s seed and rates, without retracing:
        every variable of an untraced model built under the seed (weights, seed generators,
        rates, records) and of a fresh optimizer built on it.

        Those values are kept: the same stack, seed and optimizer again (Train pressed twice)
        skip the build, which holds the GIL for ~40 ms, a stall in the window."""
        if self.initial.key != _initial_key(project):
            fresh = build_model(project.network, project.training.seed, keep_caches=True)
            if len(fresh.variables) != len(self.model.variables):
                raise RuntimeError("a reused training step got a model of another structure")
            optimizer = make_optimizer(project)
            optimizer.build(fresh.trainable_variables)
            self.initial = _InitialState.of(project, fresh, optimizer)
        initial = self.initial
        for live, value in zip(self.model.variables, initial.model_values):
            live.assign(value)
        for layer, rate in zip(_recording_layers(self.model), initial.rates):
            layer.rate = rate
        for live, value in zip(self.optimizer.variables, initial.optimizer_values):
            live.assign(value)

    def reset_loop(self, seed: int, patience: int) -> None:
        import tensorflow as tf

        for name, value in (
            ("epoch", 0),
            ("batch", 0),
            ("loss_sum", 0.0),
            ("metric_sum", 0.0),
            ("count", 0.0),
            ("best_val", np.inf),
            ("since_best", 0),
        ):
            self.state[name].assign(value)
        self.state["perm"].assign(tf.range(self.n, dtype=tf.int32))
        self.patience.assign(patience)
        self.safe_epoch.assign(-1)
        for keep, live in zip([*self.safe, *self.best], [*self.weights, *self.weights]):
            keep.assign(live.value)
        self.seed = tf.constant(seed % 2**31, dtype=tf.int32)  # an int32 pair for the shuffle


def stored_tensor(x: Features) -> Any:
    """``x`` as the compiled step takes it: uint8 pixels for an in-memory image set (scaled
    per batch inside the step), the float32 array for anything else."""
    import tensorflow as tf

    if isinstance(x, PixelArray):
        pixels = x.pixels
        aligned = pixels.flags.c_contiguous and pixels.ctypes.data % 64 == 0
        if aligned and not tf.config.list_logical_devices("GPU"):
            # Shared, not copied: tf.constant would add a second copy of the set (or two,
            # for an unaligned array). On a GPU the step wants its own device copy.
            return tf.experimental.dlpack.from_dlpack(pixels.__dlpack__())
        return tf.constant(pixels)
    if isinstance(x, ImageArray):  # on disk: read whole (a streamed run never gets here)
        return tf.constant(x.raw(np.arange(len(x))))
    return tf.constant(x)


class _CompiledLoop(_LoopBase):
    """Many steps per ``tf.function`` call over tensors in memory (TensorFlow backend)."""

    loop_name = "compiled"

    def run(self) -> TrainingResult:
        import tensorflow as tf

        self._started()
        data = self.data
        compiled = self.step
        compiled.reset_loop(self.seed, self.project.training.early_stopping)
        compiled.set_scaling(data.x_train)
        optimizer = compiled.optimizer
        x = stored_tensor(data.x_train)
        y = tf.constant(data.y_train)
        xv, yv = stored_tensor(data.x_val), tf.constant(data.y_val)
        n, bs, spe = compiled.n, compiled.bs, compiled.spe
        weights, safe, best = compiled.weights, compiled.safe, compiled.best
        safe_epoch, state, seed = compiled.safe_epoch, compiled.state, compiled.seed
        keep_best = self.keep_best

        def run_steps(max_steps: Any, epochs_left: Any) -> tuple[Any, Any, Any, Any]:
            return compiled.run_steps(x, y, xv, yv, seed, max_steps, epochs_left)

        eval_fn = compiled.evaluate
        steps_per_call = compiled.steps_per_call
        call_target = TARGET_CALL_S if self.listening else QUIET_CALL_S

        def trace() -> None:
            """Trace before calling, so that a Stop pressed while tracing ends the run here
            rather than after the first call's graph optimization too."""
            compiled.stop = self.stop
            try:
                compiled.run_steps.get_concrete_function(
                    x, y, xv, yv, seed, tf.constant(steps_per_call), tf.constant(self.epochs)
                )
            except _TraceStopped:
                self.status = "stopped"
            finally:
                compiled.stop = None

        trace()
        calls = slow_calls = 0
        while self.status != "stopped":
            epoch_before = int(state["epoch"].numpy())
            if epoch_before >= self.epochs:
                break
            if self.stop.is_set():
                self.status = "stopped"
                break
            step_before = int(optimizer.iterations.numpy())
            call_start = time.perf_counter()
            rows, last_loss, bad, halt = run_steps(
                tf.constant(steps_per_call), tf.constant(self.epochs - epoch_before)
            )
            call_time = time.perf_counter() - call_start
            calls += 1
            batch = int(state["batch"].numpy())
            epoch_now = int(state["epoch"].numpy())
            failed = bool(bad.numpy())
            val_failed_at = None
            for r in rows.numpy():
                if failed and not self._good(float(r[1]), float(r[3])):
                    if np.isfinite(r[1]):
                        val_failed_at = int(r[0])
                    continue  # the epoch the NaN appeared in is not a finished epoch
                self._row_ended(r)
            step = int(optimizer.iterations.numpy())
            if failed:
                if val_failed_at is not None:
                    self._nan(val_failed_at, spe, validation=True)
                elif spe == 1:  # the full-batch step also closed its epoch
                    self._nan(epoch_now - 1, 1)
                else:
                    self._nan(epoch_now, batch)
                break
            self._maybe_snapshot(epoch_now, batch, step, float(last_loss.numpy()))
            if bool(halt.numpy()):
                self.status = "early_stopped"
                break
            # Size the next call to ~50 ms so stop requests and live updates stay prompt (~200
            # ms without a listener); the first call includes tracing, so growth is capped at
            # 4x per call.
            per_step = call_time / max(1, step - step_before)
            target = int(call_target / max(per_step, 1e-6))
            steps_per_call = max(1, min(target, steps_per_call * 4, 100_000))
            compiled.steps_per_call = steps_per_call
            # not after the first call: it includes tracing
            slow_calls = slow_calls + 1 if calls > 1 and target < SPECULATE_MIN_STEPS else 0
            if compiled.speculative and slow_calls >= SPECULATE_SLOW_CALLS:
                compiled.stop_speculating()
                trace()
        epoch_now, batch = int(state["epoch"].numpy()), int(state["batch"].numpy())
        self._maybe_snapshot(
            epoch_now, batch, int(optimizer.iterations.numpy()), math.nan, force=True
        )
        samples = epoch_now * n + min(batch * bs, n)
        kept = int(safe_epoch.numpy())
        self.weights_epoch = None if kept < 0 else kept
        if self.status in ("failed", "stopped") and (kept != epoch_now - 1 or batch):
            for live, keep in zip(weights, safe):  # the end of the last good epoch
                live.assign(keep)
        if self.status == "failed":
            return self._finish(samples, {}, {})
        test = self._test_metrics(eval_fn)
        best_test: dict[str, float] = {}
        if keep_best and self.best_epoch is not None:
            current = [v.value for v in weights]
            for live, keep in zip(weights, best):
                live.assign(keep)
            best_test = self._test_metrics(eval_fn)
            for live, value in zip(weights, current):
                live.assign(value)
        return self._finish(samples, test, best_test)

    def _test_metrics(self, eval_fn: Any) -> dict[str, float]:
        import tensorflow as tf

        if not len(self.data.x_test):
            return {}
        loss, metric = eval_fn(stored_tensor(self.data.x_test), tf.constant(self.data.y_test))
        return {self.loss_name: float(loss.numpy()), self.metric_name: float(metric.numpy())}


class _EventCallback(keras.callbacks.Callback):
    """Bridges ``fit`` to events: every epoch, throttled progress and masks, prompt stop."""

    def __init__(self, loop: _FitLoop) -> None:
        super().__init__()
        self.loop = loop
        self.epoch = 0

    def on_train_begin(self, logs: Any = None) -> None:
        self.loop.safe_weights = self.model.get_weights()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch
        if self.loop.stop.is_set():
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        loop = self.loop
        loss = float((logs or {}).get("loss", math.nan))
        if not math.isfinite(loss):
            loop._nan(self.epoch, batch + 1)
            self.model.stop_training = True
            return
        if loop.stop.is_set():
            loop.status = "stopped"
            self.model.stop_training = True
        loop.batch = batch + 1
        loop._maybe_snapshot(self.epoch, batch + 1, int(self.model.optimizer.iterations), loss)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.loop.stop.is_set():
            self.model.stop_evaluating = True

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        loop = self.loop
        if loop.status in ("stopped", "failed") or loop.stop.is_set():
            if loop.status != "failed":
                loop.status = "stopped"
            return  # an interrupted epoch is not a finished epoch
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        current = self.model.get_weights()  # a copy: ~1 % of a fit epoch on small data
        finite = all(np.isfinite(w).all() for w in current)
        if not (finite and loop._good(row.get("loss", math.nan), row.get("val_loss", math.nan))):
            if math.isfinite(row.get("loss", math.nan)):
                loop._nan(epoch, loop.steps_per_epoch, validation=True)
            else:
                loop._nan(epoch, loop.steps_per_epoch)
            self.model.stop_training = True
            return
        loop.safe_weights, loop.weights_epoch = current, epoch
        loop._epoch_ended(row)
        val = row.get("val_loss", math.inf)
        if loop.keep_best and val < loop.best_val:
            loop.best_val = val
            loop.best_weights = self.model.get_weights()


class _Batches(keras.utils.PyDataset):
    """Scaled float batches of an image part, for ``fit`` and ``evaluate``: shuffled every
    epoch when given a seed, in order otherwise."""

    def __init__(self, x: ImageArray, y: np.ndarray, size: int, seed: int | None = None) -> None:
        super().__init__()
        self.x, self.y, self.size = x, y, max(1, size)
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.order = np.arange(len(x))
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.size)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self.order[i * self.size : (i + 1) * self.size]
        return self.x[idx], self.y[idx]

    def on_epoch_end(self) -> None:
        if self.rng is not None:
            self.order = self.rng.permutation(len(self.x))


class _FitLoop(_LoopBase):
    loop_name = "fit"

    def run(self) -> TrainingResult:
        self._started()
        model, data = self.model, self.data
        self.best_val, self.best_weights = math.inf, None
        self.safe_weights: list[Any] | None = None
        self.batch = 0
        model.compile(
            optimizer=make_optimizer(self.project),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=self.from_logits)
            if self.classify
            else "mse",
            metrics=[self.metric_name],
        )
        callbacks: list[Any] = [_EventCallback(self)]
        if self.project.training.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(patience=self.project.training.early_stopping)
            )
        if not self.stop.is_set() and isinstance(data.x_train, ImageArray):
            # Images stay compact (or on disk): fit reads scaled batches.
            model.fit(
                _Batches(data.x_train, data.y_train, self.batch_size, self.seed),
                epochs=self.epochs,
                validation_data=_Batches(cast(ImageArray, data.x_val), data.y_val, 256),
                verbose=0,
                callbacks=callbacks,
            )
        elif not self.stop.is_set():
            model.fit(
                data.x_train,
                data.y_train,
                batch_size=self.batch_size,
                epochs=self.epochs,
                validation_data=(data.x_val, data.y_val),
                shuffle=True,
                verbose=0,
                callbacks=callbacks,
            )
        else:
            self.status = "stopped"
        if self.status == "finished" and len(self.history) < self.epochs:
            self.status = "early_stopped"
        if self.status in ("failed", "stopped") and self.safe_weights is not None:
            model.set_weights(self.safe_weights)  # the end of the last good epoch
        samples = len(self.history) * len(data.x_train)
        if self.status == "failed" or not len(data.x_test):
            return self._finish(samples, {}, {})
        test = self._evaluate()
        best_test: dict[str, float] = {}
        if self.keep_best and self.best_weights is not None:
            current = model.get_weights()
            model.set_weights(self.best_weights)
            best_test = self._evaluate()
            model.set_weights(current)
        return self._finish(samples, test, best_test)

    def _evaluate(self) -> dict[str, float]:
        x, y = self.data.x_test, self.data.y_test
        if isinstance(x, ImageArray):
            values = self.model.evaluate(_Batches(x, y, 256), verbose=0, return_dict=True)
        else:
            values = self.model.evaluate(x, y, verbose=0, batch_size=2048, return_dict=True)
        return {k: float(v) for k, v in values.items() if k in (self.loss_name, self.metric_name)}
