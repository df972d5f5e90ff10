"""Training speed where users wait: the engine against Keras ``fit`` and PyTorch.

Every contender runs in its own fresh process, contenders interleaved and repeated; medians are
printed with the goal (or the issue's reference figure) beside every number.

1. many small batches: ``mlp-classic``, 6,000 training samples, batch 32, validation every
   epoch. Steady-state throughput (samples/s over the epochs after the first) and the time to
   the first finished epoch (from building the model: tracing/compiling included), for the
   TensorFlow engine, Keras-on-JAX engine (``KERAS_BACKEND=jax`` subprocess), ``fit`` with
   defaults, ``fit`` with ``steps_per_execution=16`` and a PyTorch eager loop. Goal: the JAX
   engine's steady state not slower than the TensorFlow engine's.
2. small data, many epochs: 60 samples in one batch, a 500-unit layer with dropout, ms/epoch
   (in this process; PyTorch only when this Python has it).
3. the goals of issue 11 item 3 on 30 training samples (Dense 500 + dropout 0.4, full batch,
   validation every epoch): steady per-epoch time ((wall_time_s of 4,100 epochs - that of 100)
   / 4,000; goal: JAX >= 2x faster than PyTorch), a whole cold 4,000-epoch run (goal: >= 1.3x),
   the time to the first finished epoch, and what the NaN safety copy of the weights costs.
4. experiments, trace once per experiment (issue 11 item 2): mean per-run ``wall_time_s`` of
   ``compare --seeds 5 --epochs 500`` (compare.csv) against a standalone ``train --epochs
   500``'s on the 30-sample task (goal: <= 0.35x), the whole-run time of that compare (5 seeds x
   2 arms), and the ``sweep`` goal against an older commit (``--old PATH``, a ``git worktree``),
   beside a reference: small-data's model as a bare ``tf.while_loop`` with none of the engine's
   bookkeeping (not a bound: the engine's own loop has run faster than it).

PyTorch runs through ``bench/torch_workers.py`` (numpy + torch only), by this Python when it has
torch, or by ``--torch-python PATH`` / ``BENCH_TORCH_PYTHON`` (e.g. a separate venv: torch is no
dependency of the project). Without one, the benchmark says which figures it skips.

Run: ``python bench/bench_training.py [--repeats 3] [--only 1] [--torch-python PY] [--old DIR]``.
These machines are noisy (±15-30 %), so only ratios from the same run mean anything.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

from dropout_studio.core.project import load_preset
from dropout_studio.engine.build import build_model, plain_clone
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.train import train

TORCH_WORKERS = str(Path(__file__).with_name("torch_workers.py"))
TORCH_PYTHON: str | None = None  # set by main(): a Python that has torch, or None


def resolve_torch_python(flag: str | None) -> str | None:
    """``--torch-python``, else ``BENCH_TORCH_PYTHON``, else this Python if it has torch."""
    chosen = flag or os.environ.get("BENCH_TORCH_PYTHON")
    if chosen:
        probe = subprocess.run(
            [chosen, "-c", "import torch, numpy"], capture_output=True, text=True, timeout=120
        )
        if probe.returncode == 0:
            return chosen
        print(f"  ({chosen} cannot import torch and numpy: {probe.stderr.strip()[-200:]})")
        return None
    return sys.executable if importlib.util.find_spec("torch") is not None else None


def say_torch_skipped(figures: str) -> None:
    print(
        f"  PyTorch: skipped ({figures}): no Python with torch; pass --torch-python PATH or set"
        " BENCH_TORCH_PYTHON (torch is not a dependency of the project)"
    )


def _spawn_torch(args: list[str]) -> dict[str, float] | None:
    assert TORCH_PYTHON is not None
    proc = subprocess.run(
        [TORCH_PYTHON, TORCH_WORKERS, *args], capture_output=True, text=True, timeout=900
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        print(f"  torch {args[0]}: failed ({proc.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(lines[-1])


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# ----------------------------------------------------------------------------- regime 1

MLP_SAMPLES = 10_000  # 6,000 training samples after the 20 % validation and test splits
MLP_EPOCHS = 11  # the first, then 10 steady epochs
GOAL_JAX_MLP = 1.0  # the JAX engine's steady state at least the TensorFlow engine's
# The table (quiet 2-core CPU): steady samples/s and first epoch s.
REFERENCE_MLP = {
    "tf-engine": (58_900, 0.62),
    "fit": (16_900, 1.01),
    "fit-spe16": (30_900, 1.10),
    "torch": (33_800, 0.20),
}


def mlp_project():
    project = load_preset("mlp-classic").with_training(epochs=MLP_EPOCHS, batch_size=32)
    return replace(project, dataset=project.dataset.with_options(samples=MLP_SAMPLES))


def _mlp_engine_worker() -> dict[str, float]:
    """The engine (this process's backend): epoch ends timed as the events arrive."""
    project = mlp_project()
    data = load_dataset(project.dataset, 0)
    ends: list[float] = []

    def on_event(event) -> None:
        if event.kind == "epoch_ended":
            ends.append(time.perf_counter())

    start = time.perf_counter()
    train(project, data, on_event, threading.Event())
    steady = len(data.x_train) * (len(ends) - 1) / (ends[-1] - ends[0])
    return {"first_epoch_s": ends[0] - start, "steady_sps": steady}


def _mlp_fit_worker(steps_per_execution: int = 1) -> dict[str, float]:
    project = mlp_project()
    data = load_dataset(project.dataset, 0)
    ends: list[float] = []

    class Ends(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            ends.append(time.perf_counter())

    start = time.perf_counter()
    model = plain_clone(build_model(project.network, project.training.seed))
    model.compile(
        optimizer=keras.optimizers.Adam(project.training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=project.training.batch_size,
        epochs=project.training.epochs,
        validation_data=(data.x_val, data.y_val),
        callbacks=[Ends()],
        verbose=0,
    )
    steady = len(data.x_train) * (len(ends) - 1) / (ends[-1] - ends[0])
    return {"first_epoch_s": ends[0] - start, "steady_sps": steady}


def _torch_mlp_files(folder: Path) -> list[str]:
    """The data and the network of ``mlp-classic`` for ``torch_workers.py mlp``."""
    project = mlp_project()
    data = load_dataset(project.dataset, 0)
    np.savez(folder / "mlp.npz", x=data.x_train, y=data.y_train, xv=data.x_val, yv=data.y_val)
    dense = []
    layers = project.network.layers
    for layer in layers[1:]:
        if layer.kind == "Dense":
            rate = layer.dropout.rate if layer.dropout.active else 0.0
            dense.append((layer.option("units"), layer.option("activation") == "relu", rate))
    spec = {
        "dense": dense,
        "input_dropout": layers[0].dropout.rate if layers[0].dropout.active else 0.0,
        "learning_rate": project.training.learning_rate,
        "batch_size": project.training.batch_size,
        "epochs": project.training.epochs,
    }
    (folder / "mlp.json").write_text(json.dumps(spec))
    return ["mlp", str(folder / "mlp.npz"), str(folder / "mlp.json")]


def mlp_regime(repeats: int) -> None:
    names = ["tf-engine", "jax-engine", "fit", "fit-spe16"]
    if importlib.util.find_spec("jax") is None:
        names.remove("jax-engine")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in [*names, "torch"]}
    with tempfile.TemporaryDirectory() as tmp:
        torch_args = _torch_mlp_files(Path(tmp)) if TORCH_PYTHON else None
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as cache:  # a first run ever on JAX: no cache
                for name in names:  # interleaved fresh processes
                    got = _spawn("mlp-" + name, cache)
                    if got is not None:
                        runs[name].append(got)
            if torch_args:
                got = _spawn_torch(torch_args)
                if got is not None:
                    runs["torch"].append(got)
    project = mlp_project()
    print(
        f"\n1. many small batches: mlp-classic, {int(MLP_SAMPLES * 0.6):,} training samples,"
        f" batch 32, {MLP_EPOCHS} epochs, validation every epoch (medians of {repeats}"
        " interleaved fresh processes)"
    )
    del project
    if not TORCH_PYTHON:
        say_torch_skipped("the torch row of regime 1 and every ratio against it")
    med = {name: _median(rs) for name, rs in runs.items() if rs}
    print(
        f"  {'contender':<11} {'steady samples/s':>17} {'first epoch s':>14}   "
        "issue 11 reference (quiet machine)"
    )
    for name, m in med.items():
        ref = REFERENCE_MLP.get(name)
        note = f"{ref[0]:,} samples/s, {ref[1]:.2f} s" if ref else "-"
        print(f"  {name:<11} {m['steady_sps']:17,.0f} {m['first_epoch_s']:14.2f}   {note}")
    engine = med.get("tf-engine")
    if engine is None:
        return
    for name, m in med.items():
        if name == "tf-engine":
            continue
        steady = engine["steady_sps"] / m["steady_sps"]
        first = m["first_epoch_s"] / engine["first_epoch_s"]
        print(
            f"  tf-engine vs {name}: steady {steady:.2f}x, first epoch {first:.2f}x (speed"
            " ratios, higher = the TF engine faster; no goal set for these)"
        )
    if "jax-engine" in med:
        ratio = med["jax-engine"]["steady_sps"] / engine["steady_sps"]
        print(
            f"  jax-engine steady / tf-engine steady = {ratio:.2f}x (goal >= {GOAL_JAX_MLP:.1f}x,"
            f" not slower: {_verdict(ratio >= GOAL_JAX_MLP)})"
        )
    else:
        print("  (jax is not installed: pip install -e '.[jax]' to measure Keras on JAX)")


# ----------------------------------------------------------------------------- regime 2


def engine_run(project, data) -> tuple[float, int]:
    """Seconds and finished epochs, with events consumed as the GUI would (throttled)."""
    events = []
    start = time.perf_counter()
    result = train(project, data, events.append, threading.Event())
    return time.perf_counter() - start, len(result.history)


def fit_run(project, data) -> tuple[float, int]:
    model = plain_clone(build_model(project.network, project.training.seed))
    model.compile(
        optimizer=keras.optimizers.Adam(project.training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=project.training.batch_size,
        epochs=project.training.epochs,
        validation_data=(data.x_val, data.y_val),
        verbose=0,
    )
    return time.perf_counter() - start, project.training.epochs


def small_regime(title, project, data, repeats) -> None:
    """ms/epoch of whole runs in this process (tracing included), engine vs fit."""
    per_epoch: dict[str, list[float]] = {"engine": [], "fit": []}
    for _ in range(repeats):
        for name, run in (("engine", engine_run), ("fit", fit_run)):
            project_for = project
            if name == "fit":
                project_for = project.with_training(epochs=min(project.training.epochs, 150))
            seconds, epochs = run(project_for, data)
            per_epoch[name].append(1000 * seconds / epochs)
    print(f"\n{title}")
    print("  (PyTorch on this task: see regime 3, which runs it in its own process)")
    medians = {name: statistics.median(values) for name, values in per_epoch.items()}
    for name, value in medians.items():
        print(
            f"  {name:<7} median {value:10.2f} ms/epoch   runs: "
            + ", ".join(f"{v:.1f}" for v in per_epoch[name])
            + ("   (issue 11 reference: engine 0.49, fit 51.6 on 30 samples)")
        )
    print(
        f"  engine speed / fit speed = {medians['fit'] / medians['engine']:.2f}x"
        " (no goal set; the issue measured 105x on 30 samples)"
    )


# ----------------------------------------------------------------------------- regime 3

GOAL_STEADY = 2.0  # JAX engine steady ms/epoch at least 2x faster than PyTorch's
GOAL_COLD = 1.3  # whole cold 4,000-epoch run at least 1.3x faster than PyTorch's
GOAL_COPY_PCT = 5.0  # the NaN safety copy costs at most 5 % of an epoch


def small_task(epochs: int):
    """30 training digits, Dense 500 + dropout 0.4, full batch, validation every epoch."""
    from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec

    project = load_preset("small-data")
    network = NetworkSpec(
        (
            LayerSpec.make("Input", shape=(64,)),
            LayerSpec.make(
                "Dense", units=500, activation="relu", dropout=DropoutSpec("dropout", 0.4)
            ),
            LayerSpec.make("Dense", units=10, activation="softmax"),
        )
    )
    project = replace(project, network=network, dataset=replace(project.dataset, train_size=30))
    return project.with_training(epochs=epochs, batch_size=30, seed=0)


def _engine_worker() -> dict[str, float]:
    """In a fresh process: a cold 4,000-epoch ``train()``, then 100 and 4,100 epochs."""
    data = load_dataset(small_task(1).dataset, 0)
    first: list[float] = []

    def on_event(event) -> None:
        if event.kind == "epoch_ended" and not first:
            first.append(time.perf_counter())

    start = time.perf_counter()
    cold = train(small_task(4000), data, on_event, threading.Event())
    out = {"cold_s": time.perf_counter() - start, "first_epoch_s": first[0] - start}
    out["cold_wall_time_s"] = cold.wall_time
    walls = {e: train(small_task(e), data).wall_time for e in (100, 4100)}
    out["steady_ms"] = (walls[4100] - walls[100]) / 4000 * 1000
    out["copy_us"] = _copy_cost_us(small_task(1))
    return out


def _copy_cost_us(project) -> float:
    """Microseconds one end-of-epoch safety copy of the weights costs inside a compiled loop.

    Times a compiled loop of K iterations with and without exactly the copy the engine does
    (a conditional copy on TensorFlow, a select XLA fuses on JAX): a direct measure, where
    differencing two noisy training runs could not resolve a few percent.
    """
    model = build_model(project.network, 0)
    weights = [v for v in model.weights if v.trainable or "moving" in v.path]
    k = 4000
    times: dict[bool, list[float]] = {True: [], False: []}
    if keras.backend.backend() == "jax":
        import jax
        import jax.numpy as jnp
        from jax import lax

        def make(copy: bool):
            def run(ws, safe):
                def body(i, c):
                    ws, safe, loss = c
                    ws = [w * 1.0000001 for w in ws]  # the live weights change every step
                    loss = loss * 1.0001
                    if copy:
                        ok = jnp.isfinite(loss)
                        safe = [jnp.where(ok, w, s) for w, s in zip(ws, safe)]
                    return ws, safe, loss

                return lax.fori_loop(0, k, body, (ws, safe, jnp.float32(1.0)))

            return jax.jit(run)

        values = [w.value for w in weights]
        fns = {flag: make(flag) for flag in (True, False)}
        for fn in fns.values():
            jax.block_until_ready(fn(values, values))
        for _ in range(5):
            for flag, fn in fns.items():
                t = time.perf_counter()
                jax.block_until_ready(fn(values, values))
                times[flag].append(time.perf_counter() - t)
    else:
        import tensorflow as tf

        live = [tf.Variable(w.value) for w in weights]
        safe = [tf.Variable(w.value) for w in weights]
        loss = tf.Variable(1.0)

        def make(copy: bool):
            @tf.function
            def run():
                i = tf.constant(0)
                while i < k:
                    for w in live:
                        w.assign(w * 1.0000001)
                    loss.assign(loss * 1.0001)
                    if copy:
                        if tf.math.is_finite(loss):
                            for keep, w in zip(safe, live):
                                keep.assign(w)
                    i += 1

            return run

        fns = {flag: make(flag) for flag in (True, False)}
        for fn in fns.values():
            fn()
        for _ in range(5):
            for flag, fn in fns.items():
                t = time.perf_counter()
                fn()
                times[flag].append(time.perf_counter() - t)
    per = {flag: statistics.median(values) / k for flag, values in times.items()}
    return max(0.0, per[True] - per[False]) * 1e6


WORKERS = {
    "tf-engine": ("tensorflow", _engine_worker),
    "jax-engine": ("jax", _engine_worker),
    "jax-cached": ("jax", _engine_worker),
    "mlp-tf-engine": ("tensorflow", _mlp_engine_worker),
    "mlp-jax-engine": ("jax", _mlp_engine_worker),
    "mlp-fit": ("tensorflow", _mlp_fit_worker),
    "mlp-fit-spe16": ("tensorflow", lambda: _mlp_fit_worker(16)),
}
# jax-engine starts with an empty compilation cache (a first run ever); jax-cached is a fresh
# process whose cache that run filled (the same project trained again).


GOAL_COMPARE = 0.35  # mean per-run wall_time_s in a compare <= 0.35x a standalone train's
GOAL_SWEEP = 3.0  # the rate sweep at least 3x faster than at the older commit


def _cli_worker() -> dict[str, float]:
    """Runs ``dropout-studio`` with the arguments in BENCH_CLI_ARGS (JSON) in this process."""
    from dropout_studio.cli import main as cli_main

    args = json.loads(os.environ["BENCH_CLI_ARGS"])
    start = time.perf_counter()
    code = cli_main(args)
    return {"whole_s": time.perf_counter() - start, "code": float(code or 0)}


def _spawn_cli(args: list[str], pythonpath: str | None = None) -> dict[str, float] | None:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "BENCH_CLI_ARGS": json.dumps(args)}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", "cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        print(f"  {args[0]}: failed ({proc.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(lines[-1])


def experiment_goals(
    repeats: int, old: str | None, sweep_sizes: list[str], sweep: bool = True
) -> None:
    import csv

    from dropout_studio.core.project import save_project

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_project(small_task(500), folder / "small30.json")
        save_project(load_preset("small-data"), folder / "small-data.json")
        rows: dict[str, list[float]] = {
            "train wall_time_s": [],
            "compare per-run wall_time_s": [],
            "compare whole run s": [],
        }
        sweeps: dict[str, list[float]] = {"new": [], "old": []}
        floors: list[float] = []
        for r in range(repeats):
            out = folder / f"t{r}"
            got = _spawn_cli(["train", str(folder / "small30.json"), "--out", str(out), "--quiet"])
            if got is not None:
                summary = json.loads((out / "summary.json").read_text())
                rows["train wall_time_s"].append(summary["wall_time_s"])
            out = folder / f"c{r}"
            got = _spawn_cli(
                [
                    *("compare", str(folder / "small30.json"), "--seeds", "5"),
                    *("--epochs", "500", "--out", str(out)),
                ]
            )
            if got is not None:
                with open(out / "compare.csv", newline="") as fh:
                    table = list(csv.DictReader(fh))
                runs = sum(int(t["seeds"]) for t in table)
                total = sum(float(t["wall_time_s"]) * int(t["seeds"]) for t in table)
                rows["compare per-run wall_time_s"].append(total / runs)
                rows["compare whole run s"].append(got["whole_s"])
            if not sweep:
                continue
            sweep_args = ["--rates", "0", "0.1", "0.2", "0.3", "0.5", "0.7", "--seeds", "2"]
            if sweep_sizes:
                sweep_args += ["--sizes", *sweep_sizes]
            for name, path in (("new", None), ("old", old)):
                if name == "old" and not old:
                    continue
                got = _spawn_cli(
                    [
                        *("sweep", str(folder / "small-data.json")),
                        *("--out", str(folder / f"{name}{r}"), *sweep_args),
                    ],
                    pythonpath=path,
                )
                if got is not None:
                    sweeps[name].append(got["whole_s"])
            floor = _spawn("tf-floor", "")
            if floor is not None:
                floors.append(floor["ms_per_epoch"])
    print(
        f"\n4. experiments, trace once per experiment (medians of {repeats} interleaved fresh"
        " processes; times inside the CLI call, imports excluded)"
    )
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    notes = {
        "train wall_time_s": "train --epochs 500, summary.json (tracing included)",
        "compare per-run wall_time_s": "mean over the 10 runs in compare.csv",
        "compare whole run s": "compare --seeds 5 x 2 arms, the whole CLI call (no goal set)",
    }
    for key, value in med.items():
        print(f"  {key:<30} {value:8.3f}   {notes[key]}")
    if "train wall_time_s" in med and "compare per-run wall_time_s" in med:
        ratio = med["compare per-run wall_time_s"] / med["train wall_time_s"]
        verdict = "met" if ratio <= GOAL_COMPARE else "NOT met"
        print(
            f"  compare --seeds 5 --epochs 500 on the 30-sample task: mean per-run wall_time_s ="
            f" {ratio:.2f}x a standalone train's (goal <= {GOAL_COMPARE}x: {verdict})"
        )
    sizes = " ".join(sweep_sizes) if sweep_sizes else "all (the default)"
    for name, times in sweeps.items():
        if times:
            print(
                f"  sweep small-data, 6 rates x 2 seeds, sizes {sizes}, {name}: "
                f"{statistics.median(times):.1f} s"
            )
    if sweeps["new"] and sweeps["old"]:
        speed = statistics.median(sweeps["old"]) / statistics.median(sweeps["new"])
        verdict = "met" if speed >= GOAL_SWEEP else "NOT met"
        print(f"  sweep speed-up over {old}: {speed:.2f}x (goal >= {GOAL_SWEEP}x: {verdict})")
    if floors:
        floor_ms = statistics.median(floors)
        line = (
            f"  reference: a bare TensorFlow loop of small-data's model, no bookkeeping, "
            f"{floor_ms:.3f} ms/epoch"
        )
        if sweeps["new"]:
            per_epoch = statistics.median(sweeps["new"]) / (SWEEP_RUNS * SWEEP_EPOCHS) * 1000
            line += (
                f"; the whole new sweep, {SWEEP_RUNS} runs x {SWEEP_EPOCHS:,} epochs with tracing "
                f"and data, took {per_epoch:.3f} ms/epoch"
            )
        print(line)
    if not sweep:
        print("  (--no-sweep: the sweep is not run)")
    elif not old:
        print("  (no --old worktree: the sweep speed-up is not measured)")


WORKERS["cli"] = ("tensorflow", _cli_worker)
SWEEP_RUNS, SWEEP_EPOCHS = 12 * 2, 2000  # small-data: 6 rates x 2 seeds, 2,000 epochs each


def _tf_floor_worker() -> dict[str, float]:
    """A reference for the sweep: small-data's model (64 -> dropout 0.2 -> Dense 500 relu -> dropout
    0.5 -> Dense 10) written as a bare ``tf.while_loop`` over full-batch epochs (60 samples,
    Adam, validation on 359 every epoch) with none of the engine's bookkeeping: no metrics,
    mask records, NaN-safe copies or best weights. Each epoch's validation runs beside the
    next step, as the engine's full-batch loop does. Returns its ms per epoch."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((60, 64), dtype=np.float32))
    y = tf.constant(rng.integers(0, 10, 60))
    xv = tf.constant(rng.random((359, 64), dtype=np.float32))
    yv = tf.constant(rng.integers(0, 10, 359))
    w1 = tf.Variable(rng.normal(0, 0.05, (64, 500)).astype("float32"))
    b1 = tf.Variable(tf.zeros(500))
    w2 = tf.Variable(rng.normal(0, 0.05, (500, 10)).astype("float32"))
    b2 = tf.Variable(tf.zeros(10))
    weights = [w1, b1, w2, b2]
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(weights)

    @tf.function(autograph=False)
    def epochs(n: Any) -> Any:
        def one(i: Any, total: Any) -> tuple[Any, Any]:
            # The weights before this step are the last epoch's: read before the step writes.
            val = tf.nn.relu(xv @ w1 + b1) @ w2 + b2
            val_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yv, val))
            with tf.GradientTape() as tape:
                hidden = tf.nn.relu(tf.nn.dropout(x, 0.2) @ w1 + b1)
                logits = tf.nn.dropout(hidden, 0.5) @ w2 + b2
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
            optimizer.apply(tape.gradient(loss, weights), weights)
            return i + 1, total + val_loss

        return tf.while_loop(lambda i, _t: i < n, one, (tf.constant(0), tf.constant(0.0)))[1]

    epochs(tf.constant(20)).numpy()  # trace and warm up
    start = time.perf_counter()
    epochs(tf.constant(SWEEP_EPOCHS)).numpy()
    return {"ms_per_epoch": (time.perf_counter() - start) / SWEEP_EPOCHS * 1000}


WORKERS["tf-floor"] = ("tensorflow", _tf_floor_worker)


def _spawn(name: str, cache: str) -> dict[str, float] | None:
    backend = WORKERS[name][0]
    env = {**os.environ, "KERAS_BACKEND": backend, "DROPOUT_STUDIO_JAX_CACHE": cache}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        print(f"  {name}: failed ({proc.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(lines[-1])


def _torch_small_files(folder: Path) -> list[str]:
    data = load_dataset(small_task(1).dataset, 0)
    np.savez(
        folder / "small.npz",
        x=data.x_train,
        y=data.y_train,
        xv=data.x_val,
        yv=data.y_val,
        xt=data.x_test,
        yt=data.y_test,
    )
    return ["small", str(folder / "small.npz")]


def small_data_goals(repeats: int) -> None:
    names = ["tf-engine", "jax-engine", "jax-cached"]
    if importlib.util.find_spec("jax") is None:
        names = [name for name in names if not name.startswith("jax")]
        print("  (jax is not installed: pip install -e '.[jax]' to measure Keras on JAX)")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in [*names, "torch"]}
    with tempfile.TemporaryDirectory() as tmp:
        torch_args = _torch_small_files(Path(tmp)) if TORCH_PYTHON else None
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as cache:  # empty for jax-engine, then filled
                for name in names:  # interleaved fresh processes: noise hits each one alike
                    result = _spawn(name, cache)
                    if result is not None:
                        runs[name].append(result)
            if torch_args:
                result = _spawn_torch(torch_args)
                if result is not None:
                    runs["torch"].append(result)
    print(
        "\n3. 30 training samples, Dense 500 + dropout 0.4, full batch, validation every epoch"
        f" (medians of {repeats} fresh processes per contender)"
    )
    med = {
        name: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for name, rs in runs.items()
        if rs
    }
    print(
        "  cold = train() of 4,000 epochs as the first call in a fresh process (build, compile,"
        " train, test);\n  wall_time_s = the same run as summary.json counts it (from the loop's"
        " start); torch: its whole loop"
    )
    print(
        f"  {'contender':<11} {'steady ms/epoch':>16} {'cold s':>8} {'wall_time_s':>12} "
        f"{'first epoch s':>14} {'NaN copy % epoch':>17}"
    )
    for name, m in med.items():
        copy = m.get("copy_us")
        copy_pct = f"{100 * copy / (1000 * m['steady_ms']):.1f}" if copy is not None else "-"
        print(
            f"  {name:<11} {m['steady_ms']:16.3f} {m['cold_s']:8.2f} {m['cold_wall_time_s']:12.2f} "
            f"{m['first_epoch_s']:14.2f} {copy_pct:>17}"
        )
    for name, m in med.items():
        if "copy_us" in m:
            pct = 100 * m["copy_us"] / (1000 * m["steady_ms"])
            verdict = "met" if pct <= GOAL_COPY_PCT else "NOT met"
            print(
                f"  {name} NaN safety copy: {m['copy_us']:.1f} us = {pct:.1f} % of an epoch "
                f"(goal <= {GOAL_COPY_PCT:.0f} %: {verdict})"
            )
    if "torch" not in med:
        say_torch_skipped(
            "the torch row of regime 3 and both item-3 goals: JAX steady >= "
            f"{GOAL_STEADY}x and cold run >= {GOAL_COLD}x faster than PyTorch"
        )
        return
    t = med["torch"]
    for name in ("jax-engine", "jax-cached", "tf-engine"):
        if name not in med:
            continue
        m = med[name]
        steady, cold = t["steady_ms"] / m["steady_ms"], t["cold_s"] / m["cold_s"]
        cold_wall = t["cold_wall_time_s"] / m["cold_wall_time_s"]
        first = t["first_epoch_s"] / m["first_epoch_s"]
        goal = name.startswith("jax")

        def with_goal(value: float, target: float, goal: bool = goal) -> str:
            return f" (goal >= {target}x: {_verdict(value >= target)})" if goal else ""

        print(
            f"  {name} vs torch: steady {steady:.2f}x{with_goal(steady, GOAL_STEADY)},"
            f" cold train() call {cold:.2f}x{with_goal(cold, GOAL_COLD)},"
            f" cold wall_time_s {cold_wall:.2f}x{with_goal(cold_wall, GOAL_COLD)},"
            f" first epoch {first:.2f}x (speed ratios, higher is faster)"
        )
    print(
        "  (cold train() call: build + compile + 4,000 epochs + test; cold wall_time_s: the"
        " same without building the model, as summary.json counts it)"
    )


def main() -> None:
    global TORCH_PYTHON
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4000, help="regime 2 epochs")
    parser.add_argument("--only", type=int, choices=(1, 2, 3, 4), help="run one regime")
    parser.add_argument("--old", help="a worktree of an older commit, for the sweep goal")
    parser.add_argument(
        "--torch-python",
        help="a Python with torch and numpy for the PyTorch contenders (default:"
        " BENCH_TORCH_PYTHON, else this Python if it has torch)",
    )
    parser.add_argument(
        "--sweep-sizes",
        nargs="*",
        default=["60"],
        help="--sizes for the sweep goal (default 60: small-data's own training size; the"
        " sweep's 'all' means the whole training part, ~1,080 digits)",
    )
    parser.add_argument(
        "--no-sweep",
        action="store_true",
        help="regime 4 without the sweep (the compare goal only, to iterate faster)",
    )
    parser.add_argument("--worker", choices=list(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker][1]()))
        return
    TORCH_PYTHON = resolve_torch_python(args.torch_python)
    print(f"PyTorch contenders run by: {TORCH_PYTHON or 'none (skipped, see below)'}")
    if args.only in (None, 1):
        mlp_regime(args.repeats)
    if args.only in (None, 2):
        small = load_preset("small-data").with_training(epochs=args.epochs)
        small_regime(
            f"2. small data: 60 samples, full batch, 500 units, {args.epochs} epochs "
            "(fit timed over 150 epochs; whole runs in this process, tracing included)",
            small,
            load_dataset(small.dataset, 0),
            max(3, args.repeats // 2),
        )
    if args.only in (None, 3):
        small_data_goals(max(3, args.repeats))
    if args.only in (None, 4):
        experiment_goals(max(1, args.repeats), args.old, args.sweep_sizes, not args.no_sweep)


if __name__ == "__main__":
    main()
