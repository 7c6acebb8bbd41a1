"""How much of a compose file Rivetr reads before refusing it: sizes a real stack never needs, so
that a hostile file (10 MB, a billion laughs, 1,000 services) is refused at once, in bounded
memory, instead of being expanded."""

from __future__ import annotations

from typing import Final

MAX_FILE_BYTES: Final = 1 << 20  # any one file of the stack: compose files, .env, env files
MAX_SERVICES: Final = 500
MAX_DEPTH: Final = 64  # nested mappings and sequences
# nodes and scalar characters the data would have once every alias is expanded (a 1,000-line
# compose file has a few thousand nodes)
MAX_NODES: Final = 100_000
MAX_CHARACTERS: Final = 8 << 20
# across every file of one load: extends and include may read the same files many times
MAX_TOTAL_NODES: Final = 4 * MAX_NODES
MAX_READS: Final = 200
MAX_VALUE_CHARACTERS: Final = 1 << 20  # one value after interpolation
