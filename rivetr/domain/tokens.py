"""The API token aggregate (created once with the hash of its secret, revoked at most once) and
a token's lineage: a token minted by another is bounded by it and stops working with it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from rivetr.domain.commands import AssignTokenOwner, CreateToken, RevokeToken
from rivetr.domain.errors import AlreadyExists, Forbidden, InvalidCommand, NotFound
from rivetr.domain.events import Event, TokenCreated, TokenOwnerAssigned, TokenRevoked

# each scope holds every permission of the ones before it (test_access checks the nesting)
SCOPE_RANK: dict[str, int] = {"read": 0, "deploy": 1, "admin": 2}


class TokenState(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    exists: bool = False
    revoked: bool = False
    owner: str | None = None
    team: str | None = None
    parent: str | None = None


def stream_id(token_id: str) -> str:
    return f"token-{token_id}"


def evolve(state: TokenState, event: Event) -> TokenState:
    match event:
        case TokenCreated():
            return TokenState(
                token_id=event.token_id,
                exists=True,
                owner=event.owner,
                team=event.team,
                parent=event.parent_token_id,
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
                raise InvalidCommand("a token needs a name", field="name")
            if command.project is not None and command.team is None:
                raise InvalidCommand("a token limited to a project names its team", field="team")
            return [
                TokenCreated(
                    token_id=command.token_id,
                    name=command.name,
                    secret_hash=command.secret_hash,
                    scope=command.scope,
                    owner=command.owner,
                    expires_at=command.expires_at,
                    team=command.team,
                    parent_token_id=command.parent_token_id,
                    project=command.project,
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


# --- lineage ------------------------------------------------------------------------------------


def capped_expiry(requested: str | None, bound: str | None) -> str | None:
    """The expiry of a token asked to expire at `requested` (None: never) and minted by a token
    that expires at `bound` (None: never, or not minted by a token): the earlier one."""
    if bound is None:
        return requested
    if requested is None or datetime.fromisoformat(bound) < datetime.fromisoformat(requested):
        return bound
    return requested


def check_child(
    command: CreateToken,
    parent_id: str,
    scope: str,
    team: str | None,
    expires_at: str | None,
    project: str | None = None,
) -> None:
    """Raise Forbidden unless the token `command` mints stays within the token minting it (id,
    scope, team, project and effective expiry as given): no wider scope, no other team or
    project, no later expiry, and that token recorded as its parent so that it dies with it.

    Raises:
        Forbidden: the child would outgrow its parent; the message says how.
    """
    if command.parent_token_id != parent_id:
        raise Forbidden(f"a token minted by token {parent_id} records it as its parent")
    if SCOPE_RANK[command.scope] > SCOPE_RANK[scope]:
        raise Forbidden(
            f"a {scope}-scoped token cannot mint a {command.scope}-scoped one: "
            f"a token mints tokens of at most its own scope"
        )
    if team is not None and command.team != team:
        raise Forbidden(f"a token of team {team!r} mints tokens for that team only")
    if project is not None and command.project != project:
        raise Forbidden(f"a token of project {project!r} mints tokens for that project only")
    outlives = command.expires_at is None or (
        expires_at is not None
        and datetime.fromisoformat(command.expires_at) > datetime.fromisoformat(expires_at)
    )
    if expires_at is not None and outlives:
        raise Forbidden(f"a token minted by a token expires no later than it does ({expires_at})")


class TokenLink(msgspec.Struct, frozen=True, kw_only=True):
    """One token of a chain as the tokens view holds it. A chain lists the presented token
    first, then the token that minted it, and so on up to one that no token minted."""

    token_id: str
    parent_token_id: str | None
    revoked: bool
    expires_at: str | None
    # its owner's membership of its team ended after it was minted or handed over (removed,
    # even if added again since), or its team was deleted
    membership_ended: bool


class TokenRefused(Exception):
    """A presented token that stands for nobody (any more); the message says why."""


def refusal(chain: Sequence[TokenLink], now: datetime) -> str | None:
    """Why the first token of `chain` may not act at `now`, or None when it may: it and every
    token it descends from must be live, unexpired and within the membership they were
    minted under."""
    if not chain:
        return "unknown token"
    for depth, link in enumerate(chain):
        which = "this token" if depth == 0 else f"token {link.token_id}, which it descends from,"
        if link.revoked:
            return f"{which} was revoked"
        if link.expires_at is not None and datetime.fromisoformat(link.expires_at) <= now:
            return f"{which} expired at {link.expires_at}"
        if link.membership_ended:
            return (
                f"{which} was minted in a team membership that has ended (its owner left "
                "the team, or the team was deleted): mint a new one"
            )
    if chain[-1].parent_token_id is not None:
        return f"token {chain[-1].parent_token_id}, which it descends from, is unknown"
    return None


def effective_expiry(chain: Sequence[TokenLink]) -> str | None:
    """When the first token of `chain` stops working by the clock: the earliest expiry along
    it (None: never)."""
    expiry: str | None = None
    for link in chain:
        expiry = capped_expiry(expiry, link.expires_at)
    return expiry
