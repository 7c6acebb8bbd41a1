"""What an app's live container writes, read from the engine while someone is watching: the
engine keeps it (its own log driver, rotated by its own settings), Rivetr neither copies nor
follows it otherwise, so an app nobody looks at costs nothing here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from rivetr.adapters.runtime.base import ContainerRuntime, EngineUnavailable, LogLine, log_time_ns
from rivetr.projections.registry import ReadModel

# a float of Unix seconds keeps about a microsecond: ask the engine from a little earlier and
# drop, by the exact timestamp, what is not after the line asked for
SINCE_MARGIN_S = 0.001


class NoLiveContainer(Exception):
    """The app has no release running, so no container output to read."""


class RuntimeLogs:
    def __init__(
        self,
        read: ReadModel,
        runtime: Callable[[], ContainerRuntime | None],
        why_none: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.read = read
        self.runtime = runtime  # the connected engine, if any (the service's monitor, or the CLI's)
        self.why_none = why_none

    async def lines(
        self,
        app_id: str,
        *,
        tail: int,
        after: str | None = None,
        follow: bool = False,
        name: str | None = None,
    ) -> AsyncIterator[LogLine]:
        """The live container's last `tail` lines, or every line after the one written at
        `after` (an engine timestamp, such as a previous line's `at`: the way to resume); with
        `follow`, then each new line as it is written, until that container stops. What can
        be refused is refused here, before the first line is asked for.

        Raises:
            NoLiveContainer: no release of the app is live (named `name` in the message).
            EngineUnavailable: no container engine is connected.
            ValueError: `after` is not an engine timestamp.

        The lines raise ContainerError if the engine no longer has the container.
        """
        floor = log_time_ns(after) if after is not None else None
        release = await self.read.deployments.release(app_id)
        if release is None or release.container_name is None:
            raise NoLiveContainer(f"{name or app_id} has no running release")
        runtime = self.runtime()
        if runtime is None:
            raise EngineUnavailable(self.why_none() or "no container engine is connected")
        source = runtime.log_lines(
            release.container_name,
            tail=-1 if floor is not None else tail,
            since=None if floor is None else floor / 1e9 - SINCE_MARGIN_S,
            follow=follow,
        )
        return _after(source, floor)


async def _after(source: AsyncIterator[LogLine], floor: int | None) -> AsyncIterator[LogLine]:
    async for line in source:
        if floor is None or log_time_ns(line.at) > floor:
            yield line
