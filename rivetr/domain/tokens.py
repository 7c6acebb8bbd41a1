"""The API token aggregate: created once with the hash of its secret, revoked at most once."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rivetr.domain.commands import AssignTokenOwner, CreateToken, RevokeToken
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import Event, TokenCreated, TokenOwnerAssigned, TokenRevoked


class TokenState(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    exists: bool = False
    revoked: bool = False
    owner: str | None = None
    team: str | None = None


def stream_id(token_id: str) -> str:
    return f"token-{token_id}"


def evolve(state: TokenState, event: Event) -> TokenState:
    match event:
        case TokenCreated():
            return TokenState(
                token_id=event.token_id, exists=True, owner=event.owner, team=event.team
            )
        case TokenOwnerAssigned():
            return msgspec.structs.replace(state, owner=event.owner, team=event.team or state.team)
        case TokenRevoked():
            return msgspec.structs.replace(state, revoked=True)
        case _:
            return state


def fold(token_id: str, events: Iterable[Event]) -> TokenState:
    state = TokenState(token_id=token_id)
    for event in events:
        state = evolve(state, event)
    return state


TokenCommand = CreateToken | RevokeToken | AssignTokenOwner


def decide(state: TokenState, command: TokenCommand) -> list[Event]:
    """Raises AlreadyExists, NotFound or InvalidCommand when the command does not fit."""
    match command:
        case CreateToken():
            if state.exists:
                raise AlreadyExists(f"token {command.token_id} already exists")
            if not command.name.strip():
                raise InvalidCommand("a token needs a name")
            return [
                TokenCreated(
                    token_id=command.token_id,
                    name=command.name,
                    secret_hash=command.secret_hash,
                    scope=command.scope,
                    owner=command.owner,
                    expires_at=command.expires_at,
                    team=command.team,
                )
            ]
        case RevokeToken():
            if not state.exists:
                raise NotFound(f"no token with id {command.token_id!r}")
            if state.revoked:
                return []
            return [TokenRevoked(token_id=command.token_id)]
        case AssignTokenOwner():
            if not state.exists:
                raise NotFound(f"no token with id {command.token_id!r}")
            if state.owner is not None or state.revoked:
                return []  # only an ownerless, live token is handed over
            return [
                TokenOwnerAssigned(
                    token_id=command.token_id, owner=command.owner, team=command.team
                )
            ]
