"""The app page's Promote button: deploy to a counterpart (the app a clone paired this one
with) the release live here, through the promotion service, recorded with the trigger
"dashboard"."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from rivetr.service.commands.promotion import PromotionService
from rivetr.web.pages.forms import on_error_page, submitted
from rivetr.web.pages.guard import Layout


class PromoteForm(msgspec.Struct):
    csrf_token: str = ""
    from_app: str = ""  # the app whose live release is promoted
    deployment_id: str = ""  # that release, as the page showed it: it must still be live


class AppPromote(Controller):
    path = "/"
    include_in_schema = False

    @post("/apps/{name:str}/promote")
    async def promote(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        promotions: NamedDependency[PromotionService],
        data: URLEncodedBody[PromoteForm],
    ) -> Response[Any]:
        async def promoted() -> Response[Any]:
            deployment_id = await promotions.promote(
                layout.actor,
                name,
                from_app=data.from_app or None,
                release=data.deployment_id or None,
                trigger="dashboard",
            )
            return Redirect(f"/deployments/{deployment_id}")

        refused = on_error_page(layout, "Nothing was promoted: ")
        return await submitted(layout, data.csrf_token, promoted, refused)
