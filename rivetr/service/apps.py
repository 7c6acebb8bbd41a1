"""Application commands, as the API and the CLI call them."""

from __future__ import annotations

from functools import partial

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent
from rivetr.domain import application
from rivetr.domain.access import Actor
from rivetr.service.handler import CommandHandler


class AppService:
    def __init__(self, handler: CommandHandler) -> None:
        self.handler = handler

    async def handle(
        self, actor: Actor, command: application.AppCommand, correlation_id: str | None = None
    ) -> list[RecordedEvent]:
        return await self.handler.execute(
            actor,
            command,
            stream_id=application.stream_id(command.name),
            fold=partial(application.fold, command.name),
            decide=application.decide,
            correlation_id=correlation_id,
        )


async def load_app(store: EventStore, name: str) -> application.AppState:
    """The application as its stream says it is now."""
    history = await store.read_stream(application.stream_id(name))
    return application.fold(name, [recorded.event for recorded in history])
