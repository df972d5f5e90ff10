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
    except (OSError, ValueError, TypeError, csv.Error):  # TypeError: a row with extra cells
        return ()


def _json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or {} when it is missing, malformed or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> str:
    """A number as a run list shows it; "?" for anything a hand-edited file may hold instead."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?"
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"{value:.3g}"  # not thousands of digits
    return f"{value:g}"


def _settings(snapshot: dict[str, Any]) -> str:
    """One line of a run's key settings from its ``project.json``, whatever that file holds (a
    run folder is the user's: anything there may have been edited or truncated)."""
    training = _object(snapshot.get("training"))
    layers = snapshot.get("layers")
    layers = (
        [layer for layer in layers if isinstance(layer, dict)] if isinstance(layers, list) else []
    )
    rates = [_object(layer["dropout"]).get("rate") for layer in layers if layer.get("dropout")]
    drop = "no dropout" if not rates else "dropout " + "/".join(_number(r) for r in rates)
    size = _object(snapshot.get("dataset")).get("train_size")
    return (
        f"{drop} · {_number(training.get('epochs'))} epochs · seed "
        f"{_number(training.get('seed'))} · train size {'all' if size is None else _number(size)}"
    )


def read_run(folder: Path) -> RunRecord | None:
    """A run folder's record, or None when the folder is not a complete run."""
    history_file = folder / "history.csv"
    try:
        created = datetime.fromtimestamp(history_file.stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        return None
    summary = _json_object(folder / "summary.json")
    history = _history(history_file)
    losses = [row.get("val_loss", math.inf) for row in history]
    best = min((v for v in losses if isinstance(v, float | int)), default=math.inf)
    return RunRecord(
        folder,
        folder.name,
        created,
        str(summary.get("status", "?")),
        _settings(_json_object(folder / "project.json")),
        best if math.isfinite(best) else math.nan,
        history,
    )


def list_runs(folder: Path) -> list[RunRecord]:
    """Every run under ``folder``, newest first (sweep and compare folders are skipped)."""
    try:
        children = [child for child in folder.iterdir() if child.is_dir()]
    except OSError:  # missing, not a folder, or unreadable
        return []
    records = [read_run(child) for child in children]
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
