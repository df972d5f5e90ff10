"""Desktop-app benchmarks: time to window, GUI lateness while training, in-app throughput.

1. Process start → window shown (median of N launches), beside a launch that imports
   TensorFlow first, as an app that imported it at the top would.
2. Lateness of a 10 ms QTimer while ``mlp-classic`` trains in the window, start included:
   p95 and max in ms.
3. Training throughput inside the app ÷ the headless engine, same settings, interleaved.

Run: ``python bench/bench_gui.py [--repeats 5]`` (offscreen unless DISPLAY is set).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHILD = """
import os, sys, time
start = float(sys.argv[1])
if sys.argv[2] == "tf-first":
    import tensorflow
from PySide6.QtWidgets import QApplication
app = QApplication([])
from dropout_studio.ui.main_window import MainWindow
from PySide6.QtCore import QSettings
import tempfile
w = MainWindow(settings=QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat))
w.show()
app.processEvents()
print(time.time() - start)
"""


def startup(repeats: int) -> None:
    results: dict[str, list[float]] = {"app": [], "tf-first": []}
    for _ in range(repeats):
        for mode in results:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(time.time()), mode],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode].append(float(out.stdout.strip().splitlines()[-1]))
    app, tf_first = statistics.median(results["app"]), statistics.median(results["tf-first"])
    print("\n1. process start → window shown")
    print(
        f"  app (TensorFlow loads later) median {app:.2f} s   runs: "
        + ", ".join(f"{v:.2f}" for v in results["app"])
    )
    print(f"  importing TensorFlow first  median {tf_first:.2f} s")
    print(f"  target ≤ 1.0 s: {'met' if app <= 1.0 else 'NOT met'}")


def _window(app):
    import tempfile

    from PySide6.QtCore import QSettings

    from dropout_studio.core.document import ProjectDocument
    from dropout_studio.core.project import load_preset
    from dropout_studio.ui.main_window import MainWindow

    project = load_preset("mlp-classic").with_training(epochs=3)
    window = MainWindow(
        ProjectDocument(project),
        settings=QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat),
    )
    window.confirm_discard = lambda: True
    window.show()
    window.start_engine_loading()
    _spin(app, lambda: window.engine_info is not None, 120)
    return window


def _spin(app, condition, timeout: float) -> None:
    from PySide6.QtCore import QEventLoop

    end = time.time() + timeout
    while time.time() < end and not condition():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)


def lateness(app, repeats: int) -> None:
    from PySide6.QtCore import QTimer

    window = _window(app)
    p95s, maxima = [], []
    for _ in range(repeats):
        late: list[float] = []
        last = [time.perf_counter()]

        def tick(late=late, last=last) -> None:
            now = time.perf_counter()
            late.append(max(0.0, (now - last[0]) * 1000 - 10))
            last[0] = now

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        window.train()
        _spin(app, lambda: window.controller.running, 10)
        _spin(app, lambda: not window.controller.running, 300)
        timer.stop()
        late.sort()
        p95s.append(late[int(0.95 * (len(late) - 1))])
        maxima.append(late[-1])
    print("\n2. GUI event-loop lateness while mlp-classic trains (10 ms timer, start included)")
    print(
        f"  p95 median {statistics.median(p95s):.1f} ms (runs "
        + ", ".join(f"{v:.1f}" for v in p95s)
        + f"); max median "
        f"{statistics.median(maxima):.1f} ms (runs "
        + ", ".join(f"{v:.1f}" for v in maxima)
        + ")   targets: p95 ≤ 5 ms, max ≤ 50 ms"
    )
    window.close()


def throughput(app, repeats: int) -> None:
    from dropout_studio.engine.data import load_dataset
    from dropout_studio.engine.train import train

    window = _window(app)
    project = window.document.project
    project = replace(project, dataset=project.dataset.with_options(samples=5000))
    window.document.set_project(project)
    data = load_dataset(project.dataset, project.training.seed)
    ratios, in_app, headless = [], [], []
    for _ in range(repeats):
        result = train(project, data, lambda e: None, threading.Event())
        headless.append(result.samples_per_second)
        window.train()
        _spin(app, lambda: window.controller.running, 10)
        _spin(app, lambda: not window.controller.running, 300)
        in_app.append(window.controller.last_result.samples_per_second)
        ratios.append(in_app[-1] / headless[-1])
    print("\n3. training throughput in the app ÷ headless engine (mlp-classic, 3 epochs)")
    print(
        f"  in app median {statistics.median(in_app):,.0f} samples/s, headless "
        f"{statistics.median(headless):,.0f}; ratio median {statistics.median(ratios):.2f} "
        "(runs " + ", ".join(f"{r:.2f}" for r in ratios) + ")   target ≥ 0.95"
    )
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    startup(args.repeats)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    lateness(app, max(3, args.repeats // 2))
    throughput(app, args.repeats)


if __name__ == "__main__":
    main()
