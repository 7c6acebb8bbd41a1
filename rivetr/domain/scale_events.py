"""How many copies of an app run, and on which servers (`app.scaled`, on the app's stream).

One copy without a placement runs on the local engine, as every app did before servers: that
is the default, and what an app scaled back to 1 returns to. More copies, or a placement, run
as a swarm service whose tasks Rivetr's proxy balances over; that needs the servers of
`swarm_events.py`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.swarm_events import LabelKey, Labels

MAX_REPLICAS = 64  # a VPS fleet, not a cluster: more is a typing slip
Replicas = Annotated[int, msgspec.Meta(ge=1, le=MAX_REPLICAS)]
Balance = Literal["round_robin", "least_connections"]


class Placement(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`constraints`: labels a server must carry, every one, to run a copy; `spread`: the
    label whose values the copies are spread evenly over (one per zone before a second)."""

    constraints: Labels = msgspec.field(default_factory=dict)
    spread: LabelKey | None = None

    @property
    def empty(self) -> bool:
        return not self.constraints and self.spread is None

    def described(self) -> str:
        """`zone=eu, disk=ssd, spread over zone`; `anywhere` when it asks nothing."""
        parts = [f"{key}={value}" for key, value in sorted(self.constraints.items())]
        if self.spread is not None:
            parts.append(f"spread over {self.spread}")
        return ", ".join(parts) or "anywhere"


class Scale(msgspec.Struct, frozen=True, kw_only=True):
    """An app's copies as the log says: one on the local engine unless it was scaled."""

    replicas: int = 1
    placement: Placement = msgspec.field(default_factory=Placement)
    balance: Balance = "round_robin"

    @property
    def on_swarm(self) -> bool:
        """Whether its releases run as swarm services rather than one local container."""
        return self.replicas > 1 or not self.placement.empty


class AppScaled(Event, frozen=True, kw_only=True, tag="app.scaled"):
    """The app runs `replicas` copies from its next release on, placed and balanced so (what
    it had before is replaced whole)."""

    name: str
    replicas: Replicas
    placement: Placement = msgspec.field(default_factory=Placement)
    balance: Balance = "round_robin"

    @property
    def scale(self) -> Scale:
        return Scale(replicas=self.replicas, placement=self.placement, balance=self.balance)
