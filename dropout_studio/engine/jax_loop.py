"""Keras on JAX: the compiled loop as one ``jax.jit`` function (``KERAS_BACKEND=jax``).

The same design as the TensorFlow compiled loop in ``train.py``: one call runs many training
steps, epoch boundaries and validation passes over arrays already on the device, sized to about
50 ms so stop requests and live updates stay prompt. The step count and the number of epochs
left are traced arguments, so the adaptive call sizing never recompiles. The model's state lives
in the call's carry (``model.stateless_call`` + ``optimizer.stateless_apply``, as in the Keras
guide "Writing a training loop from scratch in JAX"); it is written back to the model's
variables at each mask snapshot (about 20 Hz) and at the end, so ``read_masks``, saving and
export see the trained model.
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from typing import Any

import keras
import numpy as np

from dropout_studio.engine.train import (
    SNAPSHOT_INTERVAL_S,
    TARGET_CALL_S,
    TrainingResult,
    _LoopBase,
    make_optimizer,
)

MAX_ROWS = 1024  # epochs one call may finish: the per-call history buffer has a static shape
EVAL_CHUNK = 4096  # validation/test samples per forward pass


def _device_arrays(values: np.ndarray, integer: bool) -> Any:
    import jax.numpy as jnp

    return jnp.asarray(values.astype("int32" if integer else "float32", copy=False))


def _padded(x: np.ndarray, y: np.ndarray, y_int: bool) -> tuple[Any, Any, Any]:
    """``x``, ``y`` padded to whole chunks when longer than one chunk, and the 0/1 weights."""
    m = len(x)
    size = m if m <= EVAL_CHUNK else math.ceil(m / EVAL_CHUNK) * EVAL_CHUNK
    weights = np.zeros(size, dtype="float32")
    weights[:m] = 1.0
    if size != m:
        x = np.concatenate([x, np.zeros((size - m, *x.shape[1:]), dtype=x.dtype)])
        y = np.concatenate([y, np.zeros((size - m, *y.shape[1:]), dtype=y.dtype)])
    x_int = np.issubdtype(x.dtype, np.integer)
    return _device_arrays(x, x_int), _device_arrays(y, y_int), _device_arrays(weights, False)


class JaxLoop(_LoopBase):
    """Many steps and epochs per ``jax.jit`` call over arrays on the device (JAX backend)."""

    loop_name = "jax"

    def run(self) -> TrainingResult:
        import jax
        import jax.numpy as jnp
        from jax import lax

        self._started()
        data, model = self.data, self.model
        optimizer = make_optimizer(self.project)
        optimizer.build(model.trainable_variables)
        classify, from_logits = self.classify, self.from_logits
        n, bs, spe = len(data.x_train), self.batch_size, self.steps_per_epoch
        tail = n - (spe - 1) * bs  # the last batch of an epoch may be smaller
        has_val, keep_best = self.has_val, self.keep_best
        x_int = np.issubdtype(data.x_train.dtype, np.integer)
        x = _device_arrays(np.asarray(data.x_train), x_int)  # image parts: scaled floats
        y = _device_arrays(data.y_train, classify)
        xv, yv, wv = _padded(np.asarray(data.x_val), data.y_val, classify)
        m_val = max(1, len(data.x_val))
        # Kept on NaN or stop, and for keep_best: every trainable weight and moving statistic.
        kept_nt = [i for i, v in enumerate(model.non_trainable_variables) if "moving" in v.path]

        def kept(c: dict[str, Any]) -> list[Any]:
            return [*c["tv"], *(c["ntv"][i] for i in kept_nt)]

        def batch_loss(yb: Any, pred: Any) -> tuple[Any, Any]:
            if classify:
                losses = keras.losses.sparse_categorical_crossentropy(
                    yb, pred, from_logits=from_logits
                )
                hits = (jnp.argmax(pred, -1) == yb).astype("float32")
                return losses, hits
            err = jnp.reshape(pred, yb.shape) - yb
            return jnp.square(err), jnp.abs(err)

        def evaluate(tv: Any, ntv: Any, xe: Any, ye: Any, we: Any, m: Any) -> tuple[Any, Any]:
            def chunk(xc: Any, yc: Any, wc: Any) -> tuple[Any, Any]:
                pred, _ = model.stateless_call(tv, ntv, xc, training=False)
                losses, hits = batch_loss(yc, pred)
                return jnp.sum(losses * wc), jnp.sum(hits * wc)

            size = xe.shape[0]
            if size <= EVAL_CHUNK:
                total, metric = chunk(xe, ye, we)
            else:

                def body(i: Any, acc: tuple[Any, Any]) -> tuple[Any, Any]:
                    start = i * EVAL_CHUNK
                    part = chunk(
                        lax.dynamic_slice_in_dim(xe, start, EVAL_CHUNK),
                        lax.dynamic_slice_in_dim(ye, start, EVAL_CHUNK),
                        lax.dynamic_slice_in_dim(we, start, EVAL_CHUNK),
                    )
                    return acc[0] + part[0], acc[1] + part[1]

                zero = jnp.zeros((), "float32")
                total, metric = lax.fori_loop(0, size // EVAL_CHUNK, body, (zero, zero))
            return total / m, metric / m

        def compute_loss(tv: Any, ntv: Any, xb: Any, yb: Any) -> tuple[Any, Any]:
            pred, ntv, reg = model.stateless_call(tv, ntv, xb, training=True, return_losses=True)
            losses, hits = batch_loss(yb, pred)
            data_loss = jnp.mean(losses)
            total = data_loss + sum(reg) if reg else data_loss
            return total, (ntv, data_loss, jnp.sum(hits))

        grad_fn = jax.value_and_grad(compute_loss, has_aux=True)

        def step(c: dict[str, Any], size: int) -> dict[str, Any]:
            if spe == 1:
                xb, yb = c["x"], c["y"]  # a full batch needs no gather
            else:
                idx = lax.dynamic_slice_in_dim(c["perm"], c["batch"] * bs, size)
                xb, yb = jnp.take(c["x"], idx, axis=0), jnp.take(c["y"], idx, axis=0)
            (total, (ntv, data_loss, hits)), grads = grad_fn(c["tv"], c["ntv"], xb, yb)
            tv, ov = optimizer.stateless_apply(c["ov"], grads, c["tv"])
            return {
                **c,
                "tv": tv,
                "ntv": ntv,
                "ov": ov,
                "loss_sum": c["loss_sum"] + data_loss * size,
                "metric_sum": c["metric_sum"] + hits,
                "count": c["count"] + size,
                "last_loss": total,
                "bad": jnp.logical_not(jnp.isfinite(total)),
                "batch": c["batch"] + 1,
                "done": c["done"] + 1,
            }

        def end_epoch(c: dict[str, Any]) -> dict[str, Any]:
            nan = jnp.array(jnp.nan, "float32")
            if has_val:
                val_loss, val_metric = evaluate(c["tv"], c["ntv"], c["xv"], c["yv"], c["wv"], m_val)
            else:
                val_loss, val_metric = nan, nan
            train_loss = c["loss_sum"] / c["count"]
            row = jnp.stack(
                [
                    c["epoch"].astype("float32"),
                    train_loss,
                    c["metric_sum"] / c["count"],
                    val_loss,
                    val_metric,
                ]
            )
            ok = jnp.logical_and(jnp.logical_not(c["bad"]), jnp.isfinite(train_loss))
            if has_val:  # non-finite validation loss: the weights themselves went bad
                ok = jnp.logical_and(ok, jnp.isfinite(val_loss))
            live = kept(c)
            # The training loss predates the epoch's last update, which may overflow the
            # weights: only finite weights become the safe copy.
            ok = jnp.logical_and(ok, jnp.all(jnp.array([jnp.isfinite(v).all() for v in live])))
            improved = val_loss < c["best_val"]
            since_best = jnp.where(improved, 0, c["since_best"] + 1)
            out = {
                **c,
                "rows": lax.dynamic_update_slice(c["rows"], row[None, :], (c["nrows"], 0)),
                "nrows": c["nrows"] + 1,
                "bad": jnp.logical_not(ok),
                # A select, not a copy in a cond: XLA fuses it into the step (see bench/).
                "safe": [jnp.where(ok, v, s) for v, s in zip(live, c["safe"])],
                "safe_epoch": jnp.where(ok, c["epoch"], c["safe_epoch"]),
                "best_val": jnp.minimum(val_loss, c["best_val"]),
                "since_best": since_best,
                "halt": jnp.logical_and(c["patience"] > 0, since_best >= c["patience"]),
                "batch": jnp.zeros((), "int32"),
                "epoch": c["epoch"] + 1,
                "loss_sum": jnp.zeros((), "float32"),
                "metric_sum": jnp.zeros((), "float32"),
                "count": jnp.zeros((), "float32"),
                "finished": c["finished"] + 1,
            }
            if keep_best:
                out["best"] = [jnp.where(improved, v, b) for v, b in zip(live, c["best"])]
            return out

        def shuffle(c: dict[str, Any]) -> dict[str, Any]:
            key = jax.random.fold_in(jax.random.key(c["seed"]), c["epoch"])
            return {**c, "perm": jax.random.permutation(key, n).astype("int32")}

        def body(c: dict[str, Any]) -> dict[str, Any]:
            if spe == 1:
                return end_epoch(step(c, n))
            c = lax.cond(c["batch"] == 0, shuffle, lambda c: c, c)
            if tail == bs:
                c = step(c, bs)
            else:
                c = lax.cond(
                    c["batch"] == spe - 1, lambda c: step(c, tail), lambda c: step(c, bs), c
                )
            return lax.cond(
                jnp.logical_and(c["batch"] == spe, jnp.logical_not(c["bad"])),
                end_epoch,
                lambda c: c,
                c,
            )

        def run_steps(carry: dict[str, Any], max_steps: Any, epochs_left: Any) -> dict[str, Any]:
            c = {
                **carry,
                "rows": jnp.zeros((MAX_ROWS, 5), "float32"),
                "nrows": jnp.zeros((), "int32"),
                "done": jnp.zeros((), "int32"),
                "finished": jnp.zeros((), "int32"),
                "last_loss": jnp.zeros((), "float32"),
                "bad": jnp.zeros((), "bool"),
                "halt": jnp.zeros((), "bool"),
            }

            def cond(c: dict[str, Any]) -> Any:
                going = jnp.logical_and(c["done"] < max_steps, c["finished"] < epochs_left)
                return jnp.logical_and(going, jnp.logical_not(jnp.logical_or(c["bad"], c["halt"])))

            return lax.while_loop(cond, body, c)

        run_jit = jax.jit(run_steps)
        eval_jit = jax.jit(evaluate)
        tv0 = [v.value for v in model.trainable_variables]
        ntv0 = [v.value for v in model.non_trainable_variables]
        carry: dict[str, Any] = {
            "tv": tv0,
            "ntv": ntv0,
            "ov": [v.value for v in optimizer.variables],
            "x": x,
            "y": y,
            "xv": xv,
            "yv": yv,
            "wv": wv,
            "seed": jnp.asarray(self.seed % 2**32, "uint32"),
            "patience": jnp.asarray(self.project.training.early_stopping, "int32"),
            "epoch": jnp.zeros((), "int32"),
            "batch": jnp.zeros((), "int32"),
            "perm": jnp.arange(n, dtype="int32"),
            "loss_sum": jnp.zeros((), "float32"),
            "metric_sum": jnp.zeros((), "float32"),
            "count": jnp.zeros((), "float32"),
            "best_val": jnp.asarray(np.inf, "float32"),
            "since_best": jnp.zeros((), "int32"),
            "safe": [*tv0, *(ntv0[i] for i in kept_nt)],
            "safe_epoch": jnp.asarray(-1, "int32"),
        }
        if keep_best:
            carry["best"] = list(carry["safe"])
        per_call = ("rows", "nrows", "done", "finished", "last_loss", "bad", "halt")
        test_eval = None
        if len(data.x_test):
            # Traced here, compiled on the other core while training runs: the test evaluation
            # is then ready when training ends instead of adding its compile to the run.
            xt, yt, wt = _padded(np.asarray(data.x_test), data.y_test, classify)
            m_test = np.float32(len(data.x_test))
            lowered = eval_jit.lower(tv0, ntv0, xt, yt, wt, m_test)
            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jax-compile")
            test_eval = pool.submit(lowered.compile)
            pool.shutdown(wait=False)  # the thread ends once the compile is done
        self.state = carry
        epoch_now, batch, step_count = 0, 0, 0
        steps_per_call = 1
        while True:
            if epoch_now >= self.epochs:
                break
            if self.stop.is_set():
                self.status = "stopped"
                break
            epochs_left = min(self.epochs - epoch_now, MAX_ROWS)
            call_start = time.perf_counter()
            out = run_jit(carry, np.int32(steps_per_call), np.int32(epochs_left))
            rows, nrows, done, last_loss, bad, halt, epoch_now, batch = jax.device_get(
                (
                    out["rows"],
                    out["nrows"],
                    out["done"],
                    out["last_loss"],
                    out["bad"],
                    out["halt"],
                    out["epoch"],
                    out["batch"],
                )
            )
            call_time = time.perf_counter() - call_start
            carry = {k: v for k, v in out.items() if k not in per_call}
            self.state = carry
            epoch_now, batch, done = int(epoch_now), int(batch), int(done)
            step_count += done
            failed = bool(bad)
            val_failed_at = None
            for r in rows[: int(nrows)]:
                if failed and not self._good(float(r[1]), float(r[3])):
                    if np.isfinite(r[1]):
                        val_failed_at = int(r[0])
                    continue  # the epoch the NaN appeared in is not a finished epoch
                self._row_ended(r)
            if failed:
                if val_failed_at is not None:
                    self._nan(val_failed_at, spe, validation=True)
                elif spe == 1:  # the full-batch step also closed its epoch
                    self._nan(epoch_now - 1, 1)
                else:
                    self._nan(epoch_now, batch)
                break
            self._maybe_snapshot(epoch_now, batch, step_count, float(last_loss))
            if bool(halt):
                self.status = "early_stopped"
                break
            # Size the next call to ~50 ms; the first call includes compiling, so growth is
            # capped at 4x per call. The count is a traced argument: no recompilation.
            per_step = call_time / max(1, done)
            target = int(TARGET_CALL_S / max(per_step, 1e-6))
            steps_per_call = max(1, min(target, steps_per_call * 4, 100_000))
        kept_epoch = int(carry["safe_epoch"])
        self.weights_epoch = None if kept_epoch < 0 else kept_epoch
        if self.status in ("failed", "stopped") and (kept_epoch != epoch_now - 1 or batch):
            carry = self._with_kept(carry, carry["safe"], kept_nt)  # end of the last good epoch
        self.state = carry
        self._write_back(carry)
        self._maybe_snapshot(epoch_now, batch, step_count, math.nan, force=True)
        samples = epoch_now * n + min(batch * bs, n)
        if self.status == "failed" or test_eval is None:
            return self._finish(samples, {}, {})
        compiled = test_eval.result()
        test = self._metrics(compiled(carry["tv"], carry["ntv"], xt, yt, wt, m_test))
        best_test: dict[str, float] = {}
        if keep_best and self.best_epoch is not None:
            best = self._with_kept(carry, carry["best"], kept_nt)
            best_test = self._metrics(compiled(best["tv"], best["ntv"], xt, yt, wt, m_test))
        return self._finish(samples, test, best_test)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _with_kept(carry: dict[str, Any], values: list[Any], kept_nt: list[int]) -> dict[str, Any]:
        """``carry`` with the trainable weights and moving statistics replaced by ``values``."""
        count = len(carry["tv"])
        ntv = list(carry["ntv"])
        for i, value in zip(kept_nt, values[count:]):
            ntv[i] = value
        return {**carry, "tv": list(values[:count]), "ntv": ntv}

    def _write_back(self, carry: dict[str, Any], records_only: bool = False) -> None:
        """Copy the carry's state into the model's variables (cheap: JAX arrays are shared)."""
        model = self.model
        if not records_only:
            for variable, value in zip(model.trainable_variables, carry["tv"]):
                variable.assign(value)
        for variable, value in zip(model.non_trainable_variables, carry["ntv"]):
            variable.assign(value)

    def _maybe_snapshot(
        self, epoch: int, batch: int, step: int, loss: float, force: bool = False
    ) -> None:
        if not force and time.perf_counter() - self.last_snapshot < SNAPSHOT_INTERVAL_S:
            return
        self._write_back(self.state, records_only=True)  # masks and drop counts
        super()._maybe_snapshot(epoch, batch, step, loss, force=True)

    def _metrics(self, values: tuple[Any, Any]) -> dict[str, float]:
        loss, metric = values
        return {self.loss_name: float(loss), self.metric_name: float(metric)}
