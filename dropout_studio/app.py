"""Entry point of the desktop app (``dropout-studio`` with no command)."""

from __future__ import annotations

import sys


def run_app(project: str | None = None) -> int:
    """Start the GUI; ``project`` opens a project file at start.

    Before Qt is imported: on X11, check that Qt's xcb plugin can load its libraries (else print
    one line naming the packages and return 1), and keep TensorFlow's start-up lines, which the
    background engine loader would print, off the terminal.
    """
    from dropout_studio.platform_check import xcb_problem
    from dropout_studio.quiet import quiet_tensorflow

    problem = xcb_problem()
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    quiet_tensorflow()
    from dropout_studio.ui.app import run_app as start

    return start([sys.argv[0], project] if project else [sys.argv[0]])


def self_test() -> int:
    from dropout_studio.quiet import quiet_tensorflow
    from dropout_studio.ui.app import self_test as run

    quiet_tensorflow()
    return run()
