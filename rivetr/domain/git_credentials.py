"""The credentials a private repository is fetched with, as apps and stacks both hold them:
an access token (https) and a deploy key (ssh). Write-only and sealed in the log; a command
leaves one as it is (unset), replaces it (a value) or removes it (null)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec

from rivetr.domain.event_base import Event

E = TypeVar("E", bound=Event)

# (token, deploy_key), each sealed or None
Credentials = tuple[str | None, str | None]
NONE: Credentials = (None, None)


def git_auth(token: str | None, deploy_key: str | None) -> list[str]:
    """Which git credentials are set ("deploy_key", "token"), never their values."""
    return [kind for kind, value in (("deploy_key", deploy_key), ("token", token)) if value]


def credentials_after(
    before: Credentials,
    token: str | msgspec.UnsetType | None,
    deploy_key: str | msgspec.UnsetType | None,
) -> Credentials | None:
    """The credentials a command leaves (a field unset keeps what `before` has, None removes
    it), or None when they stay as they were: nothing to record."""
    after = (
        before[0] if isinstance(token, msgspec.UnsetType) else token,
        before[1] if isinstance(deploy_key, msgspec.UnsetType) else deploy_key,
    )
    return None if after == before else after


def recorded_change(
    before: Credentials,
    token: str | msgspec.UnsetType | None,
    deploy_key: str | msgspec.UnsetType | None,
    event: Callable[..., E],
) -> list[E]:
    """The `event(token=..., deploy_key=...)` recording the credentials a command leaves, when
    they differ from `before`; nothing otherwise."""
    after = credentials_after(before, token, deploy_key)
    return [] if after is None else [event(token=after[0], deploy_key=after[1])]
