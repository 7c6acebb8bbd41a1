"""What no two resources may hold at once: an app's name while it lives, and a domain.

One aggregate in one stream ("claims"), appended with optimistic concurrency together with the
app's own events, so two concurrent claims can never both win and a read model that lags can
never let one through. A name is held by one live app; a host belongs to one team (its apps may
split it by path prefix), a wildcard `*.example.com` claims every host below example.com, and
the same host and path is held by one app only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from rivetr.domain.errors import AlreadyExists
from rivetr.domain.events import (
    DomainsClaimed,
    DomainsReleased,
    Event,
    LegacyClaimsAdopted,
    NameClaimed,
    NameReleased,
)
from rivetr.domain.settings import host_of, path_of

STREAM = "claims"


class Holder(msgspec.Struct, frozen=True):
    resource_id: str
    team: str


class ClaimsState(msgspec.Struct, frozen=True, kw_only=True):
    names: dict[str, Holder] = msgspec.field(default_factory=dict)
    domains: dict[str, Holder] = msgspec.field(default_factory=dict)
    # the apps created before claims existed have been claimed for (see `adopt`)
    adopted: bool = False


class NameTaken(AlreadyExists):
    def __init__(self, name: str, holder: Holder) -> None:
        super().__init__(f"an application named {name!r} already exists")
        self.holder = holder


class DomainTaken(AlreadyExists):
    """A domain another app holds (or covers). The message names no owner: the service adds
    it only for a caller who may see that app."""

    def __init__(self, domain: str, held: str, holder: Holder) -> None:
        super().__init__(f"the domain {domain} is already in use on this instance")
        self.domain = domain
        self.held = held  # the claim it clashes with (the same domain, or a wildcard over it)
        self.holder = holder


def evolve(state: ClaimsState, event: Event) -> ClaimsState:
    match event:
        case NameClaimed():
            names = {**state.names, event.name: Holder(event.resource_id, event.team)}
            return msgspec.structs.replace(state, names=names)
        case NameReleased():
            names = dict(state.names)
            if names.get(event.name, Holder("", "")).resource_id == event.resource_id:
                del names[event.name]
            return msgspec.structs.replace(state, names=names)
        case DomainsClaimed():
            holder = Holder(event.resource_id, event.team)
            domains = {**state.domains, **dict.fromkeys(event.domains, holder)}
            return msgspec.structs.replace(state, domains=domains)
        case DomainsReleased():
            domains = {
                d: h
                for d, h in state.domains.items()
                if not (d in event.domains and h.resource_id == event.resource_id)
            }
            return msgspec.structs.replace(state, domains=domains)
        case LegacyClaimsAdopted():
            return msgspec.structs.replace(state, adopted=True)
    return state


def fold(events: Iterable[Event]) -> ClaimsState:
    state = ClaimsState()
    for event in events:
        state = evolve(state, event)
    return state


def held_by(state: ClaimsState, resource_id: str) -> list[str]:
    return sorted(d for d, h in state.domains.items() if h.resource_id == resource_id)


def claim_name(state: ClaimsState, name: str, resource_id: str, team: str) -> list[Event]:
    """Raises NameTaken when another live app has the name."""
    holder = state.names.get(name)
    if holder is not None:
        if holder.resource_id == resource_id:
            return []
        raise NameTaken(name, holder)
    return [NameClaimed(name=name, resource_id=resource_id, team=team)]


def claim_domains(
    state: ClaimsState, resource_id: str, team: str, domains: Sequence[str]
) -> list[Event]:
    """The claims that make `domains` exactly what `resource_id` holds: new ones claimed, the
    ones it no longer lists released.

    Raises:
        DomainTaken: for the first domain another app holds, or that another team's claim
            covers (or covers one of theirs).
    """
    wanted = list(dict.fromkeys(domains))
    held = held_by(state, resource_id)
    new = [d for d in wanted if d not in held]
    for domain in new:
        clash = _clash(state, domain, resource_id, team)
        if clash is not None:
            raise DomainTaken(domain, *clash)
    gone = [d for d in held if d not in wanted]
    events: list[Event] = []
    if gone:
        events.append(DomainsReleased(resource_id=resource_id, domains=gone))
    if new:
        events.append(DomainsClaimed(resource_id=resource_id, team=team, domains=new))
    return events


def domain_clash(
    state: ClaimsState, domain: str, resource_id: str, team: str
) -> DomainTaken | None:
    """The refusal `domain` would get if `resource_id` of `team` claimed it now, if any (for a
    decision that names every clash instead of stopping at the first)."""
    clash = _clash(state, domain, resource_id, team)
    return None if clash is None else DomainTaken(domain, *clash)


def release(state: ClaimsState, resource_id: str, name: str) -> list[Event]:
    """Everything `resource_id` holds, given up (it is being deleted)."""
    events: list[Event] = []
    holder = state.names.get(name)
    if holder is not None and holder.resource_id == resource_id:
        events.append(NameReleased(name=name, resource_id=resource_id))
    held = held_by(state, resource_id)
    if held:
        events.append(DomainsReleased(resource_id=resource_id, domains=held))
    return events


def database_name(team: str, project: str, environment: str, name: str) -> str:
    """The claim a database's name makes: unique in its environment, where it is a host name
    on the environment's network (a slash is in no app name, so the two never meet)."""
    return f"database/{team}/{project}/{environment}/{name}"


def stack_name(team: str, project: str, environment: str, name: str) -> str:
    """The claim a stack's name makes: unique among the stacks of its environment."""
    return f"stack/{team}/{project}/{environment}/{name}"


def claim_stack_name(state: ClaimsState, resource_id: str, team: str, key: str) -> list[Event]:
    """Raises AlreadyExists when another stack of the environment has the name."""
    holder = state.names.get(key)
    if holder is None:
        return [NameClaimed(name=key, resource_id=resource_id, team=team)]
    if holder.resource_id != resource_id:
        name = key.rsplit("/", 1)[1]
        raise AlreadyExists(f"this environment already has a stack named {name!r}", field="name")
    return []


def host_port(port: int) -> str:
    """The claim a public port makes: one holder on the whole host, whatever the address."""
    return f"port/{port}"


def claim_database(
    state: ClaimsState, resource_id: str, team: str, key: str, public_port: int | None
) -> list[Event]:
    """The claims of a database: its name in its environment, its public port if any (a port
    it held before and no longer lists is released).

    Raises:
        AlreadyExists: another database of the environment has the name, or another
            resource has the port.
    """
    events: list[Event] = []
    holder = state.names.get(key)
    if holder is not None and holder.resource_id != resource_id:
        name = key.rsplit("/", 1)[1]
        raise AlreadyExists(f"this environment already has a database named {name!r}", field="name")
    if holder is None:
        events.append(NameClaimed(name=key, resource_id=resource_id, team=team))
    wanted = None if public_port is None else host_port(public_port)
    for held, by in state.names.items():
        if held.startswith("port/") and by.resource_id == resource_id and held != wanted:
            events.append(NameReleased(name=held, resource_id=resource_id))
    if wanted is not None:
        port_holder = state.names.get(wanted)
        if port_holder is not None and port_holder.resource_id != resource_id:
            raise AlreadyExists(
                f"host port {public_port} is already published by another database",
                field="public_port",
            )
        if port_holder is None:
            events.append(NameClaimed(name=wanted, resource_id=resource_id, team=team))
    return events


def claim_ports(
    state: ClaimsState, resource_id: str, team: str, ports: Sequence[int]
) -> list[Event]:
    """The claims that make `ports` exactly the host ports `resource_id` publishes: new ones
    claimed, the ones it no longer publishes released.

    Raises:
        AlreadyExists: naming the first port another resource publishes.
    """
    wanted = {host_port(port): port for port in sorted(set(ports))}
    events: list[Event] = []
    for held, by in state.names.items():
        if held.startswith("port/") and by.resource_id == resource_id and held not in wanted:
            events.append(NameReleased(name=held, resource_id=resource_id))
    for key, port in wanted.items():
        holder = state.names.get(key)
        if holder is not None and holder.resource_id != resource_id:
            raise AlreadyExists(f"host port {port} is already published on this host")
        if holder is None:
            events.append(NameClaimed(name=key, resource_id=resource_id, team=team))
    return events


def release_all(state: ClaimsState, resource_id: str) -> list[Event]:
    """Every name-like claim `resource_id` holds (a database's name and port), given up."""
    return [
        NameReleased(name=held, resource_id=resource_id)
        for held, by in state.names.items()
        if by.resource_id == resource_id
    ]


class LegacyApp(msgspec.Struct, frozen=True):
    """A live app created before claims existed, as its own stream left it."""

    app_id: str
    name: str
    team: str
    domains: tuple[str, ...]


def adopt(
    state: ClaimsState, apps: Sequence[LegacyApp]
) -> tuple[list[Event], dict[str, list[str]]]:
    """Claims for the apps an older Rivetr created, oldest first, and the marker that they
    were made. Two of them may list the same domain (nothing stopped it then): the older keeps
    it. Returns the events and, per app id, the domains it lost, for the caller to remove from
    its settings."""
    events: list[Event] = []
    lost: dict[str, list[str]] = {}
    for app in apps:
        claimed = claim_name(state, app.name, app.app_id, app.team)
        keep: list[str] = []
        for domain in app.domains:
            if _clash(state, domain, app.app_id, app.team) is None and domain not in keep:
                keep.append(domain)
            else:
                lost.setdefault(app.app_id, []).append(domain)
        claimed += claim_domains(state, app.app_id, app.team, keep)
        for event in claimed:
            state = evolve(state, event)
        events += claimed
    events.append(LegacyClaimsAdopted(apps=len(apps)))
    return events, lost


def _clash(
    state: ClaimsState, domain: str, resource_id: str, team: str
) -> tuple[str, Holder] | None:
    """The claim `domain` would clash with, if any."""
    host, path = host_of(domain), path_of(domain)
    for held, holder in state.domains.items():
        if holder.resource_id == resource_id:
            continue
        held_host = host_of(held)
        if held_host == host and path_of(held) == path:
            return held, holder  # the very same route, even within a team
        if holder.team != team and (
            held_host == host or _covers(held_host, host) or _covers(host, held_host)
        ):
            return held, holder
    return None


def _covers(wildcard: str, host: str) -> bool:
    """Whether `wildcard` (*.example.com) claims `host`: any name below example.com, a
    narrower wildcard included."""
    if not wildcard.startswith("*."):
        return False
    base = wildcard[2:]
    return host.removeprefix("*.").endswith("." + base) or host == wildcard
