"""/api/v1/stacks/{id}/webhook and /webhook-deliveries: let a git host deploy a stack from a
repository on push (the secret answered once; POST again rotates it, DELETE turns it off), and
read what each delivery was and why it did or did not deploy, as an app's webhook routes do."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor
from rivetr.domain.database_commands import ResourceId
from rivetr.projections.webhooks import DeliveryView
from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.webhooks import WebhookService
from rivetr.service.queries.stacks import StackReads
from rivetr.web.openapi import problems
from rivetr.web.webhook_setup import WebhookSetup, webhook_setup


class StackWebhooksController(Controller):
    path = "/stacks"
    tags = ["stacks"]

    @post("/{stack_id:str}/webhook", status_code=HTTP_201_CREATED, responses=problems(422))
    async def enable_stack_webhook(
        self,
        request: Request[Any, Any, Any],
        stack_id: FromPath[ResourceId],
        webhooks: NamedDependency[WebhookService],
        actor: NamedDependency[Actor],
        instance_settings: NamedDependency[InstanceSettings],
    ) -> WebhookSetup:
        """Turn the stack's webhook on, or rotate its secret: the secret is answered this once,
        with the payload URL for each git host. A stack whose compose file is inline has no
        repository to push to (422)."""
        secret = await webhooks.enable_stack(actor, stack_id)
        public_url = await instance_settings.public_url()
        return webhook_setup(public_url, request, stack_id, secret, kind="stack")

    @delete("/{stack_id:str}/webhook", status_code=HTTP_204_NO_CONTENT)
    async def disable_stack_webhook(
        self,
        stack_id: FromPath[ResourceId],
        webhooks: NamedDependency[WebhookService],
        actor: NamedDependency[Actor],
    ) -> None:
        await webhooks.disable_stack(actor, stack_id)

    @get("/{stack_id:str}/webhook-deliveries")
    async def stack_webhook_deliveries(
        self,
        stack_id: FromPath[ResourceId],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> list[DeliveryView]:
        """The stack's latest deliveries, newest first, each with its decision and reason."""
        return await stack_reads.deliveries(actor, stack_id)
