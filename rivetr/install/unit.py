"""The systemd unit `rivetr install` writes: the packaged template (`rivetr.service`) filled in
with the user, the data directory and the command that starts the service."""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

UNIT_NAME = "rivetr.service"

# what a unit file can carry unquoted: no spaces, quotes, `%` specifiers, `$` expansions or
# line breaks, so the path systemd reads is the one given
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._+/-]*")
_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


class InstallError(Exception):
    """Something `rivetr install` cannot do, with what to do about it."""


@dataclass(frozen=True)
class UnitSettings:
    """What the unit is made of: who runs the service, where its data is, how it starts."""

    user: str
    data_dir: Path
    exec_start: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _USER_NAME.fullmatch(self.user):
            raise InstallError(
                f"user: {self.user!r} is not a system user name "
                "(lower-case letters, digits, '_' and '-', at most 32, not starting with a digit)"
            )
        for what, path in [("data directory", str(self.data_dir)), *self._programs()]:
            if not _PLAIN_PATH.fullmatch(path) or "/../" in f"{path}/":
                raise InstallError(
                    f"{what}: {path!r} must be an absolute path of letters, digits and . _ + - "
                    "(the unit file carries it unquoted)"
                )

    def _programs(self) -> list[tuple[str, str]]:
        return [("program", part) for part in self.exec_start if part.startswith("/")]


def exec_start_here() -> tuple[str, ...]:
    """The command that starts the service with the code running this: the `rivetr` script
    beside this interpreter (a venv's bin/), else the interpreter running the package."""
    interpreter = Path(sys.executable)
    script = interpreter.parent / "rivetr"
    if script.is_file():
        return (str(script), "serve")
    return (str(interpreter), "-m", "rivetr.cli", "serve")


def render_unit(settings: UnitSettings) -> str:
    """The unit file's text."""
    template = resources.files("rivetr.install").joinpath(UNIT_NAME).read_text()
    return template.format(
        user=settings.user,
        data_dir=settings.data_dir,
        exec_start=shlex.join(settings.exec_start),
    )
