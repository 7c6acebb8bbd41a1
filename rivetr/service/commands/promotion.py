"""Promoting the release live in one app (staging's) to another (its production counterpart):
a deployment of that very image, decided against the streams of both apps and of the release,
so that a release that stopped being live a moment ago is refused, not deployed."""

from __future__ import annotations

from typing import Any

from rivetr.domain import promotion
from rivetr.domain.access import Actor, Permission, authorize_command
from rivetr.domain.aggregates import APPS, DEPLOYMENTS, Stream
from rivetr.domain.application import AppState
from rivetr.domain.commands import RequestDeployment
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import DeploymentTrigger
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.deployments import new_deployment_id
from rivetr.service.commands.handler import CommandHandler


class PromotionService:
    def __init__(self, handler: CommandHandler, read: ReadModel, lookup: AppLookup) -> None:
        self.handler = handler
        self.read = read
        self.lookup = lookup

    async def promote(
        self,
        actor: Actor,
        app: str,
        *,
        from_app: str | None = None,
        release: str | None = None,
        trigger: DeploymentTrigger = "api",
    ) -> str:
        """Deploy to `app` the image live in `from_app` (by default its only counterpart, the
        app a clone made of it or it of); `release`, when given, must be that live release.
        Returns the new deployment's id.

        Raises:
            Forbidden: the actor may not deploy `app`.
            NotFound: either app, for an actor who may not read it too.
            InvalidCommand: no counterpart to promote from, a release that is not the live
                one, or apps of two teams.
        """
        command = RequestDeployment(deployment_id=new_deployment_id(), app=app, trigger=trigger)
        authorize_command(actor, command, await self.handler.resolve(command))
        target = await self.lookup.by_name(app)
        source = await self._source(actor, target, from_app)
        live = await self.read.deployments.release(source.app_id)
        if live is None:
            raise InvalidCommand(
                f"application {source.name!r} has no live release to promote", field="from_app"
            )
        if release is not None and release != live.deployment_id:
            raise InvalidCommand(
                f"deployment {release} is not the release live in {source.name!r}"
                f" ({live.deployment_id} is): only the live release is promoted",
                field="deployment_id",
            )
        command = RequestDeployment(
            deployment_id=command.deployment_id,
            app=app,
            trigger=trigger,
            image=live.image,
            promoted_from=live.deployment_id,
        )
        new = DEPLOYMENTS.at(command.deployment_id)
        reads: list[Stream[Any]] = [
            new,
            APPS.at(target.app_id),
            APPS.at(source.app_id),
            DEPLOYMENTS.at(live.deployment_id),
        ]

        def decide(states: list[Any], c: RequestDeployment) -> Any:
            fresh, to, of, promoted = states
            return [(new.stream_id, promotion.decide(to, of, promoted, fresh, c))]

        await self.handler.execute_together(
            actor, command, reads=reads, decide=decide, resource=target.app_id
        )
        return command.deployment_id

    async def _source(self, actor: Actor, target: AppState, from_app: str | None) -> AppState:
        if from_app is None:
            named = await self.counterparts(target)
            if len(named) != 1:
                listed = ", ".join(sorted(named)) or "none"
                raise InvalidCommand(
                    f"name the app to promote from: {target.name!r} has {len(named)}"
                    f" counterparts ({listed})",
                    field="from_app",
                )
            from_app = named[0]
        source = await self.lookup.by_name(from_app)
        if not source.exists or not actor.can(Permission.READ, source.team):
            raise NotFound(f"no application named {from_app!r}", field="from_app")
        if source.app_id == target.app_id:
            raise InvalidCommand("a release is promoted from another application", field="from_app")
        if source.team != target.team:
            raise InvalidCommand(
                f"{source.name!r} is in team {source.team!r}, {target.name!r} in"
                f" {target.team!r}: a release is promoted within its team only",
                field="from_app",
            )
        return source

    async def counterparts(self, app: AppState) -> list[str]:
        """The names of the live apps a clone paired `app` with."""
        names = []
        for app_id in await self.read.counterparts.of(app.app_id):
            other = await self.lookup.by_id(app_id)
            if other.exists:
                names.append(other.name)
        return names
