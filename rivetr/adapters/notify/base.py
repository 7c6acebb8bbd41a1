"""The port notices leave Rivetr through: one narrow Protocol, a real sender (`senders.py`) and
an in-memory twin (`memory.py`), held to the same contract suite."""

from __future__ import annotations

from typing import Protocol

import msgspec

from rivetr.domain.notices import Notice
from rivetr.domain.notification_events import ChannelKind


class DeliveryFailed(Exception):
    """The service did not take the notice; the message says why, in a sentence."""


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    kind: ChannelKind
    url: str  # opened: it holds the service's token
    signing_secret: str | None  # opened; a webhook channel's
    notice: Notice
    key: str  # the same on every attempt: a receiver may drop one it has seen


class NoticeSender(Protocol):
    async def check(self, kind: ChannelKind, url: str) -> str | None:
        """Why a notice could never be sent to `url` as a `kind` channel (a URL the service's
        library does not read as that kind, a host this instance does not send to), or None."""
        ...

    async def send(self, delivery: Delivery) -> None:
        """Hand the notice to the service, within a bounded time.

        Raises:
            DeliveryFailed: it was refused, not answered in time, or never reached.
        """
        ...
