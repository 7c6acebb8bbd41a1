"""Running the web app under uvicorn with a silent idle loop, believing forwarded headers
only from the proxies an admin named.

uvicorn's server loop wakes ten times a second to refresh the Date header and check for a
shutdown request; on a small VPS that alone was ~0.2 % CPU when nothing happens. Here it does
not wake at all: the Date is written as each answer starts, and a shutdown request (a signal,
or anything setting `should_exit`) wakes the loop itself.

Once started, what the process holds is frozen out of the garbage collector's reach
(`settle_heap`): a full collection of the started service walked ~130,000 objects (modules,
classes, Litestar's route models, the read model) and held the event loop, and with it the
proxy and every request, for ~80 ms each time it ran.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from email.utils import formatdate

import uvicorn
from litestar import Litestar

from rivetr.web.stopping import Stopping

Header = tuple[bytes, bytes]


class DatedHeaders(list[Header]):
    """uvicorn's default headers (its Server header) with a Date of the second each answer
    starts in, made as uvicorn reads them (iterating, or `+` the answer's own headers)."""

    def __init__(self, headers: Iterable[Header]) -> None:
        super().__init__(headers)
        self._second = -1
        self._date = b""

    def _dated(self) -> list[Header]:
        now = int(time.time())
        if now != self._second:
            self._second, self._date = now, formatdate(now, usegmt=True).encode()
        return [(b"date", self._date), *list.__iter__(self)]

    def __iter__(self) -> Iterator[Header]:
        return iter(self._dated())

    def __add__(self, other: Iterable[Header]) -> list[Header]:  # type: ignore[override]
        return self._dated() + list(other)


def settle_heap() -> None:
    """Collect what start-up left as garbage, then move everything alive into the collector's
    permanent generation: collections from then on walk only what was made since. What start-up
    built lives as long as the process, so freezing it loses nothing; a cycle of it that becomes
    garbage later is kept, where it would have cost a full collection to find."""
    gc.collect()
    gc.freeze()


class QuietServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        stopping: Callable[[], Stopping | None],
        settle: Callable[[], None] = settle_heap,
    ) -> None:
        self._wake: Callable[[], None] | None = None
        super().__init__(config)
        self.stopping = stopping
        self.settle = settle

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        # uvicorn's signal handler sets it between two steps of the loop, which then sleeps on
        self._should_exit = value
        if value and self._wake is not None:
            self._wake()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop taking connections, let requests in flight finish (within the grace period),
        and end the event and log streams at once rather than wait out the grace for them."""
        stopping = self.stopping()
        if stopping is not None:
            stopping.set()
        await super().shutdown(sockets)

    async def main_loop(self) -> None:
        loop = asyncio.get_running_loop()
        asked = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(asked.set)

        self._wake = wake
        headers = self.config.encoded_headers
        dated = DatedHeaders(headers) if self.config.date_header else list(headers)
        self.server_state.default_headers = dated
        self.settle()  # started: the app built, the services open, the read model loaded
        try:
            while not self.should_exit:
                await asked.wait()
                asked.clear()
        finally:
            self._wake = None


def serve(
    app: Litestar,
    host: str,
    port: int,
    log_level: str,
    trusted_proxies: Sequence[str] = (),
    grace_s: int = 10,
) -> None:
    """`trusted_proxies` (addresses, networks): the peers whose X-Forwarded-For and -Proto
    stand for the client; from anyone else, loopback included, they are ignored, so the
    address a sign-in is counted against is the one that connected. On SIGTERM, requests in
    flight get `grace_s` seconds to finish; then they are cancelled and the service closes (its
    appends queued by then still commit)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        lifespan="on",
        proxy_headers=bool(trusted_proxies),
        # never None: uvicorn would then read $FORWARDED_ALLOW_IPS, else trust loopback
        forwarded_allow_ips=list(trusted_proxies),
        timeout_graceful_shutdown=grace_s,
    )
    QuietServer(config, lambda: getattr(app.state, "stopping", None)).run()
