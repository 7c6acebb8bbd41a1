"""The server's stop, as long-lived responses see it: set when a stop begins (SIGTERM), so that
event and log streams end themselves at once (their clients resume with Last-Event-ID against the
next process) instead of holding the stop until the grace period runs out."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request


class Stopping:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


def stopping_of(request: Request[Any, Any, Any]) -> Stopping | None:
    """The stop signal of the app serving `request` (None before its lifespan began)."""
    found = getattr(request.app.state, "stopping", None)
    return found if isinstance(found, Stopping) else None
