"""The dashboard's actions and deployment page: creating an app, the deploy and roll-back
buttons, and a deployment's timeline and log. Buttons are forms carrying the page's CSRF token;
they go through the same services (and so the same authorisation) as the API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.bootstrap import Services
from rivetr.domain.access import Actor
from rivetr.domain.commands import CreateApp
from rivetr.domain.errors import DomainError
from rivetr.domain.events import EVENT_TYPES
from rivetr.projections.timeline import timeline
from rivetr.web.ansi import to_html
from rivetr.web.api.deployments import readable_deployment
from rivetr.web.api.previews import ApprovalAsked, number_in
from rivetr.web.auth import tokens_match
from rivetr.web.dashboard import csrf_of, signed_in

LOG_LINES_SHOWN = 500


class ActionForm(msgspec.Struct):
    csrf_token: str = ""
    to: str = ""  # for a rollback: the release to go back to
    commit: str = ""  # for an approval: the head commit approved


async def _form_sender(
    request: Request[Any, Any, Any], services: Services, presented: str
) -> Actor | Response[Any]:
    """Who sent a dashboard form, if signed in and the form carries the page's CSRF token;
    else the answer to give instead."""
    actor = await signed_in(request, services)
    if actor is None:
        return Redirect("/login")
    expected = csrf_of(request)
    if expected is None or not tokens_match(presented, expected):
        return _not_found(services, "This form has expired: load the page again.", 403)
    return actor


def _not_found(services: Services, message: str, status: int = 404) -> Template:
    return Template(
        "error.html",
        context={"engine": services.engine, "message": message},
        status_code=status,
    )


class AppForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    git_url: str = ""
    branch: str = "main"
    port: str = "3000"
    domains: str = ""  # comma- or space-separated
    health_path: str = "/"


class DashboardActions(Controller):
    path = "/"
    include_in_schema = False

    @get("/deployments/{deployment_id:str}")
    async def deployment_page(
        self,
        request: Request[Any, Any, Any],
        deployment_id: FromPath[str],
        services: NamedDependency[Services],
    ) -> Template | Redirect:
        """One deployment: its steps as a timeline (how long each took, what failed) and its
        log with its colours, both following live."""
        actor = await signed_in(request, services)
        if actor is None:
            return Redirect("/login")
        found = await readable_deployment(services, actor, deployment_id)
        if found is None:
            return _not_found(services, f"No deployment {deployment_id!r}.")
        app = await services.read.apps.by_id(found.app_id) if found.app_id else None
        steps = await services.read.deployments.steps(deployment_id)
        log, count = services.logs.tail_counted(found.app, deployment_id, LOG_LINES_SHOWN)
        return Template(
            "deployment.html",
            context={
                "actor": actor,
                "engine": services.engine,
                "deployment": found,
                "app": app,
                "steps": timeline(steps),
                "log": [to_html(line) for line in log],
                "log_lines": count,
                "live_url": _live_url(f"stream=deployment-{deployment_id}", steps),
                "event_types": sorted(EVENT_TYPES),
                "csrf_token": csrf_of(request),
            },
        )

    @post("/apps")
    async def create_app(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: URLEncodedBody[AppForm],
    ) -> Response[Any]:
        """The home page's form: an app from a repository, its port and domains."""
        actor = await _form_sender(request, services, data.csrf_token)
        if not isinstance(actor, Actor):
            return actor
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
            await services.apps.handle(actor, command)
        except (ValueError, msgspec.ValidationError) as exc:
            return _not_found(services, f"The app was not created: {exc}", 422)
        except DomainError as exc:
            return _not_found(services, f"The app was not created: {exc}", exc.status)
        return Redirect(f"/apps/{command.name}")

    @post("/apps/{name:str}/deploy")
    async def deploy(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        services: NamedDependency[Services],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        return await self._act(request, services, data, name, rollback=False)

    @post("/apps/{name:str}/rollback")
    async def rollback(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        services: NamedDependency[Services],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        return await self._act(request, services, data, name, rollback=True)

    @post("/apps/{name:str}/previews/{pr:str}/approve")
    async def approve_preview(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        pr: FromPath[str],
        services: NamedDependency[Services],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """The app page's Approve button on a fork's pull request: deploys that head."""
        actor = await _form_sender(request, services, data.csrf_token)
        if not isinstance(actor, Actor):
            return actor
        try:
            fields = {"app": name, "pr_number": number_in(pr), "commit": data.commit}
            asked = msgspec.convert(fields, ApprovalAsked)
            deployment_id = await services.previews.approve(
                actor, asked.app, asked.pr_number, asked.commit, trigger="dashboard"
            )
        except msgspec.ValidationError as exc:
            return _not_found(services, f"Nothing was approved: {exc}", 400)
        except DomainError as exc:
            return _not_found(services, f"Nothing was approved: {exc}", exc.status)
        return Redirect(f"/deployments/{deployment_id}")

    async def _act(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        data: ActionForm,
        name: str,
        *,
        rollback: bool,
    ) -> Response[Any]:
        actor = await _form_sender(request, services, data.csrf_token)
        if not isinstance(actor, Actor):
            return actor
        try:
            if rollback:
                deployment_id = await services.deployments.rollback(actor, name, data.to or None)
            else:
                deployment_id = await services.deployments.request(actor, name)
        except DomainError as exc:
            return _not_found(services, str(exc), exc.status)
        return Redirect(f"/deployments/{deployment_id}")


def _live_url(query: str, steps: list[Any]) -> str:
    after = steps[-1].position if steps else 0
    return live_url(query, after)


def live_url(query: str, after: int) -> str:
    """The event stream a page follows to refresh its live parts: from the log position it
    was rendered at, so nothing that happens meanwhile is missed."""
    return f"/api/v1/events/stream?{query}&after={after}"
