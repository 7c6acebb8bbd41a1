"""Per-deployment log files: build output and container output, kept apart from the event log
(they are far too many lines to be events) and kept after the container is gone.

logs/<app>/<deployment id>.log, one line per output line prefixed with its source, readable by
Rivetr's own user only (0600 in 0700 folders). Only the newest `keep` deployments of each app
keep their log.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import TextIO

from rivetr.adapters.private_files import open_private_append

_MAX_LINE = 4000  # one pathological line must not fill the disk
_READ_CHUNK = 256 * 1024  # what a follower reads at once


class DeploymentLog:
    """Appends lines to one deployment's log. Safe to call from worker threads (build output is
    streamed from the thread that talks to the engine)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = open_private_append(path)

    def write(self, source: str, line: str) -> None:
        text = line.rstrip("\n")[:_MAX_LINE]
        with self._lock:
            if self._file is not None:
                self._file.write(f"{source}| {text}\n")
                self._file.flush()

    def writer(self, source: str) -> _Writer:
        return _Writer(self, source)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class _Writer:
    def __init__(self, log: DeploymentLog, source: str) -> None:
        self.log = log
        self.source = source

    def __call__(self, line: str) -> None:
        self.log.write(self.source, line)


def stack_folder(stack_id: str) -> str:
    """The folder of a stack's release logs: where its deployer writes them and its reads
    find them. By id, with a character no app's name has: an app named `stack-blog` or a
    later stack named as a deleted one never shares it."""
    return f"stack@{stack_id}"


def job_folder(job_id: str) -> str:
    """The folder of a scheduled job's run logs: by its id, in the same way, so that frequent
    runs never crowd an app's deployment logs out (each folder keeps its own newest)."""
    return f"job@{job_id}"


class LogStore:
    def __init__(self, root: Path, keep: int = 20) -> None:
        self.root = root
        self.keep = keep

    def path(self, app: str, deployment_id: str) -> Path:
        return self.root / app / f"{deployment_id}.log"

    def open(self, app: str, deployment_id: str) -> DeploymentLog:
        self.prune(app)
        return DeploymentLog(self.path(app, deployment_id))

    def append(self, app: str, deployment_id: str, source: str, text: str) -> None:
        """Add `text`'s lines to a deployment's log (it may be closed already, or pruned)."""
        log = DeploymentLog(self.path(app, deployment_id))
        try:
            for line in text.splitlines():
                log.write(source, line)
        finally:
            log.close()

    def tail(self, app: str, deployment_id: str, lines: int = 100) -> list[str]:
        path = self.path(app, deployment_id)
        if not path.exists():
            return []
        with path.open(encoding="utf-8", errors="replace") as file:
            return [line.rstrip("\n") for line in deque(file, maxlen=lines)]

    def read_from(self, app: str, deployment_id: str, offset: int) -> tuple[list[str], int]:
        """The whole lines written after byte `offset` (a line still being written waits for
        its end), and the offset after them; blocking."""
        path = self.path(app, deployment_id)
        if not path.exists():
            return [], offset
        with path.open("rb") as file:
            file.seek(offset)
            data = file.read(_READ_CHUNK)
        end = data.rfind(b"\n")
        if end < 0:
            return [], offset
        text = data[: end + 1].decode("utf-8", errors="replace")
        return text.splitlines(), offset + end + 1

    def skip_lines(self, app: str, deployment_id: str, count: int | None) -> tuple[int, int]:
        """How many whole lines there are, up to `count` (None: all), and the byte offset just
        after them; blocking."""
        path = self.path(app, deployment_id)
        skipped = offset = 0
        if count == 0 or not path.exists():
            return skipped, offset
        with path.open("rb") as file:
            for line in file:
                if not line.endswith(b"\n"):
                    break  # still being written
                offset += len(line)
                skipped += 1
                if skipped == count:
                    break
        return skipped, offset

    def tail_counted(self, app: str, deployment_id: str, lines: int) -> tuple[list[str], int]:
        """The last `lines` whole lines and how many whole lines there are, from one read (a
        follower that starts after that count misses nothing and repeats nothing)."""
        path = self.path(app, deployment_id)
        if not path.exists():
            return [], 0
        kept: deque[str] = deque(maxlen=lines)
        count = 0
        with path.open("rb") as file:
            for raw in file:
                if not raw.endswith(b"\n"):
                    break
                kept.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
                count += 1
        return list(kept), count

    def read(self, app: str, deployment_id: str) -> str | None:
        path = self.path(app, deployment_id)
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None

    def prune(self, app: str) -> None:
        """Remove the logs of all but the newest `keep - 1` deployments, making room for one."""
        folder = self.root / app
        if not folder.is_dir():
            return
        logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in logs[max(self.keep - 1, 0) :]:
            old.unlink(missing_ok=True)
