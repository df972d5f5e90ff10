"""Entry script of the desktop bundle: the same ``dropout-studio`` command, frozen."""

import sys

from dropout_studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
