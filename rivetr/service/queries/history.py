"""What was running at a point in time, answered from the log itself (not the read model, which
only knows the present): the app that held the name then (found in the claims, or for a time
before claims, in the name's older stream), its settings folded from its events up to then, and
each of its deployments folded up to then, so the release that was live then is the one whose
state then was `live`."""

from __future__ import annotations

import msgspec

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent
from rivetr.adapters.eventstore.export import recorded_form
from rivetr.domain import application, claims, deployment
from rivetr.domain.access import Actor
from rivetr.domain.application import AppState
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.deployment import DeploymentState
from rivetr.domain.events import AppCreated, Event, NameClaimed
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import is_legacy
from rivetr.service.queries.refusals import Absent, BadQuery


class DeploymentThen(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str  # as it was then
    commit_sha: str | None
    image: str | None
    rollback_of: str | None
    requested_at: str


class AppThen(msgspec.Struct, frozen=True, kw_only=True):
    """The app that had the name at `at`, as the log says it was then (`exists` false: not
    yet created then, or deleted since it had the name)."""

    at: str
    id: str  # "" when no app ever had the name by then
    name: str
    exists: bool
    team: str
    project: str
    git_url: str | None
    branch: str
    port: int
    domains: list[str]
    env_names: list[str]  # names only: values are never shown
    live: DeploymentThen | None  # the release serving traffic then
    deployments: list[DeploymentThen]  # newest first, each as it stood then


class HistoryReads:
    def __init__(self, store: EventStore, read: ReadModel) -> None:
        self.store = store
        self.read = read

    async def app_then(self, actor: Actor, name: str, at: str) -> AppThen:
        """The app that had the name at `at`, as it was then, if the actor may read its team:
        the app's own, never that of whoever holds the name now (a deleted app's history stays
        readable to whoever could read it, and to nobody else)."""
        try:
            moment = recorded_form(at)
        except ValueError as exc:
            raise BadQuery(str(exc)) from None
        then = await app_at(self.store, self.read, name, moment)
        if not then.id or not actor.may_read(then.team, then.project):
            raise Absent(f"no application named {name!r} at {at}")
        return then


async def app_at(store: EventStore, read: ReadModel, name: str, at: str) -> AppThen:
    """`at` in the log's own form (see export.recorded_form)."""
    app_id = await _holder_at(store, name, at)
    if not app_id:
        return _app_then(application.initial_state("", name), at, None, [])
    stream = await store.read_stream(application.stream_id(app_id))
    state = application.fold(app_id, _until(stream, at))
    then: list[DeploymentThen] = []
    for listed in await read.deployments.of_app(app_id, limit=10_000):
        if listed.requested_at > at:
            continue
        events = _until(await store.read_stream(deployment.stream_id(listed.id)), at)
        folded = deployment.fold(listed.id, events)
        then.append(_then(folded, listed.requested_at))
    live = next((d for d in then if d.status == "live"), None)
    return _app_then(state, at, live, then)


async def _holder_at(store: EventStore, name: str, at: str) -> str:
    """The id of the app that last took `name` up to `at` ("" for none): claimed in the
    claims, or, before claims began, created in the name's stream from before ids."""
    taken: list[tuple[int, str]] = []
    for recorded in await store.read_stream(claims.STREAM):
        event = recorded.event
        if recorded.recorded_at <= at and isinstance(event, NameClaimed) and event.name == name:
            taken.append((recorded.position, event.resource_id))
    for recorded in await store.read_stream(f"app-{name}"):
        if recorded.recorded_at > at or recorded.type != "app.created":
            continue
        try:
            event = recorded.event
        except UnreadableEvent:
            continue  # an app no one can read now: not one to show
        if isinstance(event, AppCreated) and is_legacy(event.app_id):
            taken.append((recorded.position, event.app_id))
    return max(taken)[1] if taken else ""


def _until(history: list[RecordedEvent], at: str) -> list[Event]:
    return [recorded.event for recorded in history if recorded.recorded_at <= at]


def _then(state: DeploymentState, requested_at: str) -> DeploymentThen:
    return DeploymentThen(
        id=state.deployment_id,
        status=state.status,
        commit_sha=state.commit_sha,
        image=state.image,
        rollback_of=state.rollback_of,
        requested_at=requested_at,
    )


def _app_then(
    state: AppState, at: str, live: DeploymentThen | None, deployments: list[DeploymentThen]
) -> AppThen:
    return AppThen(
        at=at,
        id=state.app_id,
        name=state.name,
        exists=state.exists,
        team=state.team,
        project=state.project,
        git_url=state.git_url,
        branch=state.branch,
        port=state.port,
        domains=list(state.domains),
        env_names=sorted(state.env),
        live=live,
        deployments=deployments,
    )
