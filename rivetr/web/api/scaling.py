"""/api/v1/apps/{name}/scale: how many copies of an app run, on which servers, balanced how.
A live app is redeployed from its live image at once, so the scale takes effect now; one not
live yet takes it at its first deploy."""

from __future__ import annotations

import msgspec
from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from rivetr.domain.access import Actor, Permission
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.settings import AppName
from rivetr.projections.apps import AppView
from rivetr.service.commands.scaling import ScaleService
from rivetr.service.queries.apps import AppReads
from rivetr.web.api.bodies import body_of

# The PUT body: every field of ScaleApp but the name, which comes from the path.
ScaleBody = body_of(ScaleApp, "ScaleBody", "name")


class Scaled(msgspec.Struct, frozen=True, kw_only=True):
    app: AppView
    # the redeploy that puts the scale into effect (None: it changed nothing, or the app has
    # no live release to redeploy)
    deployment_id: str | None = None


class ScaleController(Controller):
    path = "/apps"
    tags = ["apps"]

    @put("/{name:str}/scale")
    async def scale_app(
        self,
        name: FromPath[AppName],
        data: JSONBody[ScaleBody],  # type: ignore[valid-type]  # a defstruct type
        scaling: NamedDependency[ScaleService],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> Scaled:
        """Set the app's copies whole (what is left out takes its default): `replicas` (1 to
        64), `placement` (`constraints`: labels a server must carry; `spread`: a label to
        spread the copies over) and `balance` (`round_robin` or `least_connections`). More
        than one copy, or a placement, needs servers (`POST /servers/swarm`)."""
        await app_reads.allowed(actor, name, Permission.EDIT_APPS)  # refused before it is looked at
        deployment_id = await scaling.scale(
            actor, ScaleApp(name=name, **msgspec.structs.asdict(data))
        )
        return Scaled(app=await app_reads.readable(actor, name), deployment_id=deployment_id)
