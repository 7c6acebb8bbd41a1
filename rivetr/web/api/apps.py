"""/api/v1/apps: create, list, read, change and delete applications. Reads come from the read
model; every change is a command through the application service."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.adapters.certs import CertificateInfo
from rivetr.adapters.webhooks.base import PROVIDERS
from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission, authorize
from rivetr.domain.commands import ChangeAppSettings, CreateApp, DeleteApp
from rivetr.domain.settings import AppName
from rivetr.projections.apps import AppView
from rivetr.projections.certificates import CertificateView
from rivetr.projections.webhooks import DeliveryView
from rivetr.service.reactors.resources import Sample

# The PATCH body: every field of ChangeAppSettings except the name, which comes from the path.
AppSettingsPatch = msgspec.defstruct(
    "AppSettingsPatch",
    [
        (field.name, field.type, field.default)
        for field in msgspec.structs.fields(ChangeAppSettings)
        if field.name != "name"
    ],
    kw_only=True,
    frozen=True,
    forbid_unknown_fields=True,
)


class CertificateUpload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    certificate: Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]  # leaf first
    private_key: Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]


class WebhookSetup(msgspec.Struct, kw_only=True):
    secret: str  # shown this once: give it to the git host as the webhook's secret
    urls: dict[str, str]  # provider -> the payload URL to give it


class AppsController(Controller):
    path = "/apps"
    tags = ["apps"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_app(
        self,
        data: JSONBody[CreateApp],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[AppView]:
        await services.apps.handle(actor, data)
        view = await readable_app(services, actor, data.name)
        return Response(
            view, status_code=HTTP_201_CREATED, headers={"Location": f"/api/v1/apps/{data.name}"}
        )

    @get("/")
    async def list_apps(
        self, services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> list[AppView]:
        teams = actor.readable_teams()
        return await services.read.apps.every(teams)

    @get("/{name:str}")
    async def get_app(
        self,
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> AppView:
        return await readable_app(services, actor, name)

    @patch("/{name:str}")
    async def change_app(
        self,
        name: FromPath[AppName],
        data: JSONBody[AppSettingsPatch],  # type: ignore[valid-type]  # a defstruct type
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> AppView:
        changes: dict[str, Any] = msgspec.structs.asdict(data)
        await services.apps.handle(actor, _command(ChangeAppSettings, name=name, **changes))
        return await readable_app(services, actor, name)

    @post("/{name:str}/webhook", status_code=HTTP_201_CREATED)
    async def enable_webhook(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> WebhookSetup:
        """Turn the app's webhook on, or rotate its secret: the secret is answered this once."""
        secret = await services.webhooks.enable(actor, name)
        base = str(request.base_url).rstrip("/")
        return WebhookSetup(
            secret=secret,
            urls={provider: f"{base}/webhooks/{provider}/{name}" for provider in PROVIDERS},
        )

    @delete("/{name:str}/webhook", status_code=HTTP_204_NO_CONTENT)
    async def disable_webhook(
        self,
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        await services.webhooks.disable(actor, name)

    @get("/{name:str}/webhook-deliveries")
    async def webhook_deliveries(
        self,
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> list[DeliveryView]:
        """The app's latest deliveries, newest first, each with its decision and reason."""
        app = await readable_app(services, actor, name)
        return await services.read.webhooks.deliveries(app.id)

    @put("/{name:str}/certificates/{domain:str}", status_code=HTTP_201_CREATED)
    async def upload_certificate(
        self,
        name: FromPath[AppName],
        domain: FromPath[str],
        data: JSONBody[CertificateUpload],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> CertificateInfo:
        """Serve one of the app's domains with your own certificate (chain and key in PEM);
        the key is kept in the data directory (0600), never in the log or a response."""
        await _may_manage(services, actor, name)
        return await services.certificates.upload(
            actor, name, domain, data.certificate.encode(), data.private_key.encode()
        )

    @post("/{name:str}/certificates/{domain:str}/acme", status_code=HTTP_201_CREATED)
    async def order_certificate(
        self,
        name: FromPath[AppName],
        domain: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> CertificateInfo:
        """Order a certificate for the domain from the ACME CA (HTTP-01 through the proxy on
        port 80) and serve it. A failure answers 422 with the CA's detail and is recorded."""
        await _may_manage(services, actor, name)  # before any work with the CA
        return await services.certificates.issue(actor, name, domain)

    @get("/{name:str}/resources")
    async def resources(
        self,
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> list[Sample]:
        """CPU (percent of one core) and memory of the app's live container, sampled every
        `resources_interval_s`, oldest first; the last hour at most, since the last start."""
        app = await readable_app(services, actor, name)
        return services.resources.of(app.id)

    @get("/{name:str}/certificates")
    async def list_certificates(
        self,
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> list[CertificateView]:
        app = await readable_app(services, actor, name)
        return await services.read.certificates.of_app(app.id)

    @delete("/{name:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_app(
        self,
        name: FromPath[AppName],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        await services.apps.handle(actor, _command(DeleteApp, name=name))


def _command(kind: type[Any], **fields: Any) -> Any:
    """Build a command through msgspec so path values get the same validation, and the same
    400 answer, as bodies (a name no app can have, such as "Acme", is a bad request)."""
    try:
        return msgspec.convert(
            {k: v for k, v in fields.items() if v is not msgspec.UNSET}, kind, from_attributes=True
        )
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$.")
        error = {"message": message, "key": where.rstrip("`") or None}
        raise ValidationException(extra=[error]) from None


async def _may_manage(services: Services, actor: Actor, name: str) -> None:
    """Refuse (403) before work the command itself would authorise only at its end."""
    app = await services.read.apps.named(name)
    if app is None:
        raise NotFoundException(f"no application named {name!r}")
    authorize(actor, Permission.MANAGE_APPS, app.team)


async def readable_app(services: Services, actor: Actor, name: str) -> AppView:
    """The app, if it exists and the actor may see it: another team's app is as absent as one
    that does not exist, so names do not leak across teams."""
    view = await services.read.apps.named(name)
    if view is None or not actor.can(Permission.READ, view.team):
        raise NotFoundException(f"no application named {name!r}")
    return view
