"""Entry point of the desktop app (``dropout-studio`` with no command)."""

from __future__ import annotations

import sys


def run_app() -> int:
    """Start the GUI. Until the desktop app lands, say so and point to the CLI."""
    sys.stderr.write(
        "dropout-studio: the desktop app is not part of this version yet; use the commands "
        "(dropout-studio --help), e.g. 'dropout-studio presets'\n"
    )
    return 2
