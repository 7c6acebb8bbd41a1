"""Keeps a connection to the container engine, or keeps trying, without polling hot.

Unavailable: one log line, then retries with exponential backoff up to a ceiling. Available:
a light ping now and then to notice the daemon going away. Each change of state is an event in
the "engine" stream, so the audit trail says when deployments could not have run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from rivetr.adapters.eventstore.base import ConcurrencyError, EventMeta, EventStore
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.adapters.runtime.base import ContainerRuntime, EngineInfo, EngineUnavailable
from rivetr.domain.events import EngineConnected, EngineLost, Event

log = logging.getLogger(__name__)

STREAM = "engine"
_META = EventMeta(actor="system:engine-monitor", source="system")


class EngineMonitor:
    def __init__(
        self,
        store: EventStore,
        engine: Literal["auto", "docker", "podman", "none"],
        url: str | None,
        retry_max_s: float = 60.0,
        check_every_s: float = 30.0,
        runtime: ContainerRuntime | None = None,
    ) -> None:
        self.store = store
        # a runtime handed in (a twin, in tests) is the engine, whatever `engine` says
        self.given = runtime
        self.engine = engine
        self.url = url
        self.retry_max_s = retry_max_s
        self.check_every_s = check_every_s
        self.runtime: ContainerRuntime | None = None
        self.info: EngineInfo | None = None
        self.problem: str | None = (
            "container engine disabled by configuration (engine = none)"
            if engine == "none" and runtime is None
            else "not checked yet"
        )
        self.ready = asyncio.Event()

    @property
    def status(self) -> str:
        if self.info is not None:
            return f"{self.info.kind} {self.info.version} at {self.info.url}"
        return f"unavailable: {self.problem}"

    async def run(self) -> None:
        if self.engine == "none" and self.given is None:
            return
        delay = 1.0
        while True:
            if self.runtime is None:
                if await self._connect():
                    delay = 1.0
                else:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
            await asyncio.sleep(self.check_every_s)
            await self.check()

    async def _connect(self) -> bool:
        # imported here so a service with no engine never loads the docker SDK
        from rivetr.adapters.runtime.detect import connect_runtime

        try:
            runtime = self.given or await connect_runtime(self.engine, self.url)  # type: ignore[arg-type]
            info = await runtime.ping()
        except EngineUnavailable as exc:
            if self.problem != str(exc):
                log.warning("container engine unavailable, retrying in the background: %s", exc)
                await self._record(EngineLost(reason=str(exc)))
            self.problem = str(exc)
            return False
        self.runtime, self.info, self.problem = runtime, info, None
        log.info("container engine: %s %s at %s", info.kind, info.version, info.url)
        await self._record(EngineConnected(kind=info.kind, version=info.version, url=info.url))
        self.ready.set()
        return True

    async def check(self) -> None:
        """Ping the engine now; if it is gone, let go of it (and record so) until it is back."""
        if self.runtime is None:
            return
        try:
            await self.runtime.ping()
        except EngineUnavailable as exc:
            log.warning("container engine lost: %s", exc)
            if self.runtime is not self.given:  # one handed in is pinged again, not remade
                await self.runtime.close()
            self.runtime, self.info, self.problem = None, None, str(exc)
            self.ready.clear()
            await self._record(EngineLost(reason=str(exc)))

    async def _record(self, event: Event) -> None:
        """Append `event` unless the stream already ends with the same fact."""

        async def attempt() -> None:
            history = await self.store.read_stream(STREAM)
            if history and history[-1].event == event:
                return
            expected = history[-1].version if history else 0
            await self.store.append(STREAM, expected, [event], _META)

        try:  # another Rivetr process may record at the same moment: decided again
            await retry_on_conflict(attempt)
        except ConcurrencyError:
            log.warning("the engine's state was not recorded: the log kept moving on")

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None
