"""When the disk under the log refuses a write: which fault it is, in words an operator acts on,
and whether the append it cut short was recorded, was not, or cannot be known."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

FaultKind = Literal["full", "read_only", "io"]
# what a caller whose append met the fault may take as its outcome
Outcome = Literal["not_recorded", "unknown"]

# SQLite's primary result codes (the low byte of an extended code)
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 10, 13, 14
_KINDS: dict[int, FaultKind] = {
    _SQLITE_FULL: "full",
    _SQLITE_READONLY: "read_only",
    _SQLITE_IOERR: "io",
    _SQLITE_CANTOPEN: "io",
}

_ERRNO_KINDS: dict[int, FaultKind] = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "read_only",
}


class StorageFault(Exception):
    """A write to one of Rivetr's files failed because of the disk, not of what was written."""

    def __init__(self, kind: FaultKind, path: Path, reason: str, outcome: Outcome) -> None:
        self.kind = kind
        self.path = path
        self.reason = reason
        self.outcome = outcome
        super().__init__(self.describe())

    def describe(self) -> str:
        """What is wrong and where, and what to do, without what the caller asked."""
        folder = self.path.parent
        match self.kind:
            case "full":
                room = _free(folder)
                return f"the disk holding {folder} is full ({room}); free space there"
            case "read_only":
                return f"the file system holding {folder} is read-only; remount it read-write"
            case _:
                return f"the disk holding {folder} failed a write ({self.reason}); check it"

    def with_outcome(self, outcome: Outcome) -> StorageFault:
        return StorageFault(self.kind, self.path, self.reason, outcome)


def storage_fault(exc: BaseException, path: Path, outcome: Outcome) -> StorageFault | None:
    """The storage fault `exc` is, or None when it is something else (a bug, a lock)."""
    if isinstance(exc, StorageFault):
        return exc
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        kind = _ERRNO_KINDS.get(exc.errno or 0, "io")
        return StorageFault(kind, path, exc.strerror or str(exc), outcome)
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    found = _KINDS.get(code & 0xFF) if isinstance(code, int) else None
    return StorageFault(found, path, str(exc), outcome) if found else None


@dataclass(frozen=True)
class StandingFault:
    """A fault that has not cleared yet: the first time it was met and the latest words for it."""

    fault: StorageFault
    since: datetime
    refused: int  # appends refused (or left unknown) since

    def again(self, fault: StorageFault, appends: int) -> StandingFault:
        return StandingFault(fault, self.since, self.refused + appends)


def standing(previous: StandingFault | None, fault: StorageFault, appends: int) -> StandingFault:
    """The fault standing after a batch of `appends` met `fault`."""
    if previous is None:
        return StandingFault(fault, datetime.now(UTC), appends)
    return previous.again(fault, appends)


def _free(folder: Path) -> str:
    try:
        return f"{shutil.disk_usage(folder).free:,} bytes free"
    except OSError:
        return "free space unknown"
