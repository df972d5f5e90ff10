"""Before the window: can Qt's xcb platform plugin load its libraries?

Since Qt 6.5 the xcb plugin (a desktop on X11) needs ``libxcb-cursor0`` and several other xcb
libraries that a minimal Debian or Ubuntu lacks. Without them Qt aborts with its own "could not
load the Qt platform plugin xcb" and nothing of ours. :func:`xcb_problem` ``dlopen``\\ s the exact
sonames the plugin links against (a few milliseconds, only when Qt will use xcb) and returns one
line naming the packages to install. No Qt import happens here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

# The plugin's (libqxcb.so + libQt6XcbQpa.so.6) X libraries, by soname, with the Debian/Ubuntu
# package that ships each. libGL, glib and fontconfig are needed by QtGui itself, whose import
# fails with a Python error of its own, so they are not checked here.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}


def qt_will_use_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """True when Qt will pick the xcb plugin: on Linux, ``QT_QPA_PLATFORM`` unset or ``xcb``,
    ``DISPLAY`` set, and (unless xcb was asked for by name) not a Wayland session."""
    env = os.environ if environ is None else environ
    if not (sys.platform if platform is None else platform).startswith("linux"):
        return False
    if not env.get("DISPLAY"):
        return False
    # "xcb", "xcb:option=value" or a fallback list "xcb;offscreen": the first entry counts.
    asked = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if asked:
        return asked == "xcb"
    wayland = bool(env.get("WAYLAND_DISPLAY")) or env.get("XDG_SESSION_TYPE", "") == "wayland"
    return not wayland


def _bundled_library_folders() -> list[str]:
    """Where a bundle may ship the libraries beside Qt's own (PyInstaller, PySide6's lib)."""
    import importlib.util

    folders = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        folders.append(str(frozen))
    spec = importlib.util.find_spec("PySide6")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        folders += [os.path.join(p, "Qt", "lib") for p in spec.submodule_search_locations]
    return folders


def _loads(soname: str) -> bool:
    """True when the dynamic loader opens ``soname`` (by name, or from a bundle's folder)."""
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        for folder in _bundled_library_folders():
            path = os.path.join(folder, soname)
            if os.path.exists(path):
                try:
                    ctypes.CDLL(path)
                except OSError:
                    continue
                return True
        return False
    return True


def missing_xcb_libraries(loads: Callable[[str], bool] = _loads) -> list[str]:
    """The sonames of :data:`XCB_LIBRARIES` that the dynamic loader cannot open."""
    return [soname for soname in XCB_LIBRARIES if not loads(soname)]


def xcb_problem(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    loads: Callable[[str], bool] = _loads,
) -> str | None:
    """One line for the user when Qt will use xcb and a library it needs is missing, else None."""
    if not qt_will_use_xcb(environ, platform):
        return None
    missing = missing_xcb_libraries(loads)
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(XCB_LIBRARIES[soname] for soname in missing))
    return (
        f"dropout-studio: Qt cannot open a window on this X11 display: its xcb platform plugin "
        f"needs {', '.join(missing)}. Install them with: sudo apt install {packages} "
        "(Debian/Ubuntu names; see Troubleshooting in the user guide)"
    )
