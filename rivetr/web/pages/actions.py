"""The dashboard's buttons: creating an app, deploying, rolling back and approving a fork's
pull request. Each is a form carrying the page's CSRF token, and goes through the same
services (and so the same authorisation) as the API."""

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
from rivetr.domain.commands import CreateApp
from rivetr.domain.errors import DomainError
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.commands.previews import PreviewService
from rivetr.web.api.previews import ApprovalAsked, number_in
from rivetr.web.pages.forms import stale
from rivetr.web.pages.guard import error_page


class ActionForm(msgspec.Struct):
    csrf_token: str = ""
    to: str = ""  # for a rollback: the release to go back to
    commit: str = ""  # for an approval: the head commit approved


class AppForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    git_url: str = ""
    branch: str = "main"
    port: str = "3000"
    domains: str = ""  # comma- or space-separated
    health_path: str = "/"


class Actions(Controller):
    path = "/"
    include_in_schema = False

    @post("/apps")
    async def create_app(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        apps: NamedDependency[AppService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[AppForm],
    ) -> Response[Any]:
        """The home page's form: an app from a repository, its port and domains."""
        if (refused := stale(request, data.csrf_token, engine)) is not None:
            return refused
        fields: dict[str, Any] = {
            "name": data.name.strip(),
            "git_url": data.git_url.strip() or None,
            "branch": data.branch.strip() or "main",
            "domains": data.domains.replace(",", " ").split(),
            "health": {"path": data.health_path.strip() or "/"},
        }
        try:
            fields["port"] = int(data.port)
            command = msgspec.convert(fields, CreateApp)
            await apps.handle(actor, command)
        except (ValueError, msgspec.ValidationError) as exc:
            return error_page(engine, f"The app was not created: {exc}", 422)
        except DomainError as exc:
            return error_page(engine, f"The app was not created: {exc}", exc.status)
        return Redirect(f"/apps/{command.name}")

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
        return await _started(request, engine, data, lambda: deployments.request(actor, name))

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
            request, engine, data, lambda: deployments.rollback(actor, name, data.to or None)
        )

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
