"""Where each part of a compose file was written, so that every refusal names the file and the
line a user has to change, even after interpolation, `extends` and `include` moved it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import msgspec

from rivetr.domain.errors import InvalidCommand

# a place in the loaded data: mapping keys and list indices from the top, e.g.
# ("services", "web", "ports", 0)
DataPath = tuple[str | int, ...]


class Location(msgspec.Struct, frozen=True):
    """A line of a file of the stack: `file` as the stack names it (relative to its root, `-`
    for a compose file given inline), `line` counted from 1."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Where:
    """The location of each node of the loaded data that came from a file."""

    def __init__(self, places: Mapping[DataPath, Location] | None = None) -> None:
        self._places: dict[DataPath, Location] = dict(places or {})

    def add(self, path: DataPath, location: Location) -> None:
        self._places[path] = location

    def of(self, path: Sequence[str | int]) -> Location | None:
        """The location of `path`, or of its nearest ancestor that has one (a value a default
        or a merge put there is placed where its parent was written)."""
        for end in range(len(path), -1, -1):
            found = self._places.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def items(self) -> Iterable[tuple[DataPath, Location]]:
        return self._places.items()

    def moved(self, source: DataPath, target: DataPath) -> Where:
        """The locations under `source`, placed under `target` instead (a merged `extends`
        base, an included file's services)."""
        size = len(source)
        return Where(
            {target + path[size:]: at for path, at in self._places.items() if path[:size] == source}
        )

    def update(self, other: Where) -> None:
        self._places.update(other._places)


def dotted(path: Sequence[str | int]) -> str:
    """`services.web.ports[0]`: a path as a user reads it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class ComposeError(InvalidCommand):
    """A compose file Rivetr refuses: `key` is the dotted path at fault (`services.web.privileged`)
    and `location` where it was written, when known; the message names both."""

    title = "Compose file refused"

    def __init__(self, problem: str, *, key: Sequence[str | int] = (), where: Where | None = None):
        self.key = dotted(key)
        self.location = where.of(key) if where is not None else None
        self.problem = problem
        prefix = f"{self.location}: " if self.location is not None else ""
        named = f"{self.key}: " if self.key else ""
        super().__init__(f"{prefix}{named}{problem}", field="compose")


class Sources(Protocol):
    """The files of a stack, by path relative to its root (its repository checkout, or nothing
    beyond the inline file)."""

    def read(self, path: str) -> bytes:
        """The file's bytes.

        Raises:
            FileNotFoundError: there is no such file in the stack.
            ComposeError: the path leaves the stack's root, or the file is too large.
        """
        ...
