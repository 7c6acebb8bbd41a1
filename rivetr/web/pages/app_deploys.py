"""The dashboard's deployment buttons: deploy, roll back, cancel one in flight and approve a
fork's pull request.
Each is a form carrying the page's CSRF token, goes through the same services (and so the
same authorisation) as the API, and is recorded with the trigger "dashboard"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.errors import DomainError
from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.commands.previews import PreviewService
from rivetr.web.api.previews import ApprovalAsked, number_in
from rivetr.web.pages.forms import stale
from rivetr.web.pages.guard import error_page


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
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        deployments: NamedDependency[DeploymentService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        return await _started(
            request, engine, data, lambda: deployments.request(actor, name, trigger="dashboard")
        )

    @post("/apps/{name:str}/rollback")
    async def rollback(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        deployments: NamedDependency[DeploymentService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        return await _started(
            request,
            engine,
            data,
            lambda: deployments.rollback(actor, name, data.to or None, trigger="dashboard"),
        )

    @post("/deployments/{deployment_id:str}/cancel")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        deployment_id: FromPath[str],
        actor: NamedDependency[Actor],
        deployments: NamedDependency[DeploymentService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """The deployment page's Cancel button, while the deployment is in flight."""

        async def cancelled() -> str:
            await deployments.cancel(actor, deployment_id, "cancelled from the dashboard")
            return deployment_id

        return await _started(request, engine, data, cancelled)

    @post("/apps/{name:str}/previews/{pr:str}/approve")
    async def approve_preview(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        pr: FromPath[str],
        actor: NamedDependency[Actor],
        previews: NamedDependency[PreviewService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """The app page's Approve button on a fork's pull request: deploys that head."""
        if (refused := stale(request, data.csrf_token, engine)) is not None:
            return refused
        try:
            fields = {"app": name, "pr_number": number_in(pr), "commit": data.commit}
            asked = msgspec.convert(fields, ApprovalAsked)
            deployment_id = await previews.approve(
                actor, asked.app, asked.pr_number, asked.commit, trigger="dashboard"
            )
        except msgspec.ValidationError as exc:
            return error_page(engine, f"Nothing was approved: {exc}", 400)
        except DomainError as exc:
            return error_page(engine, f"Nothing was approved: {exc}", exc.status)
        return Redirect(f"/deployments/{deployment_id}")


async def _started(
    request: Request[Any, Any, Any],
    engine: EngineMonitor,
    data: ActionForm,
    start: Callable[[], Awaitable[str]],
) -> Response[Any]:
    """A deploy or roll-back button: the deployment it started, or why none."""
    if (refused := stale(request, data.csrf_token, engine)) is not None:
        return refused
    try:
        deployment_id = await start()
    except DomainError as exc:
        return error_page(engine, str(exc), exc.status)
    return Redirect(f"/deployments/{deployment_id}")
