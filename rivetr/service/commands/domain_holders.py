"""Who holds a domain a command asked for: an app or a stack, named in the refusal only to a
caller who may see it (its team, and its project)."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import APPS, STACKS
from rivetr.domain.claims import DomainTaken
from rivetr.domain.errors import AlreadyExists
from rivetr.service.commands.handler import folded


async def explained(store: EventStore, actor: Actor, taken: DomainTaken) -> AlreadyExists:
    """The refusal, naming the resource that holds the domain if `actor` may read it."""
    resource_id = taken.holder.resource_id
    app = await folded(store, APPS.at(resource_id))
    if app.exists:
        kind, name, team, project = "application", app.name, app.team, app.project
    else:
        stack = await folded(store, STACKS.at(resource_id))
        if not stack.exists:
            return taken
        kind, name, team, project = "stack", stack.name, stack.team, stack.project
    if not actor.may_read(team, project):
        return taken
    covered = "" if taken.held == taken.domain else f" (through {taken.held})"
    return AlreadyExists(f"the domain {taken.domain} is already used by {kind} {name!r}{covered}")
