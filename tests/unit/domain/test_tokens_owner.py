"""Handing an ownerless token to a user: once, and never a revoked or already owned one."""

from __future__ import annotations

import pytest

from rivetr.domain import tokens
from rivetr.domain.commands import AssignTokenOwner, CreateToken, RevokeToken
from rivetr.domain.errors import NotFound
from rivetr.domain.events import TokenOwnerAssigned


def replay(*commands: tokens.TokenCommand) -> tokens.TokenState:
    state = tokens.TokenState(token_id="t1")
    for command in commands:
        for event in tokens.decide(state, command):
            state = tokens.evolve(state, event)
    return state


MINT = CreateToken(token_id="t1", name="bootstrap", secret_hash="ab" * 32)
GIVE = AssignTokenOwner(token_id="t1", owner="ann@example.com")


def test_an_ownerless_token_is_given_once() -> None:
    state = replay(MINT)

    assert tokens.decide(state, GIVE) == [
        TokenOwnerAssigned(token_id="t1", owner="ann@example.com")
    ]
    assert replay(MINT, GIVE).owner == "ann@example.com"
    assert tokens.decide(replay(MINT, GIVE), GIVE) == []


def test_an_owned_or_revoked_token_is_not_handed_over() -> None:
    owned = CreateToken(token_id="t1", name="mine", secret_hash="ab" * 32, owner="bob@x.io")

    assert tokens.decide(replay(owned), GIVE) == []
    assert tokens.decide(replay(MINT, RevokeToken(token_id="t1")), GIVE) == []
    with pytest.raises(NotFound):
        tokens.decide(tokens.TokenState(token_id="t1"), GIVE)
