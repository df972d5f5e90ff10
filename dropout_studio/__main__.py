import sys

from dropout_studio.cli import main

sys.exit(main())
