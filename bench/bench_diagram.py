"""What one diagram update costs the GUI thread, on a 3 × 1,024-unit stack and the presets.

Records real masks first (the Keras model with recording dropout layers, called in training
mode, read with ``engine.layers.read_masks``), then replays them into a ``NetworkDiagram``:

1. ``set_masks`` alone (restyling: grid images, captions), median and p95;
2. ``set_masks`` plus a synchronous repaint of the view (what the event loop pays per update);
3. the lateness of a 10 ms QTimer while masks arrive at 20 Hz for 3 s (p95 and max), beside
   the same timer's lateness with nothing arriving (the machine's own noise).

Run: ``QT_QPA_PLATFORM=offscreen python bench/bench_diagram.py`` (the project's bars for GUI
lateness are p95 ≤ 5 ms and max ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from dropout_studio.core.project import load_preset
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec


def wide_stack(units: int = 1024, layers: int = 3) -> NetworkSpec:
    stack = [LayerSpec.make("Input", shape=(units,))]
    stack += [
        LayerSpec.make("Dense", DropoutSpec("dropout", 0.5), units=units) for _ in range(layers)
    ]
    return NetworkSpec((*stack, LayerSpec.make("Dense", units=10)))


def recorded_masks(network: NetworkSpec, snapshots: int) -> list[dict]:
    """``snapshots`` successive records of a real model called in training mode."""
    import numpy as np

    from dropout_studio.engine.build import build_model
    from dropout_studio.engine.layers import read_masks

    model = build_model(network, seed=1)
    x = np.random.default_rng(0).random((16, *model.input_shape[1:])).astype("float32")
    out = []
    for _ in range(snapshots):
        model(x, training=True)
        out.append(read_masks(model))
    return out


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def _lateness(app: QApplication, feed: Callable[[], None], seconds: float = 3.0) -> list[float]:
    """How late a 10 ms timer fires while ``feed`` runs every 50 ms in the same event loop."""
    late: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, now - last[0] - 0.010))
        last[0] = now

    ticker, feeder = QTimer(), QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(10)
    ticker.timeout.connect(tick)
    feeder.setInterval(50)
    feeder.timeout.connect(feed)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    ticker.start()
    feeder.start()
    loop.exec()
    ticker.stop()
    feeder.stop()
    return late[1:]


def measure(app: QApplication, name: str, network: NetworkSpec, size: tuple[int, int]) -> None:
    from dropout_studio.ui.diagram import NetworkDiagram

    snapshots = recorded_masks(network, 60)
    view = NetworkDiagram()
    view.resize(*size)
    view.show()
    view.set_network(network)
    view.set_masks(snapshots[0], 0)
    app.processEvents()
    restyle, repaint = [], []
    for step, masks in enumerate(snapshots[1:], start=1):
        start = time.perf_counter()
        view.set_masks(masks, step)
        restyle.append(time.perf_counter() - start)
        view.viewport().repaint()
        repaint.append(time.perf_counter() - start)
    idle = _lateness(app, lambda: None)
    count = [0]

    def feed() -> None:
        count[0] += 1
        view.set_masks(snapshots[count[0] % len(snapshots)], count[0])

    busy = _lateness(app, feed)
    units = sum(m.count for m in view.marks)
    print(
        f"  {name:<14} {units:>5} units, view {size[0]}×{size[1]}: set_masks median "
        f"{statistics.median(restyle) * 1000:.2f} ms (p95 {_pct(restyle, 0.95):.2f}); "
        f"with repaint {statistics.median(repaint) * 1000:.2f} ms (p95 {_pct(repaint, 0.95):.2f}); "
        f"10 ms timer lateness p95/max: idle {_pct(idle, 0.95):.1f}/{max(idle) * 1000:.1f} ms, "
        f"20 Hz updates {_pct(busy, 0.95):.1f}/{max(busy) * 1000:.1f} ms"
    )
    view.close()


def _quiet() -> None:
    from dropout_studio.quiet import quiet_tensorflow

    quiet_tensorflow()  # if anything imports TensorFlow, its start-up lines stay quiet


def main() -> None:
    _quiet()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", nargs="*", default=["mlp-classic", "cnn-classic", "mnist-classic"]
    )
    parser.add_argument("--size", nargs=2, type=int, default=[1000, 560])
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print("Diagram update cost (GUI thread), real recorded masks")
    measure(app, "3 × 1,024", wide_stack(), tuple(args.size))
    for preset in args.presets:
        measure(app, preset, load_preset(preset).network, tuple(args.size))


if __name__ == "__main__":
    main()
