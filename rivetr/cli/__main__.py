"""`python -m rivetr.cli`: the `rivetr` command, for a checkout that is not installed."""

import sys

from rivetr.cli import main

sys.exit(main())
