"""Cloning an environment: each resource's copy (named and reached by the patterns of
`clone_patterns.py`), the clashes that stop it, and the decision that makes every copy or none.

A clone is refused before anything is created, naming every problem at once: a copy's name
or domain that is not valid, one another resource holds, or one two copies would share, and a
target environment that is not empty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec

from rivetr.domain import application, claims, projects
from rivetr.domain.application import AppState
from rivetr.domain.claims import ClaimsState, Holder
from rivetr.domain.clone_patterns import copy_domains, copy_name
from rivetr.domain.commands import CloneEnvironment, CreateApp, CreateEnvironment
from rivetr.domain.errors import AlreadyExists, InvalidCommand
from rivetr.domain.events import (
    AppCreated,
    ClonedResource,
    EnvironmentCloned,
    Event,
)
from rivetr.domain.projects import ProjectState
from rivetr.domain.settings import (
    AppName,
    BuildSettingsInput,
    Domain,
    HealthCheckInput,
    ResourcesInput,
)

_S = TypeVar("_S", bound=msgspec.Struct)


class Copy(msgspec.Struct, frozen=True, kw_only=True):
    """What one resource's copy will be: its new id, name and domains."""

    from_id: str
    from_name: str
    id: str
    name: str
    domains: list[str]


class Clash(msgspec.Struct, frozen=True, kw_only=True):
    """A name or domain a copy cannot have: another resource's (`holder`, `held` the claim it
    clashes with, which may be a wildcard over it), or another copy's (`copy_of`)."""

    copy_of: str  # the name of the resource whose copy it is
    what: str  # "name" or "domain"
    value: str
    holder: Holder | None = None
    held: str | None = None
    with_copy_of: str | None = None


class CloneRefused(AlreadyExists):
    """Everything that stops a clone, named at once; nothing was created."""

    def __init__(self, lines: Sequence[str], clashes: Sequence[Clash] = ()) -> None:
        super().__init__("the clone was refused, nothing was created: " + "; ".join(lines))
        self.lines = list(lines)
        self.clashes = list(clashes)


def plan(command: CloneEnvironment, sources: Sequence[AppState], ids: Sequence[str]) -> list[Copy]:
    """Each source's copy (`ids` are the new ids, in the same order).

    Raises:
        InvalidCommand: a pattern is not valid, or makes a name or domain that is not (every
            such copy named).
    """
    copies: list[Copy] = []
    names: list[str] = []
    invalid: list[str] = []
    for source, new_id in zip(sources, ids, strict=True):
        name = copy_name(command, source.name)
        domains = copy_domains(command, source.name, name, source.domains)
        if not _valid(name, AppName):
            names.append(f"the copy of {source.name!r} would be named {name!r}, not a DNS label")
        invalid += [
            f"the copy of {source.name!r} would have the domain {d!r}, not a valid domain"
            for d in domains
            if not _valid(d, Domain)
        ]
        copies.append(
            Copy(
                from_id=source.app_id, from_name=source.name, id=new_id, name=name, domains=domains
            )
        )
    if names or invalid:
        field = "name_pattern" if names else "domain_pattern"
        raise InvalidCommand("; ".join(names + invalid), field=field)
    return copies


def clashes(held: ClaimsState, copies: Sequence[Copy], team: str) -> list[Clash]:
    """Every name and domain of the copies that another resource holds, or that two copies
    would share (each copy is checked against the claims the ones before it would make)."""
    found: list[Clash] = []
    made: dict[str, str] = {}  # a copy's id -> the name of what it copies
    state = held
    for copy in copies:
        holder = state.names.get(copy.name)
        if holder is not None:
            found.append(_clash(copy, "name", copy.name, holder, copy.name, made))
        free: list[str] = []
        for domain in copy.domains:
            taken = claims.domain_clash(state, domain, copy.id, team)
            if taken is None:
                free.append(domain)
            else:
                found.append(_clash(copy, "domain", domain, taken.holder, taken.held, made))
        made[copy.id] = copy.from_name
        for event in _claims(state, copy, team, free, holder is None):
            state = claims.evolve(state, event)
    return found


def copy_command(
    source: AppState, copy: Copy, team: str, project: str, environment: str
) -> CreateApp:
    """The CreateApp that makes `copy` of `source`: every setting but its webhook (a copy
    gets deliveries only once its owner sets a secret for it: a provider's hook names one app),
    with `source`'s env values and credentials as given (the caller seals them for the copy)."""
    return CreateApp(
        name=copy.name,
        team=team,
        git_url=source.git_url,
        branch=source.branch,
        build=_input(source.build, BuildSettingsInput),
        port=source.port,
        domains=list(copy.domains),
        health=_input(source.health, HealthCheckInput),
        resources=_input(source.resources, ResourcesInput),
        env=dict(source.env),
        git_token=source.git_token,
        deploy_key=source.deploy_key,
        watch_paths=list(source.watch_paths),
        previews=source.previews,
        previews_from_forks=source.previews_from_forks,
        project=project,
        environment=environment,
    )


def decide(
    source: ProjectState,
    target: ProjectState,
    held: ClaimsState,
    command: CloneEnvironment,
    copies: Sequence[tuple[Copy, CreateApp]],
) -> list[tuple[str, list[Event], str | None]]:
    """Every copy's creation and claims, and the clone's own event (with the environment's
    creation when asked for), as (stream, events, resource) parts to append together.

    Raises:
        NotFound: the source environment, or the target project (or its environment, unless
            it is to be created), does not exist.
        InvalidCommand: cloning an environment into itself, or one that holds nothing.
        CloneRefused: the target environment is not empty, or names or domains clash.
    """
    to_project = command.to_project or command.project
    projects.require_environment(source, command.environment)
    if (to_project, command.to_environment) == (command.project, command.environment):
        raise InvalidCommand("an environment cannot be cloned into itself", field="to_environment")
    if not copies:
        raise InvalidCommand(f"environment {command.environment!r} holds nothing to clone")
    project_events: list[Event] = []
    if command.create_environment and not projects.has_environment(target, command.to_environment):
        made = CreateEnvironment(
            team=command.team, project=to_project, environment=command.to_environment
        )
        project_events += projects.decide(target, made)
    else:
        projects.require_environment(target, command.to_environment)
    lines = []
    if command.holds:
        held_there = ", ".join(command.holds)
        lines.append(f"environment {command.to_environment!r} is not empty: it holds {held_there}")
    found = clashes(held, [copy for copy, _ in copies], command.team)
    if lines or found:
        raise CloneRefused(lines + [clash_line(c) for c in found], found)
    parts: list[tuple[str, list[Event], str | None]] = []
    state = held
    for copy, create in copies:
        events = application.decide(application.initial_state(copy.id), create)
        created = next(e for e in events if isinstance(e, AppCreated))
        claimed = _claims(state, copy, created.team, created.domains, True)
        for event in claimed:
            state = claims.evolve(state, event)
        parts.append((application.stream_id(copy.id), events, copy.id))
        parts.append((claims.STREAM, claimed, copy.id))
    cloned = EnvironmentCloned(
        team=command.team,
        project=to_project,
        environment=command.to_environment,
        from_project=command.project,
        from_environment=command.environment,
        resources=[
            ClonedResource(from_id=c.from_id, from_name=c.from_name, id=c.id, name=c.name)
            for c, _ in copies
        ],
    )
    parts.append(
        (
            projects.stream_id(projects.key(command.team, to_project)),
            [*project_events, cloned],
            None,
        )
    )
    return parts


def clash_line(clash: Clash, holder_name: str | None = None) -> str:
    """One clash in words; the holder is named only when the caller says who it is."""
    copy = f"the copy of {clash.copy_of!r}"
    if clash.with_copy_of is not None:
        other = f"the copy of {clash.with_copy_of!r}"
        return f"{copy} and {other} would both have the {clash.what} {clash.value!r}"
    if clash.what == "name":
        return f"{copy} would be named {clash.value!r}, which another application has"
    through = "" if clash.held in (None, clash.value) else f" (through {clash.held})"
    by = f" by application {holder_name!r}" if holder_name else " on this instance"
    return f"{copy} would have the domain {clash.value}, already used{by}{through}"


def _clash(
    copy: Copy, what: str, value: str, holder: Holder, held: str | None, made: dict[str, str]
) -> Clash:
    other = made.get(holder.resource_id)
    if other is not None:
        return Clash(copy_of=copy.from_name, what=what, value=value, with_copy_of=other)
    return Clash(copy_of=copy.from_name, what=what, value=value, holder=holder, held=held)


def _claims(
    state: ClaimsState, copy: Copy, team: str, domains: Sequence[str], name_free: bool
) -> list[Event]:
    events: list[Event] = []
    if name_free:
        events += claims.claim_name(state, copy.name, copy.id, team)
    events += claims.claim_domains(state, copy.id, team, domains)
    return events


def _valid(value: str, annotated: object) -> bool:
    try:
        msgspec.convert(value, annotated)
    except msgspec.ValidationError:
        return False
    return True


def _input(value: msgspec.Struct, as_type: type[_S]) -> _S:
    """A setting as the event carries it, back in the strict type a command takes."""
    return msgspec.convert(msgspec.to_builtins(value), as_type)
