"""Deployment commands: request one, cancel one, roll back to a retained release."""

from __future__ import annotations

import secrets

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent
from rivetr.domain import deployment, previews
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import DEPLOYMENTS, PREVIEWS
from rivetr.domain.commands import CancelDeployment, RequestDeployment
from rivetr.domain.deployment import SERVED, DeploymentState
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import DeploymentTrigger, Event
from rivetr.projections.deployments import DeploymentView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.handler import CommandHandler, folded

# statuses of a deployment whose image was good enough to serve traffic


def new_deployment_id() -> str:
    return secrets.token_hex(6)


class DeploymentService:
    def __init__(self, handler: CommandHandler, read: ReadModel, lookup: AppLookup) -> None:
        self.handler = handler
        self.read = read
        self.lookup = lookup

    async def request(
        self,
        actor: Actor,
        app: str,
        *,
        commit: str | None = None,
        trigger: DeploymentTrigger = "api",
        image: str | None = None,
        rollback_of: str | None = None,
        deployment_id: str | None = None,
    ) -> str:
        """Record a deployment request; the deployer picks it up. Returns the deployment id."""
        found = await self.lookup.by_name(app)
        app_state, gate = await folded(self.store, PREVIEWS.at(found.app_id))
        if image is None:  # from source: a fork's preview builds its approved head alone
            commit = previews.pinned(gate, commit)

        def decide(state: DeploymentState, command: RequestDeployment) -> list[Event]:
            if image is None:
                previews.check_deployable(gate, command.commit)  # once the actor may ask
            return deployment.decide_request(app_state, state, command)

        command = RequestDeployment(
            deployment_id=deployment_id or new_deployment_id(),
            app=app,
            commit=commit,
            trigger=trigger,
            image=image,
            rollback_of=rollback_of,
        )
        await self.handler.execute(
            actor,
            command,
            DEPLOYMENTS,
            command.deployment_id,
            decide=decide,
            resource=app_state.app_id or None,
        )
        return command.deployment_id

    async def cancel(
        self, actor: Actor, deployment_id: str, reason: str = "cancelled by request"
    ) -> list[RecordedEvent]:
        state = await folded(self.store, DEPLOYMENTS.at(deployment_id))
        app = await self.lookup.of_deployment(state)
        return await self.handler.execute(
            actor,
            CancelDeployment(deployment_id=deployment_id, reason=reason),
            DEPLOYMENTS,
            deployment_id,
            decide=deployment.decide_cancel,
            resource=app.app_id or None,
        )

    @property
    def store(self) -> EventStore:
        return self.handler.store

    async def rollback(
        self,
        actor: Actor,
        app: str,
        to: str | None = None,
        trigger: DeploymentTrigger = "rollback",
    ) -> str:
        """Redeploy the image of `to`, or of the release before the live one, without building.
        `rollback_of` marks it a rollback whatever `trigger` says it came from."""
        state = await self.lookup.by_name(app)
        if not state.exists:
            raise NotFound(f"no application named {app!r}")
        target = await self._rollback_target(state.app_id, app, to)
        return await self.request(
            actor,
            app,
            commit=target.commit_sha,
            trigger=trigger,
            image=target.image,
            rollback_of=target.id,
        )

    async def _rollback_target(self, app_id: str, app: str, to: str | None) -> DeploymentView:
        """`to`, or the release before the live one, of this very app (never of an earlier app
        that had its name)."""
        if to is not None:
            target = await self.read.deployments.by_id(to)
            if target is None or target.app_id != app_id:
                raise NotFound(f"no deployment {to!r} of application {app!r}")
            if target.image is None or target.status not in SERVED:
                raise InvalidCommand(
                    f"deployment {to} never served traffic ({target.status}); pick a release"
                    " that did"
                )
            return target
        live = await self.read.deployments.release(app_id)
        for candidate in await self.read.deployments.of_app(app_id, limit=200):
            served = candidate.status in SERVED and candidate.image is not None
            if served and (live is None or candidate.image != live.image):
                return candidate
        raise InvalidCommand(f"application {app!r} has no earlier release to roll back to")
