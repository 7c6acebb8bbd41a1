"""Claiming the names and domains of the apps an older Rivetr created, once, before the first
claim is decided: the claims stream then speaks for every live app.

An older log may hold two live apps listing the same domain (nothing stopped it); the older
app keeps it, and the domain is taken out of the newer one's settings by an event that says so.
Nothing earlier is rewritten."""

from __future__ import annotations

import logging

from rivetr.adapters.eventstore.base import (
    ConcurrencyError,
    EventMeta,
    EventStore,
    StreamAppend,
)
from rivetr.domain import application, claims
from rivetr.domain.application import AppState
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.events import AppCreated, AppSettingsChanged
from rivetr.service.commands.app_lookup import is_legacy

log = logging.getLogger(__name__)
_PAGE = 5000
SYSTEM_META = EventMeta(actor="system", source="system")


async def adopt_legacy_claims(store: EventStore) -> bool:
    """Make the claims for older apps if nobody has; return whether this call made them."""
    history = await store.read_stream(claims.STREAM)
    state = claims.fold(recorded.event for recorded in history)
    if state.adopted:
        return False
    apps = await _legacy_live_apps(store)
    events, lost = claims.adopt(state, [_legacy(app) for app in apps])
    appends = [StreamAppend(claims.STREAM, len(history), events)]
    for app in apps:
        if app.app_id in lost:
            kept = [d for d in app.domains if d not in lost[app.app_id]]
            stream = application.stream_id(app.app_id)
            version = len(await store.read_stream(stream))
            change = AppSettingsChanged(name=app.name, domains=kept)
            appends.append(StreamAppend(stream, version, [change]))
            log.warning(
                "%s and an older app both listed %s: the older one keeps it",
                app.name,
                ", ".join(lost[app.app_id]),
            )
    try:
        await store.append_together(appends, SYSTEM_META)
    except ConcurrencyError:
        return False  # another process (the CLI, the service) adopted them meanwhile
    return True


def _legacy(app: AppState) -> claims.LegacyApp:
    return claims.LegacyApp(app.app_id, app.name, app.team, app.domains)


async def _legacy_live_apps(store: EventStore) -> list[AppState]:
    """The live apps whose ids date from before ids, oldest first, from their own streams
    (read once, from the whole log: this runs once per data directory)."""
    states: dict[str, AppState] = {}
    unreadable: set[str] = set()
    after = 0
    while page := await store.read_logged(after=after, limit=_PAGE):
        after = page[-1].position
        for logged in page:
            stream = logged.stream_id
            if not stream.startswith("app-") or stream in unreadable:
                continue
            try:
                event = logged.event
            except UnreadableEvent:
                unreadable.add(stream)  # its app cannot be read, so neither claimed
                states.pop(stream, None)
                continue
            if isinstance(event, AppCreated):
                if not is_legacy(event.app_id):
                    continue
                states[stream] = application.initial_state(event.app_id)
            if stream in states:
                states[stream] = application.evolve(states[stream], event)
    live = [state for state in states.values() if state.exists]
    return sorted(live, key=lambda app: int(app.app_id.rpartition(".")[2]))
