"""The in-memory twin of the notice sender: records what it is handed, fails or stalls on the
URLs it is told to, and refuses URLs the way the real one does for a wrong scheme."""

from __future__ import annotations

import anyio

from rivetr.adapters.notify.base import Delivery, DeliveryFailed
from rivetr.domain.notification_events import ChannelKind
from rivetr.domain.notifications import SCHEMES


class MemorySender:
    def __init__(self) -> None:
        self.sent: list[Delivery] = []
        self.failing: dict[str, int] = {}  # url -> how many more attempts fail
        self.stalling: set[str] = set()  # urls whose attempts never end on their own
        self.timeout_s = 5.0
        self.attempts: list[Delivery] = []

    async def check(self, kind: ChannelKind, url: str) -> str | None:
        scheme = url.partition("://")[0].lower()
        if scheme not in SCHEMES[kind] or not url.partition("://")[2]:
            return f"{url!r} is not a {kind} URL"
        return None

    async def send(self, delivery: Delivery) -> None:
        self.attempts.append(delivery)
        url = delivery.url
        if url in self.stalling:
            with anyio.move_on_after(self.timeout_s):
                await anyio.sleep_forever()
            raise DeliveryFailed(f"no answer within {self.timeout_s:g} s")
        if self.failing.get(url, 0) > 0:
            self.failing[url] -= 1
            raise DeliveryFailed("the service answered 500 Internal Server Error")
        self.sent.append(delivery)
