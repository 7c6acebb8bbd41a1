"""External builders: the Railpack, Nixpacks and Cloud Native Buildpacks (`pack`) CLIs, run as a
subprocess whose output lines stream into the build log.

Each CLI talks to the container engine itself and leaves the image under the tag it was given.
"""

from __future__ import annotations

import codecs
import re
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from rivetr.adapters.builders.base import BuildPlanError
from rivetr.adapters.builders.detect import TOOLS
from rivetr.adapters.processes import process_group
from rivetr.adapters.runtime.base import BuildFailed

_EOL = re.compile(r"\r\n|\r|\n")
_TAIL_LINES = 50


def cli_command(
    tool: str, source: Path, tag: str, env: Mapping[str, str] | None = None
) -> list[str]:
    """The command line building `source` into `tag` with `tool` (a builder name or its CLI).

    Each of `env` becomes an `--env NAME=VALUE`, the flag all three CLIs take for build-time
    variables (their own settings too: RAILPACK_*, NIXPACKS_*, BP_*).
    """
    binary = TOOLS.get(tool, tool)
    if binary in ("railpack", "nixpacks"):
        command = [binary, "build", str(source), "--name", tag]
    elif binary == "pack":
        command = ["pack", "build", tag, "--path", str(source)]
    else:
        raise ValueError(f"unknown external builder {tool!r}: expected one of {', '.join(TOOLS)}")
    for name, value in (env or {}).items():
        command += ["--env", f"{name}={value}"]
    return command


async def build_with_cli(
    tool: str,
    source: Path,
    tag: str,
    on_output: Callable[[str], None] | None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `tool`'s build of `source` into `tag`, passing `env` as build-time variables.

    Returns `tag`. Cancelling the calling task kills the CLI and everything it started.

    Raises:
        BuildPlanError: the CLI is not installed.
        BuildFailed: it exited non-zero; the message ends with the last lines it printed.
    """
    command = cli_command(tool, source, tag, env)
    if shutil.which(command[0]) is None:
        raise BuildPlanError(
            f"the {tool} builder needs the `{command[0]}` CLI, which is not installed: "
            f"install {command[0]}, or add a Dockerfile"
        )
    tail: deque[str] = deque(maxlen=_TAIL_LINES)

    def emit(line: str) -> None:
        tail.append(line)
        if on_output is not None:
            on_output(line)

    async with process_group(command, stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        async for chunk in process.stdout:
            pending += decoder.decode(chunk)
            *lines, pending = _EOL.split(pending)
            for line in lines:
                if line.strip():
                    emit(line.rstrip())
        if last := (pending + decoder.decode(b"", final=True)).strip():
            emit(last)
        returncode = await process.wait()
    if returncode != 0:
        log = "\n".join(tail)
        raise BuildFailed(f"{command[0]} build of {tag} exited with {returncode}:\n{log}", log)
    return tag
