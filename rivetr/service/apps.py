"""Application commands, as the API and the CLI call them."""

from __future__ import annotations

from functools import partial

import msgspec

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.source.policy import RepositoryPolicy
from rivetr.domain import application
from rivetr.domain.access import Actor, Permission, authorize_command, home_team
from rivetr.domain.commands import ChangeAppSettings, CreateApp, OpenPreview, SetWebhookSecret
from rivetr.domain.repository import RepositoryRefused
from rivetr.service.handler import CommandHandler
from rivetr.service.secrets import open_app, open_webhook_secret, seal_command


class AppService:
    def __init__(
        self, handler: CommandHandler, secrets: SecretBox, repositories: RepositoryPolicy
    ) -> None:
        self.handler = handler
        self.secrets = secrets
        self.repositories = repositories

    async def handle(
        self, actor: Actor, command: application.AppCommand, correlation_id: str | None = None
    ) -> list[RecordedEvent]:
        """Seal the command's secrets, then decide and append it. A new app without a team
        goes to the caller's (see `access.home_team`)."""
        if isinstance(command, CreateApp) and command.team is None:
            team = home_team(actor, Permission.MANAGE_APPS)
            command = msgspec.structs.replace(command, team=team)
        if isinstance(command, CreateApp | ChangeAppSettings) and isinstance(command.git_url, str):
            await self._check_repository(actor, command, command.git_url)
        return await self.handler.execute(
            actor,
            seal_command(self.secrets, command),
            stream_id=application.stream_id(command.name),
            fold=partial(application.fold, command.name),
            decide=application.decide,
            correlation_id=correlation_id,
        )

    async def _check_repository(
        self, actor: Actor, command: CreateApp | ChangeAppSettings, url: str
    ) -> None:
        """Refuse a repository URL this instance does not fetch from before it is recorded (each
        fetch checks it again); only for whoever may set it, so a refusal tells no one else."""
        authorize_command(actor, command, await self.handler.resolve(command))
        try:
            await self.repositories.vet(url, must_resolve=False)
        except RepositoryRefused as exc:
            raise RepositoryRefused(f"git_url: {exc}") from None

    async def open_preview(self, actor: Actor, command: OpenPreview) -> list[RecordedEvent]:
        """Create a pull request's preview app from its parent's settings."""
        parent = await load_app(self.handler.store, command.preview_of)
        return await self.handler.execute(
            actor,
            seal_command(self.secrets, command),
            stream_id=application.stream_id(command.name),
            fold=partial(application.fold, command.name),
            decide=partial(application.decide_preview, parent),
        )

    async def reseal(self, actor: Actor, name: str) -> int:
        """Seal the app's secrets again with the newest key (after `rotate`); return how many
        events that appended."""
        app = open_app(self.secrets, await load_app(self.handler.store, name))
        if not app.exists:
            return 0
        command = ChangeAppSettings(
            name=name, env=dict(app.env), git_token=app.git_token, deploy_key=app.deploy_key
        )
        appended = len(await self.handle(actor, command))
        webhook_secret = open_webhook_secret(self.secrets, app)
        if webhook_secret is not None:
            resealed = SetWebhookSecret(name=name, secret=webhook_secret, reseal=True)
            appended += len(await self.handle(actor, resealed))
        return appended


async def load_app(store: EventStore, name: str) -> application.AppState:
    """The application as its stream says it is now."""
    history = await store.read_stream(application.stream_id(name))
    return application.fold(name, [recorded.event for recorded in history])
