"""Application commands, as the API and the CLI call them: each app is found by the name it holds,
then decided on its own stream together with the claims its name and domains make."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import partial
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.source.policy import RepositoryPolicy
from rivetr.domain import application, claims, projects, scaling
from rivetr.domain.access import Actor, Permission, authorize_command, home_team
from rivetr.domain.aggregates import APPS, CLAIMS, PROJECTS, SWARM, Stream
from rivetr.domain.application import AppState
from rivetr.domain.claims import ClaimsState, DomainTaken
from rivetr.domain.commands import (
    ChangeAppSettings,
    ClosePreview,
    CreateApp,
    DeleteApp,
    OpenPreview,
    SetWebhookSecret,
)
from rivetr.domain.errors import NotFound
from rivetr.domain.events import AppCreated, AppDeleted, AppSettingsChanged, Event
from rivetr.domain.reference_grants import check_references, values_of
from rivetr.domain.repository import RepositoryRefused
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.settings import BuildSettingsInput
from rivetr.service.commands.adoption import adopt_legacy_claims
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.domain_holders import explained
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.commands.secrets import open_app, open_webhook_secret, seal_command

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def new_app_id() -> str:
    """Twelve random base32 characters: 60 bits, never reused (a collision, vanishingly rare,
    is refused by the log: the new stream must not exist)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


async def vet_repository(
    handler: CommandHandler, policy: RepositoryPolicy, actor: Actor, command: Any, url: str
) -> None:
    """Refuse a repository URL this instance does not fetch from before it is recorded (each
    fetch checks it again); only for whoever may set it, so a refusal tells no one else."""
    authorize_command(actor, command, await handler.resolve(command))
    try:
        await policy.vet(url, must_resolve=False)
    except RepositoryRefused as exc:
        raise RepositoryRefused(f"git_url: {exc}", field="git_url") from None


class AppService:
    def __init__(
        self,
        handler: CommandHandler,
        secrets: SecretBox,
        lookup: AppLookup,
        repositories: RepositoryPolicy,
    ) -> None:
        self.handler = handler
        self.secrets = secrets
        self.lookup = lookup
        self.repositories = repositories
        self._adopted = False

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
        if isinstance(command, CreateApp):
            return await self._create(actor, command, None, correlation_id)
        app = await self.lookup.by_name(command.name)
        if not app.exists:
            if isinstance(command, ClosePreview):
                return []  # closed already (or never opened): a repeated delivery is fine
            raise NotFound(f"no application named {command.name!r}")
        return await self._change(actor, app, command, correlation_id)

    async def _check_repository(
        self, actor: Actor, command: CreateApp | ChangeAppSettings, url: str
    ) -> None:
        await vet_repository(self.handler, self.repositories, actor, command, url)

    async def open_preview(self, actor: Actor, command: OpenPreview) -> list[RecordedEvent]:
        """Create a pull request's preview app from its parent's settings."""
        parent = await self.lookup.by_name(command.preview_of)
        return await self._create(actor, command, partial(application.decide_preview, parent))

    async def _create(
        self,
        actor: Actor,
        command: CreateApp | OpenPreview,
        decide: Any,
        correlation_id: str | None = None,
    ) -> list[RecordedEvent]:
        """Create an app with its claims; a new app (`decide` None) in an environment of its
        team that exists, read in the same decision."""
        if isinstance(command, CreateApp):
            check_references(actor, command.team, values_of([command]))
        await self.adopt()
        app_id = new_app_id()
        stream = application.stream_id(app_id)
        reads: list[Stream[Any]] = [APPS.at(app_id), CLAIMS.at()]
        if isinstance(command, CreateApp):
            assert command.team is not None
            reads.append(PROJECTS.at(projects.key(command.team, command.project)))

        def together(states: list[Any], c: Any) -> list[tuple[str, list[Event]]]:
            state, held = states[:2]
            if decide is None:
                events: list[Event] = application.decide_create(state, states[2], c)
            else:
                events = decide(state, c)
            created = next(e for e in events if isinstance(e, AppCreated))
            claimed = claims.claim_name(held, created.name, app_id, created.team)
            claimed += claims.claim_domains(held, app_id, created.team, created.domains)
            return [(stream, events), (claims.STREAM, claimed)]

        try:
            return await self.handler.execute_together(
                actor,
                seal_command(self.secrets, app_id, command),
                reads=reads,
                decide=together,
                correlation_id=correlation_id,
                resource=app_id,
            )
        except DomainTaken as taken:
            raise await explained(self.handler.store, actor, taken) from None

    async def _change(
        self, actor: Actor, app: AppState, command: Any, correlation_id: str | None
    ) -> list[RecordedEvent]:
        stream = application.stream_id(app.app_id)
        check_references(actor, app.team, values_of([command]))
        sealed = seal_command(self.secrets, app.app_id, command)
        if not _may_claim(command):  # most changes leave the claims alone: one stream
            return await self.handler.execute(
                actor,
                sealed,
                APPS,
                app.app_id,
                correlation_id=correlation_id,
                resource=app.app_id,
            )
        await self.adopt()

        def together(states: list[Any], c: Any) -> list[tuple[str, list[Event]]]:
            state, held = states
            events = application.decide(state, c)
            return [(stream, events), (claims.STREAM, _claims_for(held, state, events))]

        try:
            return await self.handler.execute_together(
                actor,
                sealed,
                reads=[APPS.at(app.app_id), CLAIMS.at()],
                decide=together,
                correlation_id=correlation_id,
                resource=app.app_id,
            )
        except DomainTaken as taken:
            raise await explained(self.handler.store, actor, taken) from None

    async def scale(
        self, actor: Actor, command: ScaleApp, correlation_id: str | None = None
    ) -> list[RecordedEvent]:
        """Scale the app, decided with the servers read beside it (`scaling.decide_scale`)."""
        app = await self.lookup.by_name(command.name)
        if not app.exists:
            raise NotFound(f"no application named {command.name!r}")
        stream = application.stream_id(app.app_id)

        def together(states: list[Any], c: ScaleApp) -> list[tuple[str, list[Event]]]:
            state, servers = states
            return [(stream, scaling.decide_scale(state, servers, c))]

        return await self.handler.execute_together(
            actor,
            command,
            reads=[APPS.at(app.app_id), SWARM.at()],
            decide=together,
            correlation_id=correlation_id,
            resource=app.app_id,
        )

    async def adopt(self) -> None:
        """Claim the names and domains of apps an older Rivetr made (once per data dir)."""
        if not self._adopted:
            await adopt_legacy_claims(self.handler.store)
            self._adopted = True

    async def reseal(self, actor: Actor, name: str) -> int:
        """Seal the app's secrets again with the newest key (after `rotate`); return how many
        events that appended."""
        app = await self.lookup.by_name(name)
        if not app.exists:
            return 0
        app = open_app(self.secrets, app)
        command = ChangeAppSettings(
            name=name,
            env=dict(app.env),
            env_preview=dict(app.env_preview),
            git_token=app.git_token,
            deploy_key=app.deploy_key,
            build=msgspec.convert(msgspec.to_builtins(app.build), BuildSettingsInput),
        )
        appended = len(await self.handle(actor, command))
        webhook_secret = open_webhook_secret(self.secrets, app)
        if webhook_secret is not None:
            resealed = SetWebhookSecret(name=name, secret=webhook_secret, reseal=True)
            appended += len(await self.handle(actor, resealed))
        return appended


def _may_claim(command: object) -> bool:
    """Whether a change of an existing app can touch the claims: deleting it, or its domains."""
    if isinstance(command, DeleteApp | ClosePreview):
        return True
    return isinstance(command, ChangeAppSettings) and command.domains is not msgspec.UNSET


def _claims_for(held: ClaimsState, state: AppState, events: Sequence[Event]) -> list[Event]:
    """What the app's events change in the claims: its domains, or everything at deletion."""
    claimed: list[Event] = []
    for event in events:
        if isinstance(event, AppDeleted):
            claimed += claims.release(held, state.app_id, state.name)
        elif isinstance(event, AppSettingsChanged) and event.domains is not msgspec.UNSET:
            claimed += claims.claim_domains(held, state.app_id, state.team, event.domains)
    return claimed
