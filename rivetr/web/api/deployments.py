"""/api/v1 deployment routes: start one (202), follow it, cancel it, roll back, read its log."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_202_ACCEPTED

from rivetr.config import Settings
from rivetr.domain.access import Actor, Permission
from rivetr.domain.deployment import TERMINAL
from rivetr.domain.settings import AppName, whole
from rivetr.projections.deployments import DeploymentView, StepView
from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.deployments import DeploymentReads
from rivetr.web.log_stream import first_line, follow
from rivetr.web.params import bounded
from rivetr.web.stopping import stopping_of


class DeployRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    commit: Annotated[str, msgspec.Meta(pattern=whole(r"[0-9a-fA-F]{4,64}"))] | None = None


class RollbackRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to: str | None = None  # a deployment id; default: the release before the live one


class Accepted(msgspec.Struct, kw_only=True):
    deployment_id: str
    status: str
    url: str


class DeploymentDetail(msgspec.Struct, kw_only=True):
    deployment: DeploymentView
    steps: list[StepView]
    live: bool
    log_tail: list[str]


def accepted(deployment_id: str) -> Response[Accepted]:
    """A 202 naming the deployment requested (a deploy, a rollback or a promotion)."""
    url = f"/api/v1/deployments/{deployment_id}"
    return Response(
        Accepted(deployment_id=deployment_id, status="requested", url=url),
        status_code=HTTP_202_ACCEPTED,
        headers={"Location": url},
    )


class DeploymentsController(Controller):
    path = "/"
    tags = ["deployments"]

    @post("/apps/{name:str}/deployments", status_code=HTTP_202_ACCEPTED)
    async def deploy(
        self,
        name: FromPath[AppName],
        deployments: NamedDependency[DeploymentService],
        actor: NamedDependency[Actor],
        data: JSONBody[DeployRequest | None] = None,
    ) -> Response[Accepted]:
        commit = data.commit if data else None
        deployment_id = await deployments.request(actor, name, commit=commit)
        return accepted(deployment_id)

    @get("/apps/{name:str}/deployments")
    async def list_deployments(
        self,
        name: FromPath[AppName],
        deployment_reads: NamedDependency[DeploymentReads],
        actor: NamedDependency[Actor],
        limit: Annotated[int, bounded("at most this many", ge=1, le=500)] = 50,
        offset: Annotated[int, bounded("after skipping this many")] = 0,
    ) -> list[DeploymentView]:
        """The app's deployments, newest first."""
        return await deployment_reads.of_app(actor, name, limit=limit, offset=offset)

    @post("/apps/{name:str}/rollback", status_code=HTTP_202_ACCEPTED)
    async def rollback(
        self,
        name: FromPath[AppName],
        deployments: NamedDependency[DeploymentService],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
        data: JSONBody[RollbackRequest | None] = None,
    ) -> Response[Accepted]:
        # before the target search says anything
        await app_reads.allowed(actor, name, Permission.DEPLOY)
        deployment_id = await deployments.rollback(actor, name, data.to if data else None)
        return accepted(deployment_id)

    @get("/deployments/{deployment_id:str}")
    async def get_deployment(
        self,
        deployment_id: FromPath[str],
        deployment_reads: NamedDependency[DeploymentReads],
        actor: NamedDependency[Actor],
    ) -> DeploymentDetail:
        found = await deployment_reads.readable(actor, deployment_id)
        release = await deployment_reads.release(found.app_id)
        return DeploymentDetail(
            deployment=found,
            steps=await deployment_reads.steps(found),
            live=release is not None and release.deployment_id == deployment_id,
            log_tail=deployment_reads.log_tail(found, 100),
        )

    @post("/deployments/{deployment_id:str}/cancel", status_code=HTTP_202_ACCEPTED)
    async def cancel(
        self,
        deployment_id: FromPath[str],
        deployments: NamedDependency[DeploymentService],
        deployment_reads: NamedDependency[DeploymentReads],
        actor: NamedDependency[Actor],
    ) -> DeploymentView:
        await deployments.cancel(actor, deployment_id)
        return await deployment_reads.readable(actor, deployment_id)

    @get("/deployments/{deployment_id:str}/logs", media_type="text/plain")
    async def logs(
        self,
        deployment_id: FromPath[str],
        deployment_reads: NamedDependency[DeploymentReads],
        actor: NamedDependency[Actor],
    ) -> str:
        return deployment_reads.log(await deployment_reads.readable(actor, deployment_id))

    @get("/deployments/{deployment_id:str}/logs/stream")
    async def logs_stream(
        self,
        request: Request[Any, Any, Any],
        deployment_id: FromPath[str],
        deployment_reads: NamedDependency[DeploymentReads],
        settings: NamedDependency[Settings],
        actor: NamedDependency[Actor],
        start: FromQuery[Literal["start", "end"]] = "start",
        after: Annotated[int | None, bounded("after this line")] = None,
    ) -> ServerSentEvent:
        """The deployment's build and runtime log as server-sent events, one per line (`id`
        its line number, `data` {"line", "source", "text"}), from the first line or only what
        comes next (`start=end`), live while the deployment runs; a last `end` event once it
        has finished. `Last-Event-ID` resumes after that line."""
        found = await deployment_reads.readable(actor, deployment_id)
        skipped = await deployment_reads.log_lines_skipped(found, first_line(request, start, after))

        async def ended() -> str | None:
            now = await deployment_reads.status(deployment_id)
            if now is None:
                return "gone"
            return now if now in TERMINAL else None

        return follow(
            skipped,
            partial(deployment_reads.log_from, found),
            ended,
            settings.sse_heartbeat_s,
            stopping_of(request),
        )
