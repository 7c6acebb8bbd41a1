"""The dashboard's deployment buttons: deploy, roll back, cancel one in flight and approve a
fork's pull request.
Each is a form carrying the page's CSRF token, goes through the same services (and so the
same authorisation) as the API, and is recorded with the trigger "dashboard"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.commands.previews import PreviewService
from rivetr.web.api.previews import ApprovalAsked, number_in
from rivetr.web.pages.forms import on_error_page, status_of, submitted
from rivetr.web.pages.guard import Layout


class ActionForm(msgspec.Struct):
    csrf_token: str = ""
    to: str = ""  # for a rollback: the release to go back to
    commit: str = ""  # for an approval: the head commit approved


class AppDeploys(Controller):
    path = "/"
    include_in_schema = False

    @post("/apps/{name:str}/deploy")
    async def deploy(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        deployments: NamedDependency[DeploymentService],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        return await _started(
            layout, data, lambda: deployments.request(layout.actor, name, trigger="dashboard")
        )

    @post("/apps/{name:str}/rollback")
    async def rollback(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        deployments: NamedDependency[DeploymentService],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        return await _started(
            layout,
            data,
            lambda: deployments.rollback(layout.actor, name, data.to or None, trigger="dashboard"),
        )

    @post("/deployments/{deployment_id:str}/cancel")
    async def cancel(
        self,
        deployment_id: FromPath[str],
        layout: NamedDependency[Layout],
        deployments: NamedDependency[DeploymentService],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """The deployment page's Cancel button, while the deployment is in flight."""

        async def cancelled() -> str:
            await deployments.cancel(layout.actor, deployment_id, "cancelled from the dashboard")
            return deployment_id

        return await _started(layout, data, cancelled)

    @post("/apps/{name:str}/previews/{pr:str}/approve")
    async def approve_preview(
        self,
        name: FromPath[str],
        pr: FromPath[str],
        layout: NamedDependency[Layout],
        previews: NamedDependency[PreviewService],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """The app page's Approve button on a fork's pull request: deploys that head."""

        async def approve() -> Response[Any]:
            fields = {"app": name, "pr_number": number_in(pr), "commit": data.commit}
            asked = msgspec.convert(fields, ApprovalAsked)
            deployment_id = await previews.approve(
                layout.actor, asked.app, asked.pr_number, asked.commit, trigger="dashboard"
            )
            return Redirect(f"/deployments/{deployment_id}")

        async def refused(exc: Exception) -> Response[Any]:
            # a path or commit no button sends: a bad request, not a form to fix
            status = 400 if isinstance(exc, msgspec.ValidationError) else status_of(exc)
            return layout.error(f"Nothing was approved: {exc}", status)

        return await submitted(layout, data.csrf_token, approve, refused)


async def _started(
    layout: Layout, data: ActionForm, start: Callable[[], Awaitable[str]]
) -> Response[Any]:
    """A deploy, roll-back or cancel button: the page of the deployment it is about, or why
    not."""

    async def started() -> Response[Any]:
        return Redirect(f"/deployments/{await start()}")

    return await submitted(layout, data.csrf_token, started, on_error_page(layout))
