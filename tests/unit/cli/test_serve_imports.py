"""What `rivetr serve` imports before it is asked for anything: the heavy libraries that only
some actions need stay out of the idle process (issue 23 counts its resident memory)."""

from __future__ import annotations

import json
import subprocess
import sys

# each costs megabytes of resident memory once imported; none is needed at rest
LOADED_ON_USE = ("cryptography", "apprise", "minio", "acme", "josepy", "OpenSSL")

PROBE = f"""
import json, sys
import rivetr.cli.serve, rivetr.bootstrap, rivetr.web.app, rivetr.web.server
import rivetr.adapters.runtime.docker
print(json.dumps([name for name in {LOADED_ON_USE!r} if name in sys.modules]))
"""


def test_serve_leaves_the_heavy_libraries_unimported() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []
