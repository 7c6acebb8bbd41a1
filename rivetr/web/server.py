"""Running the web app under uvicorn with a quieter idle loop, believing forwarded headers
only from the proxies an admin named.

uvicorn's server loop wakes ten times a second to refresh the Date header and check for a
shutdown request; on a small VPS that alone is ~0.2 % CPU when nothing happens. Once a second
is enough for both (the Date header has one-second resolution; shutdown waits at most 1 s).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence

import uvicorn
from litestar import Litestar

from rivetr.web.stopping import Stopping

_TICK_S = 1.0


class QuietServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stopping: Callable[[], Stopping | None]) -> None:
        super().__init__(config)
        self.stopping = stopping

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop taking connections, let requests in flight finish (within the grace period),
        and end the event and log streams at once rather than wait out the grace for them."""
        stopping = self.stopping()
        if stopping is not None:
            stopping.set()
        await super().shutdown(sockets)

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick does its once-a-second work when counter % 10 == 0: keep that true
            counter = (counter + 10) % 864000
            await asyncio.sleep(_TICK_S)
            should_exit = await self.on_tick(counter)


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
