"""The project's run history: the run folders written by training, read without TensorFlow."""

from __future__ import annotations

import csv
import json
import math
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunRecord:
    folder: Path
    name: str
    created: datetime
    status: str
    settings: str  # one line of key settings
    best_val_loss: float
    history: tuple[dict[str, float], ...]


def runs_folder(project_file: Path) -> Path:
    return project_file.resolve().parent / "runs"


def new_run_folder(project_file: Path, project_name: str) -> Path:
    """``runs/<date-time>-<name>/`` beside the project: where the CLI and the app keep a run."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return runs_folder(project_file) / f"{stamp}-{project_name}"


def write_history_csv(path: Path, history: list[dict[str, float]]) -> None:
    """Per-epoch rows in Keras' CSVLogger layout: ``epoch`` then the metric names sorted."""
    keys = sorted({k for row in history for k in row if k != "epoch"})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", *keys])
        for row in history:
            writer.writerow([int(row["epoch"]), *(row.get(k, "") for k in keys)])


def read_history_csv(path: Path) -> list[dict[str, float]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            {
                k: (int(v) if k == "epoch" else float(v))
                for k, v in row.items()
                if v not in ("", None)
            }
            for row in csv.DictReader(fh)
        ]


def _history(path: Path) -> tuple[dict[str, float], ...]:
    try:
        return tuple(read_history_csv(path))
    except (OSError, ValueError):
        return ()


def _settings(snapshot: dict[str, Any]) -> str:
    training = snapshot.get("training", {})
    rates = [
        layer.get("dropout", {}).get("rate")
        for layer in snapshot.get("layers", [])
        if isinstance(layer, dict) and layer.get("dropout")
    ]
    drop = "no dropout" if not rates else "dropout " + "/".join(f"{r:g}" for r in rates)
    size = snapshot.get("dataset", {}).get("train_size") or "all"
    return (
        f"{drop} · {training.get('epochs', '?')} epochs · seed {training.get('seed', '?')}"
        f" · train size {size}"
    )


def read_run(folder: Path) -> RunRecord | None:
    """A run folder's record, or None when the folder is not a complete run."""
    history_file = folder / "history.csv"
    if not history_file.exists():
        return None
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    try:
        snapshot = json.loads((folder / "project.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        snapshot = {}
    history = _history(history_file)
    best = min((row.get("val_loss", math.inf) for row in history), default=math.inf)
    return RunRecord(
        folder,
        folder.name,
        datetime.fromtimestamp(history_file.stat().st_mtime),
        str(summary.get("status", "?")),
        _settings(snapshot),
        best if math.isfinite(best) else math.nan,
        history,
    )


def list_runs(folder: Path) -> list[RunRecord]:
    """Every run under ``folder``, newest first (sweep and compare folders are skipped)."""
    if not folder.is_dir():
        return []
    records = [read_run(child) for child in folder.iterdir() if child.is_dir()]
    return sorted((r for r in records if r is not None), key=lambda r: r.created, reverse=True)


def rename_run(record: RunRecord, new_name: str) -> Path:
    if not new_name or "/" in new_name or "\\" in new_name or new_name in (".", ".."):
        raise ValueError(f"{new_name!r} cannot be a folder name: use letters, digits, - and _")
    target = record.folder.parent / new_name
    if target.exists():
        raise ValueError(f"a run named {new_name!r} already exists")
    record.folder.rename(target)
    return target


def delete_run(record: RunRecord) -> None:
    shutil.rmtree(record.folder)
