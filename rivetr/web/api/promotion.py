"""/api/v1 route that promotes a release: the image live in one app deployed to another of its
team (202, like any deployment), without building."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from rivetr.domain.access import Actor
from rivetr.domain.settings import AppName
from rivetr.service.commands.promotion import PromotionService
from rivetr.web.api.deployments import Accepted, accepted


class PromoteRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # the app whose live release is promoted; default: the app's only counterpart
    from_app: AppName | None = None
    # when given, it must be the release live in `from_app` now
    deployment_id: str | None = None


class PromotionController(Controller):
    path = "/apps/{name:str}"
    tags = ["deployments"]

    @post("/promote", status_code=HTTP_202_ACCEPTED)
    async def promote(
        self,
        name: FromPath[AppName],
        promotions: NamedDependency[PromotionService],
        actor: NamedDependency[Actor],
        data: JSONBody[PromoteRequest | None] = None,
    ) -> Response[Accepted]:
        """Deploy to this app the image live in `from_app` (a staging counterpart), with this
        app's own settings and variables; refused unless that release is live there now."""
        given = data or PromoteRequest()
        deployment_id = await promotions.promote(
            actor, name, from_app=given.from_app, release=given.deployment_id
        )
        return accepted(deployment_id)
