"""The project's run history: the run folders written by training, read without TensorFlow."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dropout_studio.core.files import atomic_write_text


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


MAX_NAME_CHARS = 60
MAX_NAME_BYTES = 120  # UTF-8: well under the 255 bytes most file systems allow for one name
_UNSAFE = re.compile(r'[/\\:*?"<>|]|\.{2,}')


def safe_folder_name(name: str, fallback: str = "run") -> str:
    """``name`` made safe as one folder name on any file system, never empty.

    A project name is free text (300 characters, a NUL, a lone surrogate, ``x/../outside``), and
    the run folder is named after it after training: an unsafe name would lose the finished run.
    Separators, ``..``, control and unprintable characters become ``-``; the result is cut to
    :data:`MAX_NAME_CHARS` characters and :data:`MAX_NAME_BYTES` bytes of UTF-8.
    """
    text = "".join(c if c.isprintable() else "-" for c in str(name))  # Cc, Cs (surrogates), ...
    text = _UNSAFE.sub("-", text)
    text = re.sub(r"-{2,}", "-", text).strip(" .-")
    text = text[:MAX_NAME_CHARS]
    while len(text.encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    text = text.rstrip(" .-")
    return text or fallback


def new_run_folder(project_file: Path, project_name: str) -> Path:
    """``runs/<date-time>-<name>/`` beside the project: where the CLI and the app keep a run.

    The name is made safe (:func:`safe_folder_name`) and the folder is always directly inside
    the runs folder; a folder that already exists (two runs in one second) gets ``-2``, ``-3``.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return _unused(runs_folder(project_file), f"{stamp}-{safe_folder_name(project_name)}")


def _unused(parent: Path, base: str) -> Path:
    """``parent / base``, or ``base-2``, ``base-3``… when that folder already exists."""
    folder, n = parent / base, 2
    while folder.exists():
        folder, n = parent / f"{base}-{n}", n + 1
    return folder


def fallback_run_folder(parent: Path) -> Path:
    """``run-<date-time>`` in ``parent``: where a run goes when its own folder cannot be written."""
    return _unused(parent, "run-" + datetime.now().strftime("%Y%m%d-%H%M%S"))


def write_history_csv(path: Path, history: list[dict[str, float]]) -> None:
    """Per-epoch rows in Keras' CSVLogger layout: ``epoch`` then the metric names sorted."""
    keys = sorted({k for row in history for k in row if k != "epoch"})
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["epoch", *keys])
    for row in history:
        writer.writerow([int(row["epoch"]), *(row.get(k, "") for k in keys)])
    atomic_write_text(path, buffer.getvalue())


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
    if (
        not new_name
        or new_name in (".", "..")
        or safe_folder_name(new_name, fallback="") != new_name
    ):
        raise ValueError(f"{new_name!r} cannot be a folder name: use letters, digits, - and _")
    target = record.folder.parent / new_name
    if target.exists():
        raise ValueError(f"a run named {new_name!r} already exists")
    record.folder.rename(target)
    return target


def delete_run(record: RunRecord) -> None:
    shutil.rmtree(record.folder)
