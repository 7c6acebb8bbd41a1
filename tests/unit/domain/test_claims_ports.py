"""Host ports are claimed as names are: one holder on the host, whatever kind of resource."""

from __future__ import annotations

import pytest

from rivetr.domain import claims
from rivetr.domain.errors import AlreadyExists
from rivetr.domain.events import NameClaimed, NameReleased


def test_a_stacks_host_ports_are_claimed_released_and_refused_when_held() -> None:
    state = claims.fold([])
    first = claims.claim_ports(state, "st1", "a", [8080, 5353, 8080])
    assert first == [
        NameClaimed(name="port/5353", resource_id="st1", team="a"),
        NameClaimed(name="port/8080", resource_id="st1", team="a"),
    ]
    state = claims.fold(first)
    assert claims.claim_ports(state, "st1", "a", [8080, 5353]) == []
    assert claims.claim_ports(state, "st1", "a", [8080]) == [
        NameReleased(name="port/5353", resource_id="st1")
    ]
    with pytest.raises(AlreadyExists, match="host port 8080 is already published"):
        claims.claim_ports(state, "db1", "b", [8080])
    database = claims.claim_database(claims.fold([]), "db1", "b", "database/b/p/e/pg", 8080)
    with pytest.raises(AlreadyExists, match="8080"):
        claims.claim_ports(claims.fold(database), "st1", "a", [8080])
