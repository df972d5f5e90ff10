"""Headless Dropout Studio on the same project files as the GUI.

``presets``, ``new`` and ``check`` never import TensorFlow, so they answer instantly. Errors go
to stderr as one sentence and exit with status 2 (bad input) or 1 (a failed run).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TextIO

from dropout_studio import __version__
from dropout_studio.core.files import atomic_write_text
from dropout_studio.core.layer_kinds import shown
from dropout_studio.core.project import (
    Project,
    ProjectError,
    load_preset,
    load_project,
    preset_names,
    save_project,
)
from dropout_studio.core.runs import fallback_run_folder, new_run_folder, runs_folder
from dropout_studio.core.shapes import format_shape
from dropout_studio.core.spec import LAYER_KINDS, LayerSpec, rnn_dropout_text


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _print(text: str = "", stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    try:
        out.write(text + "\n")
    except UnicodeEncodeError:  # a lone surrogate in a name or path: escape it, never crash
        encoding = getattr(out, "encoding", None) or "utf-8"
        out.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding))


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (with where to find help), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def cmd_presets(args: argparse.Namespace) -> int:
    for name in preset_names():
        project = load_preset(name)
        _print(f"{name:<15} {project.description}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    path = Path(args.project)
    if path.exists() and not args.force:
        raise CliError(f"{path} already exists: choose another name or pass --force")
    project = replace(load_preset(args.preset), name=args.name or path.stem)
    save_project(project, path)
    _print(f"wrote {path} from preset {args.preset}")
    return 0


def _dropout_text(layer: LayerSpec) -> str:
    """The dropout column; a value ``check`` refused is shown as it is, never formatted."""
    try:
        drop = layer.dropout.describe()
        rnn = rnn_dropout_text(layer.input_dropout, layer.recurrent_dropout)
        if rnn:
            drop = rnn + ("" if not layer.dropout.active else f"; {drop}")
    except (TypeError, ValueError, OverflowError):
        return f"{shown(layer.dropout.type)} {shown(layer.dropout.rate)}"
    return drop


def layer_table(
    project: Project, project_file: str | os.PathLike[str] | None = None
) -> tuple[str, bool]:
    """The check table (layer, output shape, parameters, dropout) and whether it is valid.

    ``project_file`` locates a file dataset, whose header ``check`` reads.
    """
    report = project.check(project_file)
    rows = [("#", "layer", "output shape", "params", "dropout")]
    by_index = {r.index: r for r in report.layers}
    for i, layer in enumerate(project.network.layers):
        r = by_index.get(i)
        drop = _dropout_text(layer)
        rows.append(
            (
                str(i + 1),
                layer.kind if layer.kind in LAYER_KINDS else shown(layer.kind, 40),
                format_shape(r.output_shape if r else None),
                f"{r.params:,}" if r else "?",
                drop,
            )
        )
    widths = [max(len(row[c]) for row in rows) for c in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        f"total parameters: {report.total_params:,} (trainable {report.trainable_params:,})"
    )
    for p in report.problems:
        lines.append(f"{p.severity}: {p.message}")
    return "\n".join(lines), report.ok


def cmd_check(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    table, ok = layer_table(project, args.project)
    _print(table)
    return 0 if ok else 2


class ProgressPrinter:
    """A one-line progress bar on a terminal; a line per ~10 % of epochs otherwise."""

    def __init__(self, stream: TextIO, epochs: int, quiet: bool = False) -> None:
        self.stream, self.epochs, self.quiet = stream, epochs, quiet
        self.tty = stream.isatty()
        self.last_line = 0.0
        self.last_report = -1
        self.started = time.perf_counter()

    def __call__(self, event: Any) -> None:
        if self.quiet:
            return
        if event.kind == "started":
            _print(f"data: {event.message}", self.stream)
        elif event.kind == "epoch_ended":
            m = event.metrics
            done = event.epoch + 1
            elapsed = time.perf_counter() - self.started
            eta = elapsed / done * (self.epochs - done)
            parts = " ".join(f"{k} {v:.4f}" for k, v in m.items() if k != "epoch")
            if self.tty:
                if time.perf_counter() - self.last_line < 0.1 and done < self.epochs:
                    return
                self.last_line = time.perf_counter()
                filled = int(30 * done / self.epochs)
                bar = "#" * filled + "." * (30 - filled)
                self.stream.write(f"\r[{bar}] epoch {done}/{self.epochs} {parts} ETA {eta:.0f}s ")
                self.stream.flush()
            else:
                decile = 10 * done // self.epochs
                if decile != self.last_report or done == self.epochs:
                    self.last_report = decile
                    _print(f"epoch {done}/{self.epochs} {parts}", self.stream)
        elif event.kind in ("finished", "stopped", "failed") and self.tty:
            self.stream.write("\n")


class LoadProgress:
    """``loading the data… N %`` on ``stream`` once a load has taken ``after`` seconds: one line
    rewritten in place on a terminal, a line per quarter otherwise."""

    def __init__(self, stream: TextIO, what: str, after: float = 1.0) -> None:
        self.stream, self.what, self.after = stream, what, after
        self.tty = stream.isatty()
        self.started = time.perf_counter()
        self.shown = -1  # the last percent printed

    def __call__(self, done: int, total: int) -> None:
        if total <= 0 or time.perf_counter() - self.started < self.after:
            return
        percent = min(100, 100 * done // total)
        if self.tty and percent != self.shown:
            self.stream.write(f"\r{self.what}… {percent} %")
            self.stream.flush()
            self.shown = percent
        elif not self.tty and (self.shown < 0 or percent >= min(100, self.shown + 25)):
            _print(f"{self.what}… {percent} %", self.stream)
            self.shown = percent

    def finish(self) -> None:
        if self.tty and self.shown >= 0:
            self.stream.write("\n")
            self.shown = -1


def _load_data(project: Project, project_file: Path) -> Any:
    """The dataset, with progress on stderr for a load over a second; the first Ctrl-C stops
    the load (``None``), a second one interrupts at once."""
    from dropout_studio.engine.data import DataError, load_dataset

    stop = threading.Event()

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    source = project.dataset.source
    what = "downloading the dataset" if source == "builtin" else "loading the data"
    progress = LoadProgress(sys.stderr, what)
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        data = load_dataset(
            project.dataset, project.training.seed, project_file, on_progress=progress, stop=stop
        )
    except DataError as exc:
        if not stop.is_set():
            raise CliError(str(exc)) from None
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.finish()
    return None if stop.is_set() else data


def cmd_train(args: argparse.Namespace) -> int:
    project_file = Path(args.project)
    project = load_project(project_file)
    overrides = {
        k: v
        for k, v in (
            ("seed", args.seed),
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("loop", args.loop),
            ("device", args.device),
        )
        if v is not None
    }
    project = project.with_training(**overrides)
    table, ok = layer_table(project, args.project)
    if not ok:
        errors = [
            line[len("error: ") :] for line in table.splitlines() if line.startswith("error:")
        ]
        first = errors[0] if errors else "see the problems"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CliError(
            f"the project cannot be trained: {first}{more}; "
            f"dropout-studio check {project_file} lists them"
        )
    _check_device(project.training.device)
    from dropout_studio.engine.export import write_run
    from dropout_studio.engine.train import TrainingError, train

    data = _load_data(project, project_file)
    if data is None:
        _print(
            "dropout-studio train: stopped while loading the data; nothing was trained", sys.stderr
        )
        return 130
    stop = threading.Event()

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        sys.stderr.write("\nstopping after the current step (Ctrl-C again to abort)...\n")

    folder = Path(args.out) if args.out else new_run_folder(project_file, project.name)
    if project.training.tensorboard:  # TensorBoard writes into the folder while training runs
        try:
            (folder / "tensorboard").mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError) as exc:  # a NUL, a surrogate, too long, no permission
            wanted, folder = folder, fallback_run_folder(runs_folder(project_file))
            _print(
                f"dropout-studio train: warning: cannot use the run folder {str(wanted)!r} "
                f"({getattr(exc, 'strerror', None) or exc}); writing the run to {folder}",
                sys.stderr,
            )
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = train(
            project,
            data,
            ProgressPrinter(sys.stderr, project.training.epochs, args.quiet),
            stop,
            log_dir=str(folder / "tensorboard"),
        )
    except TrainingError as exc:
        raise CliError(str(exc)) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    folder = write_run(
        folder,
        project,
        result,
        fallback_parent=runs_folder(project_file),
        on_warning=lambda message: _print(f"dropout-studio train: warning: {message}", sys.stderr),
    )
    _print(run_summary(result, folder))
    return 1 if result.status == "failed" else 0


def run_summary(result: Any, folder: Path) -> str:
    lines = [
        f"{result.status}: {len(result.history)} epochs in {result.wall_time:.1f} s "
        f"({result.samples_per_second:,.0f} samples/s, {result.loop} loop)"
    ]
    if result.message:
        lines.append(result.message)
    if result.history:
        last = result.history[-1]
        lines.append(
            "last epoch: " + ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "epoch")
        )
        best = min(result.history, key=lambda r: r.get("val_loss", math.inf))
        lines.append(
            f"best validation loss {best.get('val_loss', math.nan):.4f} at epoch "
            f"{int(best['epoch']) + 1}"
        )
    if result.test_metrics:
        lines.append(
            "test set: " + ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
        )
    lines.append(f"run folder: {folder}")
    return "\n".join(lines)


def _check_device(device: str) -> None:
    """An unavailable device is a user error, said before the data loads, never a traceback."""
    if device in ("auto", ""):
        return
    import keras

    from dropout_studio.engine.runtime import configure_devices

    if keras.backend.backend() not in ("tensorflow", "jax"):
        return  # configure_devices lists no GPU for the others: nothing to check against
    available = configure_devices()
    if device not in available:
        raise CliError(
            f"device {device!r} is not available; this machine has {', '.join(available)}: "
            "pass --device auto or one of those"
        )


def cmd_export(args: argparse.Namespace) -> int:
    from dropout_studio.engine.export import (
        ExportError,
        default_export_path,
        export_model,
        load_run_model,
    )

    folder = Path(args.run)
    try:
        try:
            model = load_run_model(folder)
        except ExportError:
            raise
        except Exception as exc:  # a damaged or foreign model.keras: Keras raises many kinds
            raise CliError(
                f"{folder / 'model.keras'} cannot be loaded ({_one_line(str(exc))}): "
                "is it a run folder written by 'dropout-studio train'?"
            ) from None
        out = Path(args.out) if args.out else default_export_path(folder, args.format)
        written = export_model(model, args.format, out)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    _print(f"wrote {args.format} model to {written}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from dropout_studio.engine.importer import ImportModelError, import_model_file

    out = Path(args.project)
    if out.exists() and not args.force:
        raise CliError(f"{out} already exists: choose another name or pass --force")
    try:
        project = import_model_file(args.model)
    except ImportModelError as exc:
        raise CliError(str(exc)) from None
    save_project(project, out)
    table, _ok = layer_table(project, out)
    _print(table)
    _print(
        f"wrote {out}; its dataset is {project.dataset.path!r} (an .npz with arrays x and y): "
        "edit dataset in the file to point at your data"
    )
    return 0


def _stop_on_interrupt(stop: threading.Event, unit: str) -> Any:
    """First Ctrl-C: stop after dropping the current (cut-short) ``unit``, keep the finished
    ones; a second Ctrl-C aborts (``main`` reports it without a traceback)."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        sys.stderr.write(
            f"\nstopping: the current {unit} is dropped, the finished ones are kept "
            "(Ctrl-C again to abort)...\n"
        )

    return handler


def cmd_compare(args: argparse.Namespace) -> int:
    project_file = Path(args.project)
    project = load_project(project_file)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None}
    project = project.with_training(**overrides)
    _table, ok = layer_table(project, project_file)
    if not ok:
        raise CliError(f"the stack is not valid: run dropout-studio check {project_file}")
    arms = ["dropout", "no dropout"] + [
        a for a in ("l2", "early stopping") if a.replace(" ", "-") in (args.also or [])
    ]
    from dropout_studio.engine.compare import compare, plot_compare, write_compare_csv
    from dropout_studio.engine.data import DataError
    from dropout_studio.engine.train import TrainingError

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, _stop_on_interrupt(stop, "run"))

    def on_run(arm: str, seed: int, result: Any) -> None:
        best = min((r.get("val_loss", math.inf) for r in result.history), default=math.nan)
        _print(
            f"seed {seed} · {arm:<14} best validation loss {best:.4f} "
            f"({len(result.history)} epochs, {result.wall_time:.1f} s)",
            sys.stderr,
        )

    try:
        summaries = compare(project, args.seeds, tuple(arms), project_file, on_run, stop=stop)
    except (DataError, TrainingError) as exc:
        raise CliError(str(exc)) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        counts = ", ".join(f"{s.arm} {s.seeds}" for s in summaries)
        _print(f"stopped: finished runs per arm (seeds): {counts}", sys.stderr)
    if not any(s.runs for s in summaries):
        raise CliError("no run finished, so there is nothing to compare")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_compare_csv(out / "compare.csv", summaries)
    plot_compare(out / "compare.png", summaries, project.name)
    _print(
        f"{'arm':<15} {'best val loss':>20} {'best epoch':>12} {'final gap':>18} "
        f"{'test loss':>18} {'wall s':>8}"
    )
    for summary in summaries:
        st = summary.stats()
        _print(
            f"{summary.arm:<15} {st['best_val_loss']:>11.4f} ± {st['best_val_loss_std']:<6.4f}"
            f" {st['best_epoch']:>12.1f} {st['final_gap']:>9.4f} ± {st['final_gap_std']:<6.4f}"
            f" {st['test_loss']:>9.4f} ± {st['test_loss_std']:<6.4f} {st['wall_time_s']:>8.1f}"
        )
    _print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    return 0


def _size(text: str) -> int:
    if text == "all":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a size is a whole number or 'all', not {text!r}"
        ) from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"a training-set size must be at least 2, not {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a rate is a number, not {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"a rate is the fraction dropped, from 0 up to (not including) 1, not {value}"
        )
    return value


def cmd_sweep(args: argparse.Namespace) -> int:
    import os

    project_file = Path(args.project)
    project = load_project(project_file)
    if args.epochs is not None:
        project = project.with_training(epochs=args.epochs)
    _table, ok = layer_table(project, project_file)
    if not ok:
        raise CliError(f"the stack is not valid: run dropout-studio check {project_file}")
    from dropout_studio.engine.sweep import (
        SweepPlan,
        grid_size,
        plot_sweep,
        run_sweep,
        write_sweep_csv,
    )

    plan = SweepPlan(
        rates=tuple(args.rates), sizes=tuple(args.sizes), seeds=args.seeds, per_layer=args.per_layer
    )
    if not plan.layers(project):
        raise CliError("the stack has no layer to put dropout on")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    role = os.environ.get("KERASTUNER_TUNER_ID")
    _print(
        f"sweep of {grid_size(project, plan)} points × {plan.seeds} seeds"
        + (f" as {role}" if role else ""),
        sys.stderr,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, _stop_on_interrupt(stop, "trial"))

    def on_trial(row: dict[str, Any]) -> None:
        where = f"layer {row['layer'] + 1}, " if "layer" in row else ""
        _print(
            f"{where}rate {row['rate']:.2f}, train size {row['train_size'] or 'all'}: best "
            f"validation loss {row['val_loss']:.4f} ± {row['val_loss_std']:.4f}",
            sys.stderr,
        )

    try:
        rows = run_sweep(project, plan, out, project_file, on_trial, stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        _print(f"stopped: {len(rows)} of {grid_size(project, plan)} points finished", sys.stderr)
    if role and role != "chief":
        _print(f"worker {role} finished its trials")
        return 0
    if not rows:
        raise CliError("no trial finished")
    write_sweep_csv(out / "sweep.csv", rows)
    plot_sweep(out / "sweep.png", rows, project.name)
    best = min(rows, key=lambda r: r["val_loss"])
    _print(
        f"best: rate {best['rate']:.2f}"
        + (f" on layer {best['layer'] + 1}" if "layer" in best else "")
        + f", train size {best['train_size'] or 'all'}: validation loss "
        f"{best['val_loss']:.4f} (test loss {best['test_loss']:.4f}, reported only)"
    )
    _print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.png'}")
    return 0


def cmd_code(args: argparse.Namespace) -> int:
    from dropout_studio.core.codegen import keras_script, pytorch_differences, pytorch_script

    project = load_project(args.project)
    _table, ok = layer_table(project, args.project)
    if not ok:
        raise CliError(f"the stack is not valid: run dropout-studio check {args.project}")
    script = keras_script(project) if args.framework == "keras" else pytorch_script(project)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise CliError(f"{out} already exists: choose another name or pass --force")
    atomic_write_text(out, script)
    _print(f"wrote {args.framework} script {out}")
    if args.framework == "pytorch":
        for note in pytorch_differences(project):
            _print(f"note: {note}", sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dropout-studio",
        description="See what dropout does to a neural network. Without a command, starts the "
        "desktop app.",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen, train one short epoch, exit 0 if it "
        "worked (checks an installed or bundled app)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("presets", help="list the example projects")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("new", help="create a project file from a preset")
    p.add_argument("project", help="project file to write (.json)")
    p.add_argument(
        "--preset",
        default="mlp-classic",
        choices=preset_names(),
        help="preset to start from (default: mlp-classic)",
    )
    p.add_argument("--name", help="project name (default: the file name)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser(
        "check", help="validate a project and print each layer's output shape and parameters"
    )
    p.add_argument("project", help="project file (.json)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("train", help="train a project and write a run folder")
    p.add_argument("project", help="project file (.json)")
    p.add_argument(
        "--out", help="run folder (default: runs/<date-time>-<name>/ beside the project)"
    )
    p.add_argument("--epochs", type=int, help="override the project's epochs")
    p.add_argument("--seed", type=int, help="override the project's seed (weights, split, masks)")
    p.add_argument("--batch-size", type=int, help="override the project's batch size")
    p.add_argument(
        "--loop",
        choices=["auto", "compiled", "fit"],
        help="training loop: compiled (fast, in memory) or Keras fit",
    )
    p.add_argument("--device", help="auto, cpu, gpu:0, ... (default: the project's)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="export the model of a run folder")
    p.add_argument("run", help="run folder written by 'train'")
    p.add_argument(
        "--format",
        required=True,
        choices=["keras", "saved_model", "tflite", "onnx"],
        help="keras (.keras file), saved_model (folder), tflite, onnx",
    )
    p.add_argument("--out", help="output path (default: inside the run folder)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("compare", help="train with and without dropout over several seeds")
    p.add_argument("project", help="project file (.json)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (default 3)")
    p.add_argument("--out", required=True, help="folder for compare.csv and compare.png")
    p.add_argument("--epochs", type=int, help="override the project's epochs")
    p.add_argument("--seed", type=int, help="first seed (default: the project's)")
    p.add_argument(
        "--also",
        nargs="*",
        choices=["l2", "early-stopping"],
        help="further arms: an L2 weight penalty, early stopping (no dropout)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "sweep",
        help="sweep dropout rates and training-set sizes with KerasTuner",
        description="Grid over dropout rates (all dropout layers together, or one layer at a "
        "time) and training-set sizes, chosen by validation loss. Distributed: start one "
        "process with KERASTUNER_TUNER_ID=chief and workers with KERASTUNER_TUNER_ID=tuner0, "
        "tuner1, ..., all with KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set and the same "
        "--out folder.",
    )
    p.add_argument("project", help="project file (.json)")
    p.add_argument("--out", required=True, help="folder for sweep.csv, sweep.png and tuner state")
    p.add_argument(
        "--rates",
        nargs="+",
        type=_rate,
        default=[0.0, 0.1, 0.3, 0.5, 0.7],
        help="dropout rates to try (0 = without dropout)",
    )
    p.add_argument(
        "--sizes",
        nargs="+",
        type=_size,
        default=[0],
        help="training-set sizes to try, e.g. 100 300 all (default: all)",
    )
    p.add_argument("--seeds", type=int, default=2, help="seeds per point (default 2)")
    p.add_argument(
        "--per-layer",
        action="store_true",
        help="vary one layer at a time instead of all dropout layers together",
    )
    p.add_argument("--epochs", type=int, help="override the project's epochs")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("code", help="export the stack as a runnable Keras or PyTorch script")
    p.add_argument("project", help="project file (.json)")
    p.add_argument(
        "--framework",
        choices=["keras", "pytorch"],
        default="keras",
        help="keras (same model and parameter count) or pytorch (nn.Module)",
    )
    p.add_argument("--out", required=True, help="the .py file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_code)

    p = sub.add_parser("import", help="turn a plain Keras model file into a project")
    p.add_argument("model", help="Keras model file (.keras)")
    p.add_argument("project", help="project file to write (.json)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_import)
    return parser


MAX_COUNT = 1_000_000  # epochs, batch size, seeds
# Every argument that names a file or folder: a NUL in one is refused before any command runs
# (Python raises ValueError for it deep inside pathlib or os).
PATH_ARGUMENTS = ("project", "run", "model", "out")
MAX_SEED = 2**31 - 1


def _check_counts(args: argparse.Namespace) -> None:
    for key in ("epochs", "batch_size"):
        value = getattr(args, key, None)
        if value is not None and value < 1:
            raise CliError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
        if value is not None and value > MAX_COUNT:
            raise CliError(f"--{key.replace('_', '-')} must be at most {MAX_COUNT:,}, got {value}")
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise CliError(f"--seed must be from 0 to {MAX_SEED}, got {seed}")
    seeds = getattr(args, "seeds", None)  # compare and sweep: runs per arm or point
    if seeds is not None and not 1 <= seeds <= MAX_COUNT:
        raise CliError(f"--seeds must be from 1 to {MAX_COUNT:,}, got {seeds}")
    for key in PATH_ARGUMENTS:
        if key == "out" and args.command == "train":
            continue  # a run folder it cannot write falls back to a safe one, after training
        value = getattr(args, key, None)
        if isinstance(value, str) and "\x00" in value:
            where = key if key in ("project", "run", "model") else f"--{key}"
            raise CliError(f"{where} {value!r}: a path cannot contain a NUL character")


# Errors that mean "your input is wrong" (exit 2) or "the run or export failed" (exit 1). The
# engine's classes are looked up only once their module is loaded: the CLI's light commands must
# not import TensorFlow to report an error.
_INPUT_ERRORS = (
    ("dropout_studio.engine.data", "DataError"),
    ("dropout_studio.engine.importer", "ImportModelError"),
    ("dropout_studio.engine.build", "BuildError"),
    ("dropout_studio.core.shapes", "LayerError"),
)
_RUN_ERRORS = (
    ("dropout_studio.engine.train", "TrainingError"),
    ("dropout_studio.engine.export", "ExportError"),
)


def _loaded(names: tuple[tuple[str, str], ...]) -> tuple[type[BaseException], ...]:
    found = (getattr(sys.modules.get(module), name, None) for module, name in names)
    return tuple(cls for cls in found if isinstance(cls, type) and issubclass(cls, BaseException))


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_line(exc: Exception) -> tuple[int, str]:
    """The exit status and the one line a failed command prints instead of a traceback."""
    if isinstance(exc, (CliError, ProjectError, *_loaded(_INPUT_ERRORS))):
        return 2, _one_line(str(exc))
    if isinstance(exc, _loaded(_RUN_ERRORS)):
        return 1, _one_line(str(exc))
    if isinstance(exc, OSError):
        reason = exc.strerror or _one_line(str(exc)) or type(exc).__name__
        where = exc.filename if exc.filename is not None else ""
        return 1, f"{where}: {reason}" if where != "" else reason
    return 1, (
        f"unexpected error, {type(exc).__name__}: {_one_line(str(exc))} "
        "(set DROPOUT_STUDIO_TRACEBACK=1 to see where)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    from dropout_studio.quiet import quiet_tensorflow

    # TensorFlow's C++ start-up lines (CUDA probing, oneDNN notes, cuInit) are noise to a user;
    # Python errors and our messages still show. Before TensorFlow is imported anywhere.
    quiet_tensorflow()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 1 and argv[0].endswith(".json"):  # dropout-studio my.json opens the app
        from dropout_studio.app import run_app

        return run_app(argv[0])
    args = parser.parse_args(argv)
    if args.self_test:
        from dropout_studio.app import self_test

        return self_test()
    if args.command is None:
        from dropout_studio.app import run_app

        return run_app()
    try:
        _check_counts(args)
        return int(args.func(args))
    except KeyboardInterrupt:
        _print(f"dropout-studio {args.command}: interrupted", sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("DROPOUT_STUDIO_TRACEBACK"):
            raise
        status, message = _error_line(exc)
        _print(f"dropout-studio {args.command}: {message}", sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
