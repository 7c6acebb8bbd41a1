"""`python -m rivetr.cli`: the same command as the installed `rivetr` script, run from the
interpreter at hand (as the end-to-end tests and benchmarks do)."""

import sys

from rivetr.cli import main

sys.exit(main())
