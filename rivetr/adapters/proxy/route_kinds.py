"""What a route can be: one release (`Upstream`), several replicas balanced (`Balanced`), or a
known app with nothing running (`Parked`). Apart from the table, so the balancer can know the
kinds without importing the table that holds its groups."""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

Strategy = Literal["round_robin", "least_connections"]
STRATEGIES: frozenset[str] = frozenset(get_args(Strategy))


class Upstream(msgspec.Struct, frozen=True):
    app: str
    host: str
    port: int
    deployment_id: str


class Balanced(msgspec.Struct, frozen=True):
    """An app served by several replicas at once, each at its own address: every request goes
    to one member, picked by `strategy` among those not taken out for failing (`balance.py`).
    One member behaves as that member's `Upstream` would."""

    app: str
    deployment_id: str
    members: tuple[Upstream, ...]
    strategy: Strategy = "round_robin"

    def __post_init__(self) -> None:
        # raised here, where the table is built, not on some request later
        if not self.members:
            raise ValueError(f"the balanced route of {self.app} has no members: park it instead")
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy {self.strategy!r} of {self.app}: not one of {sorted(STRATEGIES)}"
            )
        addresses = {(member.host, member.port) for member in self.members}
        if len(addresses) != len(self.members):
            raise ValueError(f"the balanced route of {self.app} lists an address twice")
        strangers = sorted({m.app for m in self.members if m.app != self.app})
        if strangers:
            raise ValueError(f"the balanced route of {self.app} has members of {strangers}")


class Parked(msgspec.Struct, frozen=True):
    """A domain of a known app that has no running release (never deployed, or none live
    now): answered here with a 503 that says so, not taken for a host nobody configured."""

    app: str


Route = Upstream | Balanced | Parked
