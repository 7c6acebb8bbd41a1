"""Files and directories only Rivetr's own user may read: the data directory holds the event log
(password and session hashes, sealed secrets, who did what), the read model, deployment logs
(build output can print anything) and private keys. Modes are set by chmod after creating, so
no umask loosens them, and files an older version left readable are tightened when opened."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # made by SQLite with the main file's mode


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner may use; missing parents are made so as well."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for folder in {path, *missing}:
        restrict(folder, DIR_MODE)
    return path


def private_sqlite(path: Path) -> Path:
    """Make the SQLite database at `path` owner-only before it is opened: created empty (SQLite
    takes an empty file as a new database) if missing, and its -wal and -shm, which SQLite
    creates with the main file's mode, tightened if an older version left them readable."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for suffix in ("", *SQLITE_COMPANIONS):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            restrict(companion, FILE_MODE)
    return path


def open_private_append(path: Path) -> TextIO:
    """`path` opened for appending text, created (with its folder) owner-only if missing and
    tightened if not."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    restrict(path, FILE_MODE)
    return os.fdopen(descriptor, "a", encoding="utf-8", errors="replace")


def tighten_tree(root: Path) -> None:
    """Make everything under `root` (if it exists) owner-only: what an older version left."""
    if not root.is_dir():
        return
    restrict(root, DIR_MODE)
    for folder, folders, files in os.walk(root):  # symbolic links are not followed
        for names, mode in ((folders, DIR_MODE), (files, FILE_MODE)):
            for name in names:
                path = Path(folder, name)
                if not path.is_symlink():  # chmod would change what it points to
                    restrict(path, mode)


def restrict(path: Path, mode: int) -> None:
    """chmod `path` to `mode` unless it has it. One another user owns cannot be changed: that
    is said in the log rather than stopping the service, which could open it before."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except PermissionError as exc:
        log.warning("%s cannot be made readable by its owner only: %s", path, exc)
