"""/api/v1/apps/{name}/previews: the previews of pull requests from forks whose head commit
awaits a developer's approval, and that approval, which deploys the commit with the app's
env values and git credentials."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from rivetr.domain.access import Actor
from rivetr.domain.application import preview_name
from rivetr.domain.settings import AppName, CommitId, PrNumber
from rivetr.projections.webhooks import ForkPreviewView
from rivetr.service.commands.previews import PreviewService
from rivetr.service.queries.apps import AppReads
from rivetr.web.api.apps import _command


class Approval(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    commit: CommitId  # the head commit reviewed: approving another one is refused


class ApprovalAsked(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An approval as asked for (the API's path and body, the dashboard's form), checked."""

    app: AppName
    pr_number: PrNumber
    commit: CommitId


def number_in(path_value: str) -> int | str:
    """A pull request's number from a path: ASCII digits become a number for the bounds to
    judge; anything else stays as it is, to be refused as not a number."""
    ok = path_value.isascii() and path_value.isdigit() and len(path_value) <= 12
    return int(path_value) if ok else path_value


class Approved(msgspec.Struct, kw_only=True):
    preview: str
    commit: str
    deployment_id: str


class PreviewsController(Controller):
    path = "/apps/{name:str}/previews"
    tags = ["apps"]

    @get("/pending")
    async def pending(
        self,
        name: FromPath[AppName],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> list[ForkPreviewView]:
        """Pull requests from forks whose head commit awaits approval, by number."""
        return await app_reads.pending_previews(actor, name)

    @post("/{pr:int}/approve", status_code=HTTP_202_ACCEPTED)
    async def approve(
        self,
        name: FromPath[AppName],
        pr: FromPath[PrNumber],
        data: JSONBody[Approval],
        previews: NamedDependency[PreviewService],
        actor: NamedDependency[Actor],
    ) -> Approved:
        """Approve the pull request's head commit (developers and above): its preview gets the
        app's secrets and deploys exactly that commit. A newer head awaits its own approval."""
        asked: ApprovalAsked = _command(ApprovalAsked, app=name, pr_number=pr, commit=data.commit)
        deployment_id = await previews.approve(actor, asked.app, asked.pr_number, asked.commit)
        return Approved(
            preview=preview_name(asked.app, asked.pr_number),
            commit=asked.commit,
            deployment_id=deployment_id,
        )
