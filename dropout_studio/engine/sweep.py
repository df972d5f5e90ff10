"""Sweeps over dropout rates (all layers, or one layer at a time) and training-set sizes.

KerasTuner is the sweep engine: its grid oracle proposes the points, and its chief/worker mode
(``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``, ``KERASTUNER_ORACLE_PORT``) spreads them over
processes or machines. Trials do not call ``model.fit``: ``run_trial`` trains every seed with the
engine's own loop and reports the mean best validation loss, which is what the oracle minimizes.
The test set is reported per trial and never used to choose.
"""

from __future__ import annotations

import csv
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import keras_tuner
import numpy as np

from dropout_studio.core.project import Project
from dropout_studio.core.spec import DropoutSpec, LayerSpec
from dropout_studio.engine.data import Dataset, load_dataset
from dropout_studio.engine.train import StepCache, TrainingError, train

keras_tuner.src.config.DEBUG = False  # else KerasTuner prints every failed trial's traceback
STOPPED = "sweep stopped by request"
METRICS = (
    "val_loss",
    "val_loss_std",
    "val_loss_min",
    "val_loss_max",
    "test_loss",
    "best_epoch",
    "seeds",  # that the point averaged: its std says nothing over one
)


@dataclass(frozen=True)
class SweepPlan:
    rates: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5, 0.7)
    sizes: tuple[int, ...] = (0,)  # 0 = the whole training part
    seeds: int = 2
    per_layer: bool = False

    def layers(self, project: Project) -> list[int]:
        """Layers the sweep varies: those with dropout in the project, else hidden layers."""
        layers = project.network.layers
        chosen = [i for i, layer in enumerate(layers) if layer.dropout.active]
        if chosen:
            return chosen
        return [
            i
            for i, layer in enumerate(layers[:-1])
            if layer.kind in ("Input", "Dense", "Conv1D", "Conv2D")
        ]


def with_rate(layer: LayerSpec, rate: float) -> LayerSpec:
    """The layer with output dropout at ``rate``; rate 0 keeps the type (an inert layer), so
    every rate of a sweep shares one compiled step."""
    kind = (
        layer.dropout.type
        if layer.dropout.type != "none"
        else ("spatial" if layer.kind in ("Conv1D", "Conv2D") else "dropout")
    )
    return replace(layer, dropout=DropoutSpec(kind, max(0.0, rate)))


def trial_project(project: Project, plan: SweepPlan, values: dict[str, Any]) -> Project:
    """The project one grid point trains."""
    rate = float(values["rate"])
    targets = [int(values["layer"])] if plan.per_layer else plan.layers(project)
    layers = list(project.network.layers)
    for i in targets:
        layers[i] = with_rate(layers[i], rate)
    size = int(values.get("train_size", 0))
    dataset = replace(project.dataset, train_size=size or None)
    return replace(project, network=replace(project.network, layers=tuple(layers)), dataset=dataset)


class DropoutSweepTuner(keras_tuner.engine.base_tuner.BaseTuner):
    """A KerasTuner tuner whose trials run the Dropout Studio engine over several seeds."""

    def __init__(
        self,
        project: Project,
        plan: SweepPlan,
        project_file: Path | None,
        stop: threading.Event,
        on_trial: Callable[[dict[str, Any]], None] | None,
        **kwargs: Any,
    ) -> None:
        self.project, self.plan, self.project_file = project, plan, project_file
        self.stop, self.on_trial = stop, on_trial
        # One compiled step per structure and data shape serves every trial and seed; each
        # seed's split is loaded once (a few seeds' worth, per training-set size).
        self.steps = StepCache(runs=grid_size(project, plan) * max(1, plan.seeds))
        self.datasets: dict[tuple[str, int], Dataset] = {}
        super().__init__(**kwargs)
        self.failures: list[str] = []  # why trials failed, in order (one line each)

    def _dataset(self, spec: Any, seed: int) -> Dataset:
        key = (repr(spec), seed)
        if key not in self.datasets:
            if len(self.datasets) >= 2 * max(1, self.plan.seeds):
                self.datasets.clear()
            self.datasets[key] = load_dataset(spec, seed, self.project_file)
        return self.datasets[key]

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        try:
            return self._run_trial(trial)
        except keras_tuner.errors.FatalError:
            raise
        except Exception as exc:  # KerasTuner marks the trial failed; the reason is kept here
            self.failures.append(
                str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            )
            raise

    def _run_trial(self, trial: Any) -> dict[str, float]:
        if self.stop.is_set():
            raise keras_tuner.errors.FatalError(STOPPED)
        values = dict(trial.hyperparameters.values)
        configured = trial_project(self.project, self.plan, values)
        best, tests, epochs = [], [], []
        first = self.project.training.seed
        for seed in range(first, first + self.plan.seeds):
            data = self._dataset(configured.dataset, seed)
            result = train(
                configured.with_training(seed=seed),
                data,
                None,
                self.stop,
                keep_best=True,
                steps=self.steps,
            )
            if result.status == "stopped" or self.stop.is_set():
                # Cut short: not a result. The trial is not completed, so it is left out.
                raise keras_tuner.errors.FatalError(STOPPED)
            val = np.array([r.get("val_loss", math.nan) for r in result.history])
            if not len(val) or not np.isfinite(val).any():
                raise keras_tuner.errors.FailedTrialError(result.message or "no finite loss")
            best.append(float(np.nanmin(val)))
            epochs.append(float(np.nanargmin(val) + 1))
            tests.append(result.best_test_metrics.get("loss", math.nan))
        metrics = {
            "val_loss": float(np.mean(best)),
            "val_loss_std": float(np.std(best)),
            "val_loss_min": float(np.min(best)),
            "val_loss_max": float(np.max(best)),
            "test_loss": float(np.nanmean(tests)),
            "best_epoch": float(np.mean(epochs)),
            "seeds": float(len(best)),
        }
        if self.on_trial is not None:
            self.on_trial({**values, **metrics})
        return metrics

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Trials keep no models: the sweep compares losses."""

    def load_model(self, trial: Any) -> None:
        return None


def hyperparameters(project: Project, plan: SweepPlan) -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    if plan.per_layer:
        hp.Choice("layer", plan.layers(project))
    hp.Choice("rate", list(plan.rates))
    hp.Choice("train_size", list(plan.sizes))
    return hp


def grid_size(project: Project, plan: SweepPlan) -> int:
    return (len(plan.layers(project)) if plan.per_layer else 1) * len(plan.rates) * len(plan.sizes)


def run_sweep(
    project: Project,
    plan: SweepPlan,
    directory: Path,
    project_file: Path | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Run (or, in a distributed worker, take part in) the sweep; returns the finished trials.

    In distributed mode the chief only serves the oracle and returns every trial when the
    workers are done; a worker returns an empty list. A stop request ends the current trial
    without recording it and returns the trials finished so far (no error).
    """
    stop = stop or threading.Event()
    distributed = "KERASTUNER_ORACLE_IP" in os.environ
    oracle = keras_tuner.oracles.GridSearchOracle(
        objective=keras_tuner.Objective("val_loss", "min"),
        max_trials=grid_size(project, plan),
        hyperparameters=hyperparameters(project, plan),
        allow_new_entries=False,
        tune_new_entries=False,
    )
    tuner = DropoutSweepTuner(
        project,
        plan,
        project_file,
        stop,
        on_trial,
        oracle=oracle,
        directory=str(directory),
        project_name="tuner",
        overwrite=not distributed,
    )
    try:
        tuner.search(verbose=0)
    except keras_tuner.errors.FatalError:
        if not stop.is_set():
            raise
        # A requested stop: the finished trials are the result (the cut one is not completed).
    if distributed and os.environ.get("KERASTUNER_TUNER_ID") != "chief":
        return []
    rows = trials_table(tuner.oracle)
    if not rows and tuner.failures and not stop.is_set():
        raise TrainingError(
            f"no trial finished: {len(tuner.failures)} failed, the first with: {tuner.failures[0]}"
        )
    return rows


def trials_table(oracle: Any) -> list[dict[str, Any]]:
    rows = []
    for trial in oracle.trials.values():
        if trial.status != "COMPLETED":
            continue
        row = dict(trial.hyperparameters.values)
        for name in METRICS:
            if trial.metrics.exists(name):
                row[name] = trial.metrics.get_last_value(name)
        rows.append(row)
    return sorted(rows, key=lambda r: (r.get("layer", -1), r["train_size"], r["rate"]))


def write_sweep_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    keys = [k for k in ("layer", "rate", "train_size", *METRICS) if any(k in r for r in rows)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in keys})


def plot_sweep(path: Path, rows: list[dict[str, Any]], title: str) -> None:
    """Best validation loss against rate (error bars: min–max over seeds), a line per
    training-set size (per layer in per-layer mode), and the size × with/without grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["train_size"] for r in rows}, key=lambda s: s or 10**12)
    groups = sorted({r.get("layer", -1) for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), dpi=120, gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    for group in groups:
        for size in sizes:
            pts = sorted(
                (r for r in rows if r["train_size"] == size and r.get("layer", -1) == group),
                key=lambda r: r["rate"],
            )
            if not pts:
                continue
            x = [r["rate"] for r in pts]
            y = np.array([r["val_loss"] for r in pts])
            low = y - np.array([r.get("val_loss_min", v) for r, v in zip(pts, y)])
            high = np.array([r.get("val_loss_max", v) for r, v in zip(pts, y)]) - y
            label = f"train size {size or 'all'}" + (f", layer {group + 1}" if group >= 0 else "")
            ax.errorbar(x, y, yerr=[low, high], marker="o", capsize=3, label=label)
    ax.set_xlabel("dropout rate (fraction dropped)")
    ax.set_ylabel("best validation loss (mean over seeds)")
    ax.set_title(f"{title}: which rate?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    grid_ax = axes[1]
    with_dropout = [
        min(
            (r["val_loss"] for r in rows if r["train_size"] == s and r["rate"] > 0),
            default=math.nan,
        )
        for s in sizes
    ]
    without = [
        min(
            (r["val_loss"] for r in rows if r["train_size"] == s and r["rate"] == 0),
            default=math.nan,
        )
        for s in sizes
    ]
    grid = np.array([without, with_dropout])
    image = grid_ax.imshow(grid, cmap="viridis_r", aspect="auto")
    grid_ax.set_xticks(range(len(sizes)), [str(s or "all") for s in sizes])
    grid_ax.set_yticks([0, 1], ["without", "with (best rate)"])
    grid_ax.set_xlabel("training-set size")
    low, high = np.nanmin(grid), np.nanmax(grid)
    for (i, j), value in np.ndenumerate(grid):
        light = high > low and (value - low) / (high - low) < 0.5  # viridis_r: low is yellow
        grid_ax.text(
            j,
            i,
            f"{value:.3f}",
            ha="center",
            va="center",
            color="black" if light else "white",
            fontsize=9,
        )
    grid_ax.set_title("best validation loss")
    fig.colorbar(image, ax=grid_ax, fraction=0.05)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
