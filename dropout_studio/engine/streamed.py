"""Training from disk: an image set over the memory budget, read a batch at a time.

The same step as the compiled loop (``train.py``): the same model, optimizer and loop state,
batches in the same per-epoch order (``stateless_shuffle`` seeded by the run's seed and the
epoch), each converted to floats inside the step, and the same end-of-epoch bookkeeping
(weights kept on NaN or stop, best weights, early stopping). Only the batches arrive from a
``tf.data`` pipeline that decodes the files ahead of the step, and validation and test sums are
taken a chunk at a time. A seed therefore gives the history of the in-memory run, within float
rounding of the validation mean. Stop is checked between batches.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dropout_studio.engine.images import ImageArray, stream
from dropout_studio.engine.train import (
    TrainingResult,
    _CompiledStep,
    _LoopBase,
    _TraceStopped,
)


class StreamSteps:
    """The per-batch ``tf.function``s of a streamed run, built on a :class:`_CompiledStep`."""

    def __init__(self, compiled: _CompiledStep, x: ImageArray, y: np.ndarray) -> None:
        import tensorflow as tf

        prepare, batch_loss, close_epoch, _ = compiled.stream_parts
        model, state = compiled.model, compiled.state
        # One trace for every batch size (the last batch of an epoch is smaller).
        batches = (
            tf.TensorSpec((None, *x.sample_shape), tf.uint8),
            tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)),
        )

        @tf.function(input_signature=batches, autograph=False)
        def train_batch(xb: Any, yb: Any) -> tuple[Any, Any]:
            compiled.check_stop()
            total = compiled.learn(xb, yb)
            state["batch"].assign_add(1)
            return total, tf.logical_not(tf.math.is_finite(total))

        @tf.function(input_signature=batches, autograph=False)
        def eval_batch(xb: Any, yb: Any) -> tuple[Any, Any]:
            losses, hits = batch_loss(yb, model(prepare(xb), training=False))
            return tf.reduce_sum(losses), tf.reduce_sum(hits)

        scalar = tf.TensorSpec((), tf.float32)

        @tf.function(input_signature=(scalar, scalar), autograph=False)
        def finish_epoch(val_loss: Any, val_metric: Any) -> tuple[Any, Any, Any]:
            rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
            rows, _, halt, bad = close_epoch(
                val_loss, val_metric, rows, tf.constant(0), tf.constant(False)
            )
            return rows.stack()[0], halt, bad

        self.train_batch, self.eval_batch, self.finish_epoch = train_batch, eval_batch, finish_epoch


class StreamedLoop(_LoopBase):
    """Epochs over a :class:`~dropout_studio.engine.images.ImageArray` read from disk."""

    loop_name = "streamed"

    def run(self) -> TrainingResult:
        self._started()
        data, compiled = self.data, self.step
        compiled.reset_loop(self.seed, self.project.training.early_stopping)
        compiled.set_scaling(data.x_train)
        optimizer, state = compiled.optimizer, compiled.state
        n, bs, spe = compiled.n, compiled.bs, compiled.spe
        x_train = data.x_train
        assert isinstance(x_train, ImageArray)
        compiled.stop = self.stop  # the first batch traces the step: Stop may end that too
        try:
            steps = compiled.streaming(x_train, data.y_train)
            self._epochs(steps, x_train, n, bs, spe)
        except _TraceStopped:
            self.status = "stopped"
        finally:
            compiled.stop = None
        epoch_now, batch = int(state["epoch"].numpy()), int(state["batch"].numpy())
        step = int(optimizer.iterations.numpy())
        self._maybe_snapshot(epoch_now, batch, step, math.nan, force=True)
        samples = epoch_now * n + min(batch * bs, n)
        kept = int(compiled.safe_epoch.numpy())
        self.weights_epoch = None if kept < 0 else kept
        if self.status in ("failed", "stopped") and (kept != epoch_now - 1 or batch):
            for live, keep in zip(compiled.weights, compiled.safe):  # the last good epoch's end
                live.assign(keep)
        if self.status == "failed":
            return self._finish(samples, {}, {})
        test: dict[str, float] = {}
        if self.status != "stopped":
            test = self._test_metrics(steps)
        elif len(data.x_test):  # reading the test set from disk would delay the stop
            self.notes.append("no test metrics: the run was stopped and its test set is on disk")
        best_test: dict[str, float] = {}
        if self.keep_best and self.best_epoch is not None:
            current = [v.value for v in compiled.weights]
            for live, keep in zip(compiled.weights, compiled.best):
                live.assign(keep)
            best_test = self._test_metrics(steps)
            for live, value in zip(compiled.weights, current):
                live.assign(value)
        return self._finish(samples, test, best_test)

    def _order(self, epoch: int, n: int, spe: int) -> np.ndarray:
        """The compiled loop's order for ``epoch``: shuffled per epoch unless one batch."""
        import tensorflow as tf

        if spe == 1:
            return np.arange(n)
        seed = tf.stack([self.step.seed, tf.constant(epoch, dtype=tf.int32)])
        perm = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int32), seed=seed)
        return perm.numpy()

    def _epochs(self, steps: StreamSteps, x: ImageArray, n: int, bs: int, spe: int) -> None:
        optimizer, y = self.step.optimizer, self.data.y_train
        for epoch in range(self.epochs):
            if self.stop.is_set():
                self.status = "stopped"
                return
            batch = 0
            for xb, yb in stream(x, y, self._order(epoch, n, spe), bs):
                if self.stop.is_set():
                    self.status = "stopped"
                    return
                total, bad = steps.train_batch(xb, yb)
                batch += 1
                if bool(bad.numpy()):
                    self._nan(epoch, batch)
                    return
                step = int(optimizer.iterations.numpy())
                self._maybe_snapshot(epoch, batch, step, float(total.numpy()))
            if self.has_val:
                sums = self._sums(steps, self.data.x_val, self.data.y_val)
                if sums is None:
                    self.status = "stopped"
                    return
                val_loss, val_metric = sums
            else:
                val_loss = val_metric = math.nan
            row, halt, bad = steps.finish_epoch(np.float32(val_loss), np.float32(val_metric))
            r = row.numpy()
            if bool(bad.numpy()):
                if np.isfinite(r[1]):
                    self._nan(epoch, spe, validation=True)
                else:
                    self._nan(epoch, batch)
                return
            self._row_ended(r)
            if bool(halt.numpy()):
                self.status = "early_stopped"
                return

    def _sums(self, steps: StreamSteps, x: Any, y: np.ndarray) -> tuple[float, float] | None:
        """Mean loss and metric over ``x`` a chunk at a time; ``None`` when Stop was set."""
        total = metric = 0.0
        for xb, yb in stream(x, y, np.arange(len(x)), self.step.eval_chunk):
            if self.stop.is_set():
                return None
            loss_sum, hit_sum = steps.eval_batch(xb, yb)
            total += float(loss_sum.numpy())
            metric += float(hit_sum.numpy())
        m = max(1, len(x))
        return total / m, metric / m

    def _test_metrics(self, steps: StreamSteps) -> dict[str, float]:
        if not len(self.data.x_test):
            return {}
        sums = self._sums(steps, self.data.x_test, self.data.y_test)
        if sums is None:  # Stop while the test set was read
            self.notes.append("no test metrics: the run was stopped while they were computed")
            return {}
        return {self.loss_name: sums[0], self.metric_name: sums[1]}
