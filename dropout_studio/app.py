"""Entry point of the desktop app (``dropout-studio`` with no command)."""

from __future__ import annotations

import sys


def run_app(project: str | None = None) -> int:
    """Start the GUI; ``project`` opens a project file at start."""
    from dropout_studio.ui.app import run_app as start

    return start([sys.argv[0], project] if project else [sys.argv[0]])


def self_test() -> int:
    from dropout_studio.ui.app import self_test as run

    return run()
