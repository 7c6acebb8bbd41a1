"""A stack's files on disk, for the compose reader (`rivetr.domain.compose.where.Sources`): rooted
at a directory (a checkout of the stack's repository), it reads nothing outside it, whatever
the compose file names: no absolute path, no `..` above the root, no symbolic link that resolves
outside, and no file over the size bound (read no further than one byte past it)."""

from __future__ import annotations

from pathlib import Path

from rivetr.domain.compose.bounds import MAX_FILE_BYTES
from rivetr.domain.compose.sources import stack_path, too_large
from rivetr.domain.compose.where import ComposeError


class DirectorySources:
    """The files below `root`, by path relative to it."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve(strict=True)

    def read(self, path: str) -> bytes:
        """The file's bytes.

        Raises:
            FileNotFoundError: there is no such file in the stack (or it is a directory).
            ComposeError: the path leaves the stack's root, or the file is too large.
        """
        name = stack_path(path)
        try:
            found = (self._root / name).resolve(strict=True)
        except FileNotFoundError:
            raise FileNotFoundError(path) from None
        except (OSError, RuntimeError) as exc:  # a loop of links, a name too long
            raise ComposeError(f"{path} cannot be read: {exc}") from exc
        if not found.is_relative_to(self._root):
            raise ComposeError(f"{path} leads outside the stack through a symbolic link")
        if not found.is_file():
            raise FileNotFoundError(path)
        with found.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise too_large(path, found.stat().st_size)
        return data
