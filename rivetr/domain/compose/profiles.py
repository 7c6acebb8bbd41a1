"""Profiles: a service that lists `profiles` is kept only when one of them is enabled (`*` enables
all), as `COMPOSE_PROFILES` does; a kept service that depends on a dropped one is refused, unless
that dependency says `required: false` (then it is dropped with the service)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from rivetr.domain.compose.nodes import Map, Seq, refusal
from rivetr.domain.compose.where import DataPath


def enabled_profiles(profiles: Collection[str], env: Mapping[str, str]) -> set[str]:
    """The profiles asked for, or else those `COMPOSE_PROFILES` names in the variables."""
    if profiles:
        return set(profiles)
    return {name.strip() for name in env.get("COMPOSE_PROFILES", "").split(",") if name.strip()}


def select_profiles(root: Map, enabled: Collection[str]) -> None:
    """Drop the services of no enabled profile from `root`, in place.

    Raises:
        ComposeError: a kept service requires a dropped one; named with its `depends_on`.
    """
    services = root.get("services")
    if not isinstance(services, Map):
        return
    dropped: dict[str, list[str]] = {}
    for name, service, _ in services.entries():
        listed = service.get("profiles") if isinstance(service, Map) else None
        names = [listed] if isinstance(listed, str) else listed
        if not isinstance(names, list) or not names or "*" in enabled:
            continue
        if not any(str(profile) in enabled for profile in names):
            dropped[name] = [str(profile) for profile in names]
    for name in dropped:
        services.drop(name)
    for name, service, _ in services.entries():
        depends = service.get("depends_on") if isinstance(service, Map) else None
        if isinstance(depends, Seq):
            for index, other, at in depends.entries():
                if other in dropped:
                    raise refusal(_required(name, other, dropped), (*_key(name), index), at)
        elif isinstance(depends, Map):
            for other, condition, at in depends.entries():
                if other not in dropped:
                    continue
                if _optional(condition):
                    depends.drop(other)
                else:
                    raise refusal(_required(name, other, dropped), (*_key(name), other), at)


def _key(name: str) -> DataPath:
    return ("services", name, "depends_on")


def _optional(condition: Any) -> bool:
    required = condition.get("required", True) if isinstance(condition, Map) else True
    return required is False or str(required).lower() == "false"


def _required(name: str, other: str, dropped: Mapping[str, list[str]]) -> str:
    profiles = ", ".join(dropped[other])
    return (
        f'service "{name}" depends on "{other}", which is only in the profiles {profiles},'
        " none of them enabled: enable one, or say `required: false`"
    )
