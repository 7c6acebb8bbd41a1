"""A stack's deploy buttons: Deploy (a release of the whole stack) and Roll back to a release
that served. Each carries the page's CSRF token, goes through the stack service as the API
does, is recorded with the trigger "dashboard", and leads to the new release's page; a
refusal is the stack's page again with the problem above its buttons."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.config import Settings
from rivetr.domain.stack_commands import DeployStack, RollBackStack
from rivetr.service.commands.stacks import StackService
from rivetr.service.queries.audit import AuditReads
from rivetr.service.queries.stacks import StackReads
from rivetr.web.pages.forms import Act, Shown, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.stack_page import StackPage


class DeployForm(msgspec.Struct):
    csrf_token: str = ""
    to: str = ""  # a rollback's release


def provide_stack_page(
    layout: NamedDependency[Layout],
    stack_reads: NamedDependency[StackReads],
    stack_id: FromPath[str],
) -> StackPage:
    return StackPage(layout, stack_reads, stack_id)


class StackDeploys(Controller):
    path = "/stacks/{stack_id:str}"
    include_in_schema = False
    dependencies = {"page": Provide(provide_stack_page, sync_to_thread=False)}

    @post("/deploy")
    async def deploy(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        audit_reads: NamedDependency[AuditReads],
        settings: NamedDependency[Settings],
        data: URLEncodedBody[DeployForm],
    ) -> Response[Any]:
        async def deploy() -> Response[Any]:
            command = DeployStack(stack_id=page.stack_id, trigger="dashboard")
            release_id, _ = await stacks.deploy(page.layout.actor, command)
            return Redirect(f"/stacks/{page.stack_id}/releases/{release_id}")

        return await _started(page, audit_reads, settings, data, deploy, "deploy")

    @post("/rollback")
    async def roll_back(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        audit_reads: NamedDependency[AuditReads],
        settings: NamedDependency[Settings],
        data: URLEncodedBody[DeployForm],
    ) -> Response[Any]:
        async def roll_back() -> Response[Any]:
            fields = {"stack_id": page.stack_id, "to": data.to}
            command = msgspec.convert(fields, RollBackStack)
            release_id, _ = await stacks.roll_back(page.layout.actor, command)
            return Redirect(f"/stacks/{page.stack_id}/releases/{release_id}")

        return await _started(page, audit_reads, settings, data, roll_back, "rollback")


async def _started(
    page: StackPage,
    audit_reads: AuditReads,
    settings: Settings,
    data: DeployForm,
    act: Act,
    form: str,
) -> Response[Any]:
    """What `act` answers for a stack the reader reads (else the page saying there is none),
    or the stack's page with the refusal."""
    stack = await page.found()
    if isinstance(stack, Template):
        return stack

    async def refused(exc: Exception) -> Response[Any]:
        # no field to show it beside: the buttons' problem is the form's
        said = " ".join(problems_of(exc).values())
        shown = Shown(form=form, problems={"": said}, status=status_of(exc))
        return await page.shown(audit_reads, settings, shown)

    return await submitted(page.layout, data.csrf_token, act, refused)


__all__ = ["StackDeploys", "provide_stack_page"]
