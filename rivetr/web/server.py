"""Running the web app under uvicorn with a quieter idle loop.

uvicorn's server loop wakes ten times a second to refresh the Date header and check for a
shutdown request; on a small VPS that alone is ~0.2 % CPU when nothing happens. Once a second
is enough for both (the Date header has one-second resolution; shutdown waits at most 1 s).
"""

from __future__ import annotations

import asyncio

import uvicorn

_TICK_S = 1.0


class QuietServer(uvicorn.Server):
    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick does its once-a-second work when counter % 10 == 0: keep that true
            counter = (counter + 10) % 864000
            await asyncio.sleep(_TICK_S)
            should_exit = await self.on_tick(counter)


def serve(app: object, host: str, port: int, log_level: str) -> None:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        lifespan="on",
    )
    QuietServer(config).run()
