"""With vs without dropout (and the alternatives people weigh it against), over several seeds.

For one seed every arm gets the same data split, the same batch order and the same initial
weights: the recording dropout layers draw from their own seeds. The arms without dropout keep
their dropout layers at rate 0, so "with" and "without" share one compiled step: the whole
experiment traces once per model structure (``train.StepCache``), and a seed gives the same
history bitwise as a standalone ``train`` of the same project. Choices use validation loss; the test set is only reported, for the weights
with the best validation loss.
"""

from __future__ import annotations

import csv
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dropout_studio.core.project import Project
from dropout_studio.engine.data import Dataset, load_dataset
from dropout_studio.engine.train import StepCache, TrainingEvent, TrainingResult, train

ARMS = ("dropout", "no dropout", "l2", "early stopping")
DEFAULT_L2 = 1e-4


@dataclass
class ArmRun:
    seed: int
    result: TrainingResult

    @property
    def val_losses(self) -> np.ndarray:
        values = np.array([r.get("val_loss", math.nan) for r in self.result.history], dtype=float)
        return values if len(values) else np.array([math.nan])

    @property
    def train_losses(self) -> np.ndarray:
        values = np.array([r.get("loss", math.nan) for r in self.result.history], dtype=float)
        return values if len(values) else np.array([math.nan])


def _best(values: np.ndarray) -> tuple[float, float]:
    """(lowest finite value, its 1-based epoch), NaN for a run without a finite loss."""
    if not np.isfinite(values).any():
        return math.nan, math.nan
    index = int(np.nanargmin(values))
    return float(values[index]), float(index + 1)


@dataclass
class ArmSummary:
    arm: str
    runs: list[ArmRun] = field(default_factory=list)

    def _values(self, pick: Callable[[ArmRun], float]) -> np.ndarray:
        return np.array([pick(run) for run in self.runs], dtype=float)

    @property
    def seeds(self) -> int:
        """Finished runs in this arm (fewer than asked for after a stop)."""
        return len(self.runs)

    def stats(self) -> dict[str, float]:
        """Mean and spread (standard deviation over seeds) of each reported number; NaN for an
        arm without a finished run."""
        columns = {
            "best_val_loss": lambda r: _best(r.val_losses)[0],
            "best_epoch": lambda r: _best(r.val_losses)[1],
            "final_gap": lambda r: float(r.val_losses[-1] - r.train_losses[-1]),
            "test_loss": lambda r: r.result.best_test_metrics.get("loss", math.nan),
            "test_accuracy": lambda r: r.result.best_test_metrics.get(
                "accuracy", r.result.best_test_metrics.get("mae", math.nan)
            ),
            "wall_time_s": lambda r: r.result.wall_time,
        }
        out: dict[str, float] = {}
        for name, pick in columns.items():
            values = self._values(pick) if self.runs else np.array([], dtype=float)
            out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            out[name + "_std"] = float(np.nanstd(values)) if np.isfinite(values).any() else math.nan
        return out


def arm_project(project: Project, arm: str, l2: float = DEFAULT_L2) -> Project:
    """The project as trained in ``arm``; every arm but ``dropout`` has no dropout at all.

    Output dropout keeps its type at rate 0 (an inert layer that shares the dropout arm's
    compiled step); RNN input and recurrent rates become 0 (they are constants in a trace)."""
    if arm == "dropout":
        return project
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    network = replace(
        project.network,
        layers=tuple(
            replace(
                layer,
                dropout=replace(layer.dropout, rate=0.0),
                input_dropout=0.0,
                recurrent_dropout=0.0,
            )
            for layer in project.network.layers
        ),
    )
    if arm == "l2":
        network = replace(
            network,
            layers=tuple(
                replace(layer, l2=l2)
                if layer.kind_info
                and layer.kind_info.weighted
                and layer.kind not in ("BatchNormalization",)
                else layer
                for layer in network.layers
            ),
        )
    result = replace(project, network=network)
    if arm == "early stopping":
        patience = max(5, project.training.epochs // 10)
        result = result.with_training(early_stopping=patience)
    return result


def compare(
    project: Project,
    seeds: int = 3,
    arms: tuple[str, ...] = ("dropout", "no dropout"),
    project_file: str | Path | None = None,
    on_run: Callable[[str, int, TrainingResult], None] | None = None,
    on_event: Callable[[TrainingEvent], None] | None = None,
    stop: threading.Event | None = None,
) -> list[ArmSummary]:
    """Train every arm for seeds ``seed, seed+1, ...``; arms alternate within a seed so that
    machine noise hits them alike. A stop request ends the current run and drops it: the
    summaries hold only finished runs (an arm may have fewer seeds than another, or none).

    Every run shares one :class:`StepCache`: each result's model is the experiment's model and
    holds only the latest run's weights."""
    stop = stop or threading.Event()
    steps = StepCache(runs=seeds * len(arms))
    summaries = {arm: ArmSummary(arm) for arm in arms}
    first = project.training.seed
    for seed in range(first, first + seeds):
        data: Dataset = load_dataset(project.dataset, seed, project_file)
        for arm in arms:
            if stop.is_set():
                return list(summaries.values())
            configured = arm_project(project, arm).with_training(seed=seed)
            result = train(configured, data, on_event, stop, keep_best=True, steps=steps)
            if result.status == "stopped" or not result.history:
                # Cut short: its curve and best loss would skew the means. Only runs that
                # finished are reported.
                return list(summaries.values())
            summaries[arm].runs.append(ArmRun(seed, result))
            if on_run is not None:
                on_run(arm, seed, result)
    return list(summaries.values())


def write_compare_csv(path: Path, summaries: list[ArmSummary]) -> None:
    rows = [{"arm": s.arm, "seeds": len(s.runs), **s.stats()} for s in summaries]
    keys = list(rows[0]) if rows else ["arm"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def curves(summary: ArmSummary, key: str = "val_loss") -> tuple[np.ndarray, ...]:
    """Epochs, mean, min and max of ``key`` over seeds (runs cut to the shortest)."""
    series = [
        np.array([r.get(key, math.nan) for r in run.result.history])
        for run in summary.runs
        if run.result.history
    ]
    if not series:
        empty = np.array([])
        return empty, empty, empty, empty
    length = min(len(s) for s in series)
    stacked = np.stack([s[:length] for s in series])
    return (
        np.arange(1, length + 1),
        stacked.mean(axis=0),
        stacked.min(axis=0),
        stacked.max(axis=0),
    )


def plot_compare(path: Path, summaries: list[ArmSummary], title: str) -> None:
    """Mean validation (solid) and training (dashed) loss per arm, min–max band over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for colour, summary in zip(colours, summaries):
        epochs, mean, low, high = curves(summary, "val_loss")
        if not len(epochs):
            continue
        ax.plot(epochs, mean, color=colour, label=f"{summary.arm}: validation")
        ax.fill_between(epochs, low, high, color=colour, alpha=0.18, linewidth=0)
        epochs_t, mean_t, _, _ = curves(summary, "loss")
        ax.plot(
            epochs_t,
            mean_t,
            color=colour,
            linestyle="--",
            linewidth=1,
            label=f"{summary.arm}: training",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    seeds = max((len(s.runs) for s in summaries), default=0)
    ax.set_title(f"{title}: mean over {seeds} seeds, band = min–max")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
