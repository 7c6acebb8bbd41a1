"""The dashboard's webhook buttons: turn an app's webhook on (or rotate its secret), which
answers with the secret this once and where to paste it at each git host, and turn it off.
Both go through the webhook service, as the API's POST and DELETE do. A stack's buttons
(`stack_webhook`) answer with the same page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.webhooks import WebhookService
from rivetr.web.pages.app_deploys import ActionForm
from rivetr.web.pages.forms import on_error_page, submitted
from rivetr.web.pages.guard import Layout
from rivetr.web.webhook_setup import WebhookSetup, webhook_setup

# Where each git host takes the URL and the secret, in one line a person can follow.
WHERE_TO_PASTE = {
    "github": "Repository → Settings → Webhooks → Add webhook: Payload URL, content type"
    " application/json, Secret; the push event (and pull requests, for previews).",
    "gitlab": "Project → Settings → Webhooks → Add new webhook: URL, Secret token; Push events"
    " (and Merge request events, for previews).",
    "gitea": "Gitea or Forgejo: Repository → Settings → Webhooks → Add webhook → Gitea (or"
    " Forgejo): Target URL, POST, application/json, Secret; push events (and pull requests).",
    "bitbucket": "Repository settings → Webhooks → Add webhook: URL, Secret; the Repository push"
    " trigger (and Pull request created, updated, merged and declined, for previews).",
}
PROVIDER_NAMES = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "gitea": "Gitea / Forgejo",
    "bitbucket": "Bitbucket",
}


def shown_once(
    layout: Layout, setup: WebhookSetup, *, name: str, home: str, section: str
) -> Template:
    """The page that shows a new secret, this once, with where to paste it at each git host
    (an app's or a stack's: `home` is its page)."""
    hosts = [
        (PROVIDER_NAMES.get(p, p), p, url, WHERE_TO_PASTE.get(p, ""))
        for p, url in setup.urls.items()
    ]
    page = layout.page(
        "webhook_on.html", name=name, home=home, section=section, setup=setup, hosts=hosts
    )
    page.headers["Cache-Control"] = "no-store"  # the secret: never from a cache
    return page


class AppWebhook(Controller):
    path = "/"
    include_in_schema = False

    @post("/apps/{name:str}/webhook")
    async def enable(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        webhooks: NamedDependency[WebhookService],
        instance_settings: NamedDependency[InstanceSettings],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """Turn the webhook on, or rotate its secret: the page shows the new secret once."""

        async def enable() -> Response[Any]:
            secret = await webhooks.enable(layout.actor, name)
            public_url = await instance_settings.public_url()
            setup = webhook_setup(public_url, layout.request, name, secret)
            return shown_once(layout, setup, name=name, home=f"/apps/{name}", section="apps")

        said = "The webhook was not turned on: "
        return await submitted(layout, data.csrf_token, enable, on_error_page(layout, said))

    @post("/apps/{name:str}/webhook/off")
    async def disable(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        webhooks: NamedDependency[WebhookService],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        async def disable() -> Response[Any]:
            await webhooks.disable(layout.actor, name)
            return Redirect(f"/apps/{name}/settings#webhook")

        said = "The webhook was not turned off: "
        return await submitted(layout, data.csrf_token, disable, on_error_page(layout, said))
