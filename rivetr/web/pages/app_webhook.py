"""The dashboard's webhook buttons: turn an app's webhook on (or rotate its secret), which
answers with the secret this once and where to paste it at each git host, and turn it off.
Both go through the webhook service, as the API's POST and DELETE do."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.errors import DomainError
from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.webhooks import WebhookService
from rivetr.web.pages.app_deploys import ActionForm
from rivetr.web.pages.forms import stale
from rivetr.web.pages.guard import csrf_of, error_page
from rivetr.web.webhook_setup import webhook_setup

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


class AppWebhook(Controller):
    path = "/"
    include_in_schema = False

    @post("/apps/{name:str}/webhook")
    async def enable(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        webhooks: NamedDependency[WebhookService],
        instance_settings: NamedDependency[InstanceSettings],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        """Turn the webhook on, or rotate its secret: the page shows the new secret once."""
        if (refused := stale(request, data.csrf_token, engine)) is not None:
            return refused
        try:
            secret = await webhooks.enable(actor, name)
            setup = webhook_setup(await instance_settings.public_url(), request, name, secret)
        except DomainError as exc:
            return error_page(engine, f"The webhook was not turned on: {exc}", exc.status)
        hosts = [
            (PROVIDER_NAMES.get(p, p), p, url, WHERE_TO_PASTE.get(p, ""))
            for p, url in setup.urls.items()
        ]
        return Template(
            "app_webhook.html",
            context={
                "actor": actor,
                "engine": engine,
                "app_name": name,
                "setup": setup,
                "hosts": hosts,
                "csrf_token": csrf_of(request),
            },
            headers={"Cache-Control": "no-store"},  # the secret: never from a cache
        )

    @post("/apps/{name:str}/webhook/off")
    async def disable(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        webhooks: NamedDependency[WebhookService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[ActionForm],
    ) -> Response[Any]:
        if (refused := stale(request, data.csrf_token, engine)) is not None:
            return refused
        try:
            await webhooks.disable(actor, name)
        except DomainError as exc:
            return error_page(engine, f"The webhook was not turned off: {exc}", exc.status)
        return Redirect(f"/apps/{name}/settings#webhook")
