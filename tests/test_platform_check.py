"""The xcb check: one line naming the packages instead of Qt's abort, only when Qt uses xcb."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dropout_studio.platform_check import (
    XCB_LIBRARIES,
    missing_xcb_libraries,
    qt_will_use_xcb,
    xcb_problem,
)

X11 = {"DISPLAY": ":0"}


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        (X11, "linux", True),
        ({**X11, "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({**X11, "QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
        ({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({**X11, "QT_QPA_PLATFORM": "offscreen:configfile=s.json"}, "linux", False),
        ({**X11, "QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({}, "linux", False),  # no display: Qt says so itself
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({**X11, "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({**X11, "XDG_SESSION_TYPE": "wayland"}, "linux", False),
        ({**X11, "WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({**X11, "XDG_SESSION_TYPE": "x11"}, "linux", True),
        (X11, "darwin", False),
        (X11, "win32", False),
    ],
)
def test_qt_will_use_xcb(environ: dict[str, str], platform: str, expected: bool) -> None:
    assert qt_will_use_xcb(environ, platform) is expected


def test_missing_cursor_library_names_its_package_in_one_line() -> None:
    def loads(soname: str) -> bool:
        return soname not in ("libxcb-cursor.so.0", "libxcb-icccm.so.4")

    problem = xcb_problem(X11, "linux", loads)
    assert problem is not None
    assert "\n" not in problem
    assert "libxcb-cursor.so.0" in problem
    assert "apt install libxcb-cursor0 libxcb-icccm4 " in problem
    assert missing_xcb_libraries(loads) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]


def test_no_problem_when_everything_loads_or_qt_does_not_use_xcb() -> None:
    assert xcb_problem(X11, "linux", lambda soname: True) is None
    nothing = lambda soname: False  # noqa: E731
    assert xcb_problem({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux", nothing) is None
    assert xcb_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", nothing) is None


def test_the_libraries_qt_needs_are_the_ones_in_the_table_and_the_guide() -> None:
    """Qt 6.5+ xcb plugin's own list (the brief's), all in the table and the guide's apt line."""
    needed = {
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-image.so.0",
        "libxcb-keysyms.so.1",
        "libxcb-render-util.so.0",
        "libxcb-shape.so.0",
        "libxcb-xkb.so.1",
        "libxkbcommon-x11.so.0",
        "libxcb-randr.so.0",
    }
    assert needed <= set(XCB_LIBRARIES)
    guide = (Path(__file__).parents[1] / "docs" / "user-guide.md").read_text(encoding="utf-8")
    for package in XCB_LIBRARIES.values():
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", guide), package


def _plugin_needed() -> set[str]:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations or not shutil.which("readelf"):
        pytest.skip("needs PySide6 and readelf")
    root = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    files = [root / "plugins" / "platforms" / "libqxcb.so", root / "lib" / "libQt6XcbQpa.so.6"]
    if not all(f.exists() for f in files):
        pytest.skip("this PySide6 has no xcb plugin")
    out = subprocess.run(
        ["readelf", "-d", *map(str, files)], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux only")
def test_table_covers_every_x_library_of_the_installed_plugin() -> None:
    x_libraries = {name for name in _plugin_needed() if re.match(r"lib(xcb|X11|xkbcommon)", name)}
    assert x_libraries <= set(XCB_LIBRARIES), x_libraries - set(XCB_LIBRARIES)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux only")
def test_real_check_is_cheap() -> None:
    """Import plus dlopen of every soname, first time in a fresh process: well under 50 ms
    (best of three runs, the machine is shared)."""
    code = textwrap.dedent(
        """
        import time
        start = time.perf_counter()
        from dropout_studio.platform_check import xcb_problem
        xcb_problem({"DISPLAY": ":0"}, "linux")
        print((time.perf_counter() - start) * 1000)
        """
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    assert min(runs) < 50, runs


def _cli_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")
    }
    env["DISPLAY"] = ":99"
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux only")
def test_app_launch_without_a_library_prints_one_line_and_exits_1() -> None:
    """``dropout-studio`` (no command) with a library missing: our line, status 1, and Qt never
    imported. A made-up soname stands in for libxcb-cursor.so.0 on machines that have it."""
    code = textwrap.dedent(
        """
        import sys
        from dropout_studio import platform_check
        platform_check.XCB_LIBRARIES["libdropout-studio-missing.so.0"] = "dropout-missing0"
        from dropout_studio.cli import main
        status = main([])
        print("PySide6" in sys.modules, status)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_cli_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "1"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "libdropout-studio-missing.so.0" in lines[0]
    assert "apt install" in lines[0]
    assert "dropout-missing0" in lines[0]
