"""Scaling an app so that it takes effect: the scale recorded, then a live app redeployed from
its live image (its copies are a release's, made at deploy). One not live yet takes the scale
at its first deploy."""

from __future__ import annotations

from rivetr.domain.access import Actor, Permission, authorize
from rivetr.domain.errors import NotFound
from rivetr.domain.scaling import ScaleApp
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.deployments import DeploymentService


class ScaleService:
    def __init__(self, apps: AppService, deployments: DeploymentService, read: ReadModel) -> None:
        self.apps = apps
        self.deployments = deployments
        self.read = read

    async def scale(self, actor: Actor, command: ScaleApp) -> str | None:
        """Record the scale; the id of the redeploy that puts it into effect, or None when it
        changed nothing or the app has no live release."""
        app = await self.apps.lookup.by_name(command.name)
        if not app.exists:
            raise NotFound(f"no application named {command.name!r}")
        live = await self.read.deployments.release(app.app_id)
        redeploy = live is not None and live.image is not None
        if redeploy:  # whoever may not deploy is told before anything is recorded
            authorize(actor, Permission.DEPLOY, app.team, app.project)
        changed = await self.apps.scale(actor, command)
        if not changed or not redeploy:
            return None
        assert live is not None
        return await self.deployments.request(actor, command.name, image=live.image)
