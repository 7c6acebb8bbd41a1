"""What apprise said while one notice was being sent: it reports a failure only in its log, and
notices of several channels are sent at once, each on a worker thread of its own, so its
records are kept per thread."""

from __future__ import annotations

import logging
import threading

_local = threading.local()


class _PerThread(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        lines: list[str] | None = getattr(_local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())


_installed = False
_lock = threading.Lock()


def install() -> None:
    global _installed
    with _lock:
        if not _installed:
            logger = logging.getLogger("apprise")
            logger.addHandler(_PerThread(level=logging.WARNING))
            logger.setLevel(min(logger.level or logging.WARNING, logging.WARNING))
            _installed = True


class Captured:
    """`with Captured() as said:` the warnings and errors apprise logs on this thread."""

    def __enter__(self) -> list[str]:
        install()
        _local.lines = []
        return _local.lines  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        _local.lines = None
