"""Screenshots of every tab and of presentation mode, at 1366×768 and 1920×1080.

Usage::

    python docs/make_screenshots.py [--out DIR] [--sizes 1366x768 1920x1080] [--quick]

For each size it starts an X server (``Xvfb``, so Qt runs on its real xcb platform, fonts and
all) with a screen of that size and renders, into ``DIR/<W>x<H>/`` (default
``docs/screenshots``):

- ``start.png``: the first-run start page;
- ``mlp-classic.png``, ``cnn-classic.png``, ``lstm-sequence.png``: the diagram mid-training
  (masks of a real training step, every unit drawn), the window caught while training runs;
- ``tab-<name>.png`` for every centre and side tab after a small-data run, a compare, a sweep
  and an Inside analysis (the Runs tab lists the saved runs);
- ``presentation.png`` (F11) and ``presentation-off.png`` (back to the same geometry);
- ``demo.png``: a demo's panel, as a side tab; ``guide.png``: Help ▸ User Guide;
- ``after-new-<tab>.png``: every tab after train → stop → File ▸ New (nothing stale left).

Without ``Xvfb`` it falls back to Qt's offscreen platform with a screen of that size. Needs
``apt-get install xvfb libxcb-cursor0 …`` (see the user guide's troubleshooting section).
``--quick`` trains less (for checking the layout, not the curves).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = ("1366x768", "1920x1080")


# ---------------------------------------------------------------- parent: one X server per size
def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def save_png(image, path: Path) -> None:
    """A palette PNG (UI captures have few colours): about a third of the size."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    import io

    picture = Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")
    picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def start_xvfb(width: int, height: int) -> tuple[subprocess.Popen[bytes], str] | None:
    if shutil.which("Xvfb") is None:
        return None
    for number in range(91, 120):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return server, f":{number}"
            if server.poll() is not None:
                break
            time.sleep(0.1)
        server.terminate()
    return None


def offscreen_platform(width: int, height: int, folder: Path) -> str:
    config = folder / "screen.json"
    screen = {"name": "shots", "x": 0, "y": 0, "width": width, "height": height}
    config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96, "dpr": 1}]}))
    return f"offscreen:configfile={config}"


def parent(args: argparse.Namespace) -> int:
    failures = 0
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        xvfb = start_xvfb(width, height)
        folder = Path(tempfile.mkdtemp(prefix="shots-"))
        if xvfb is not None:
            env.update(DISPLAY=xvfb[1], QT_QPA_PLATFORM="xcb")
        else:
            say("Xvfb not found: using Qt's offscreen platform")
            env["QT_QPA_PLATFORM"] = offscreen_platform(width, height, folder)
        command = [sys.executable, __file__, "--child", size, "--out", str(args.out)]
        try:
            failures += subprocess.run(
                command + (["--quick"] if args.quick else []), env=env, check=False
            ).returncode
        finally:
            if xvfb is not None:
                xvfb[0].terminate()
                xvfb[0].wait()
    return 1 if failures else 0


# ---------------------------------------------------------------- child: the app on one screen
def child(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from dropout_studio.core.document import ProjectDocument
    from dropout_studio.core.project import load_preset
    from dropout_studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    out = Path(args.out) / args.child
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dropout-shots-"))
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    quick = args.quick

    def wait(condition, timeout: float) -> bool:
        end = time.time() + timeout
        while time.time() < end and not condition():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
        return bool(condition())

    def pause(seconds: float) -> None:
        wait(lambda: False, seconds)

    def shot(widget, name: str) -> None:
        pause(0.4)
        path = out / f"{name}.png"
        save_png(widget.grab(), path)
        screen = widget.screen().availableGeometry()
        frame = widget.frameGeometry()
        fits = "fits" if screen.contains(frame) else "DOES NOT FIT"
        say(f"{path}: frame {frame.getRect()} on {screen.getRect()} ({fits})")

    def run(job, timeout: float) -> None:
        wait(lambda: job is None or not job.running, timeout)

    window = MainWindow(
        ProjectDocument(load_preset("mlp-classic")), settings=settings, autosave_folder=work
    )
    window.files.confirm_discard = lambda: True
    window.files.confirm_stop = lambda what: True
    window.start.offer()
    window.show()
    window.start_engine_loading()
    shot(window, "start")
    window.start.page.continue_button.click()
    if not wait(lambda: window.engine_info is not None, 180):
        say("the engine did not load")
        return 1

    # the diagram mid-training: a real training step's masks, every unit drawn
    for name in ("mlp-classic", "cnn-classic", "lstm-sequence"):
        window.files.load_preset(name)
        window.document.set_project(window.document.project.with_training(epochs=200))
        window.stack_editor.select(2)
        window.train_action.trigger()
        wait(lambda: window.stop_action.isEnabled(), 30)
        wait(lambda: len(window.loss_plot.rows) >= 3 and window.diagram.step is not None, 300)
        shot(window, name)
        window.stop_action.trigger()
        wait(lambda: not window.stop_action.isEnabled(), 120)

    # every tab, after a finished small-data run (saved, so the Runs tab lists it)
    project = load_preset("small-data")
    project = project.with_training(epochs=300 if quick else 2000)
    window.files.replace_project(project)
    window.files.save_to(work / "small-data.json")
    window.train_action.trigger()
    wait(lambda: window.stop_action.isEnabled(), 30)
    wait(lambda: not window.stop_action.isEnabled(), 600)
    run(window.inside.analyse_model(), 180)
    run(window.inside.train_twin(), 300)
    window.document.set_project(window.document.project.with_training(epochs=150 if quick else 600))
    run(window.experiments.run_compare(2, ("dropout", "no dropout")), 900)
    run(window.experiments.run_sweep((0.0, 0.3, 0.6), (0,), 1, False), 900)
    window.runs_panel.refresh()
    for tabs in (window.centre_tabs, window.side_tabs):
        for index in range(tabs.count()):
            tabs.setCurrentIndex(index)
            shot(window, f"tab-{tabs.tabText(index).lower()}")
        window.centre_tabs.setCurrentIndex(0)
    window.side_tabs.setCurrentIndex(0)

    # presentation mode, and back
    window.demos.presentation_action.trigger()
    pause(1.0)
    shot(window, "presentation")
    window.demos.presentation_action.trigger()
    pause(1.0)
    shot(window, "presentation-off")

    # train, stop, new project: every tab must forget the old project
    window.files.load_preset("small-data")
    window.train_action.trigger()
    wait(lambda: window.stop_action.isEnabled(), 30)
    wait(lambda: len(window.loss_plot.rows) >= 3, 120)
    window.stop_action.trigger()
    wait(lambda: not window.stop_action.isEnabled(), 120)
    window.files.new_project()
    pause(1.0)
    for tabs in (window.centre_tabs, window.side_tabs):
        for index in range(tabs.count()):
            tabs.setCurrentIndex(index)
            shot(window, f"after-new-{tabs.tabText(index).lower()}")
        window.centre_tabs.setCurrentIndex(0)
    window.side_tabs.setCurrentIndex(0)

    window.demos.start_demo(0)
    shot(window, "demo")
    guide = window.help.show_guide()
    shot(guide, "guide")
    guide.close()
    window.help.show_shortcuts()
    shot(window.help.shortcuts, "shortcuts")
    window.close()
    window.runner.wait(60_000)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
