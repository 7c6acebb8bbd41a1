"""Paths within a stack (its repository checkout, or one inline file) and `InMemorySources`, the
twin of the filesystem's `Sources` for tests and for a compose file given inline: the same
refusals, an absolute path or one that leaves the root, and a file over the size bound."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Final

from rivetr.domain.compose.bounds import MAX_FILE_BYTES
from rivetr.domain.compose.where import ComposeError

_DRIVE: Final = re.compile(r"[A-Za-z]:[\\/]")


def stack_path(path: str) -> str:
    """`path`, relative to the stack's root, normalised (`deploy/../.env` is `.env`).

    Raises:
        ComposeError: the path is absolute or leaves the root: nothing outside the stack is
            read, whatever the compose file names.
    """
    if path.startswith(("/", "\\", "~")) or _DRIVE.match(path) or "\x00" in path:
        raise ComposeError(f"{path} is outside the stack: files are named relative to it")
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise ComposeError(f"{path} leaves the stack: files are named within it")
    return normal


def too_large(path: str, size: int) -> ComposeError:
    return ComposeError(f"{path} is {size:,} bytes; a file of a stack may hold {MAX_FILE_BYTES:,}")


class InMemorySources:
    """The files of a stack held in memory, by path relative to its root."""

    def __init__(self, files: Mapping[str, bytes | str]) -> None:
        self._files = {
            stack_path(name): data.encode() if isinstance(data, str) else data
            for name, data in files.items()
        }

    def read(self, path: str) -> bytes:
        """The file's bytes.

        Raises:
            FileNotFoundError: there is no such file in the stack.
            ComposeError: the path leaves the stack's root, or the file is too large.
        """
        name = stack_path(path)
        if name not in self._files:
            raise FileNotFoundError(path)
        data = self._files[name]
        if len(data) > MAX_FILE_BYTES:
            raise too_large(path, len(data))
        return data
