"""Commands of this process that decide on the same stream take turns.

Every create claims its name in the one `claims` stream: under the optimistic check alone, four
clients creating at once read the same version, one wins, and the others read and decide again
until one of them runs out of attempts (a 409 for a request nothing was wrong with). Within the
process a lock per stream turns those races into a queue; the version check stays, for writers
the locks do not see (the CLI, reactors appending directly)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable


class StreamLocks:
    def __init__(self) -> None:
        # stream id -> its lock and how many commands hold or wait for it (dropped at zero,
        # so the table holds only streams in use)
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def holding(self, stream_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of `stream_ids`, taken in one order (sorted) so that two commands
        over the same streams never wait on each other crosswise."""
        wanted = sorted(set(stream_ids))
        for stream_id in wanted:
            lock, users = self._held.get(stream_id, (asyncio.Lock(), 0))
            self._held[stream_id] = (lock, users + 1)
        taken: list[asyncio.Lock] = []
        try:
            for stream_id in wanted:
                lock = self._held[stream_id][0]
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in taken:
                lock.release()
            for stream_id in wanted:
                lock, users = self._held[stream_id]
                if users == 1:
                    del self._held[stream_id]
                else:
                    self._held[stream_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._held)
