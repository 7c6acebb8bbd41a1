"""Every fact Rivetr records, as frozen msgspec Structs in one tagged union.

Tags are explicit and stable; a released shape is never edited. To change one, bump its
`SCHEMA_VERSIONS` entry and register an upcaster in `upcasting.py` that reads the old shape.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from rivetr.domain.settings import BuildSettings, HealthCheck


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of all events. Unknown fields are tolerated so older code can read newer events."""


# --- applications (stream "app-<name>") --------------------------------------------------------


class AppCreated(Event, frozen=True, kw_only=True, tag="app.created"):
    name: str
    git_url: str | None = None
    branch: str = "main"
    build: BuildSettings = msgspec.field(default_factory=BuildSettings)
    port: int = 8080
    domains: list[str] = msgspec.field(default_factory=list)
    health: HealthCheck = msgspec.field(default_factory=HealthCheck)
    env: dict[str, str] = msgspec.field(default_factory=dict)


class AppSettingsChanged(Event, frozen=True, kw_only=True, tag="app.settings_changed"):
    """Only the settings present changed; absent fields kept their value."""

    name: str
    git_url: str | msgspec.UnsetType | None = msgspec.UNSET
    branch: str | msgspec.UnsetType = msgspec.UNSET
    build: BuildSettings | msgspec.UnsetType = msgspec.UNSET
    port: int | msgspec.UnsetType = msgspec.UNSET
    domains: list[str] | msgspec.UnsetType = msgspec.UNSET
    health: HealthCheck | msgspec.UnsetType = msgspec.UNSET


class AppEnvChanged(Event, frozen=True, kw_only=True, tag="app.env_changed"):
    name: str
    set: dict[str, str] = msgspec.field(default_factory=dict)
    unset: list[str] = msgspec.field(default_factory=list)


class AppDeleted(Event, frozen=True, kw_only=True, tag="app.deleted"):
    name: str


# --- API tokens (stream "token-<id>") -----------------------------------------------------------

TokenScope = Literal["read", "deploy", "admin"]


class TokenCreated(Event, frozen=True, kw_only=True, tag="token.created"):
    token_id: str
    name: str
    secret_hash: str  # hex SHA-256 of the token; the token itself is shown once and never stored
    scope: TokenScope = "admin"


class TokenRevoked(Event, frozen=True, kw_only=True, tag="token.revoked"):
    token_id: str


# --- the container engine (stream "engine") -----------------------------------------------------


class EngineConnected(Event, frozen=True, kw_only=True, tag="engine.connected"):
    kind: str
    version: str
    url: str


class EngineLost(Event, frozen=True, kw_only=True, tag="engine.lost"):
    reason: str


AnyEvent = (
    AppCreated
    | AppSettingsChanged
    | AppEnvChanged
    | AppDeleted
    | TokenCreated
    | TokenRevoked
    | EngineConnected
    | EngineLost
)

EVENT_TYPES: dict[str, type[Event]] = {cls.__struct_config__.tag: cls for cls in AnyEvent.__args__}

# The current schema version of each event type; 1 unless listed.
SCHEMA_VERSIONS: dict[str, int] = {
    # v1 carried a single optional `domain`; v2 carries `domains`.
    "app.created": 2,
}


def event_tag(event: Event) -> str:
    tag = event.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def schema_version(tag: str) -> int:
    return SCHEMA_VERSIONS.get(tag, 1)
