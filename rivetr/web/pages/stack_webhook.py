"""A stack's webhook buttons, on its settings page: turn it on (or rotate its secret), which
answers with the secret this once and the stack's URL for each git host, and turn it off.
Both go through the webhook service, as the API's POST and DELETE do; an inline stack's
refusal (no repository to push to) is the error page saying so."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.webhooks import WebhookService
from rivetr.web.pages.app_deploys import ActionForm
from rivetr.web.pages.app_webhook import shown_once
from rivetr.web.pages.forms import on_error_page, submitted
from rivetr.web.pages.stack_deploys import provide_stack_page
from rivetr.web.pages.stack_page import StackPage
from rivetr.web.webhook_setup import webhook_setup


class StackWebhook(Controller):
    path = "/stacks/{stack_id:str}"
    include_in_schema = False
    dependencies = {"page": Provide(provide_stack_page, sync_to_thread=False)}

    @post("/webhook")
    async def enable(
        self,
        page: NamedDependency[StackPage],
        webhooks: NamedDependency[WebhookService],
        instance_settings: NamedDependency[InstanceSettings],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """Turn the webhook on, or rotate its secret: the page shows the new secret once."""
        stack = await page.found()
        if isinstance(stack, Template):
            return stack
        layout = page.layout

        async def enable() -> Response[Any]:
            secret = await webhooks.enable_stack(layout.actor, stack.stack_id)
            public_url = await instance_settings.public_url()
            setup = webhook_setup(public_url, layout.request, stack.stack_id, secret, kind="stack")
            home = f"/stacks/{stack.stack_id}"
            return shown_once(layout, setup, name=stack.name, home=home, section="stacks")

        said = "The webhook was not turned on: "
        return await submitted(layout, data.csrf_token, enable, on_error_page(layout, said))

    @post("/webhook/off")
    async def disable(
        self,
        page: NamedDependency[StackPage],
        webhooks: NamedDependency[WebhookService],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        stack = await page.found()
        if isinstance(stack, Template):
            return stack

        async def disable() -> Response[Any]:
            await webhooks.disable_stack(page.layout.actor, stack.stack_id)
            return Redirect(f"/stacks/{stack.stack_id}/settings#webhook")

        refused = on_error_page(page.layout, "The webhook was not turned off: ")
        return await submitted(page.layout, data.csrf_token, disable, refused)


__all__ = ["StackWebhook"]
