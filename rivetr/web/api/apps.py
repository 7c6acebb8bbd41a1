"""/api/v1/apps: create, list, read, change and delete applications. Reads go through the app
queries (which authorise them); every change is a command through the application service."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.adapters.certs import CertificateInfo
from rivetr.domain.access import Actor, Permission
from rivetr.domain.commands import ChangeAppSettings, CreateApp, DeleteApp
from rivetr.domain.settings import AppName
from rivetr.projections.apps import AppView
from rivetr.projections.certificates import CertificateView
from rivetr.projections.webhooks import DeliveryView
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.certificates import CertificateService
from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.webhooks import WebhookService
from rivetr.service.queries.apps import AppReads
from rivetr.service.reactors.resources import ResourceSampler, Sample
from rivetr.web.api.bodies import body_of
from rivetr.web.webhook_setup import WebhookSetup, webhook_setup

# The PATCH body: every field of ChangeAppSettings but the name, which comes from the path.
AppSettingsPatch = body_of(ChangeAppSettings, "AppSettingsPatch", "name")


class CertificateUpload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    certificate: Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]  # leaf first
    private_key: Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]


class AppsController(Controller):
    path = "/apps"
    tags = ["apps"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_app(
        self,
        data: JSONBody[CreateApp],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> Response[AppView]:
        await apps.handle(actor, data)
        view = await app_reads.readable(actor, data.name)
        return Response(
            view, status_code=HTTP_201_CREATED, headers={"Location": f"/api/v1/apps/{data.name}"}
        )

    @get("/")
    async def list_apps(
        self, app_reads: NamedDependency[AppReads], actor: NamedDependency[Actor]
    ) -> list[AppView]:
        return await app_reads.visible(actor)

    @get("/{name:str}")
    async def get_app(
        self,
        name: FromPath[AppName],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> AppView:
        return await app_reads.readable(actor, name)

    @patch("/{name:str}")
    async def change_app(
        self,
        name: FromPath[AppName],
        data: JSONBody[AppSettingsPatch],  # type: ignore[valid-type]  # a defstruct type
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> AppView:
        changes: dict[str, Any] = msgspec.structs.asdict(data)
        await apps.handle(actor, _command(ChangeAppSettings, name=name, **changes))
        return await app_reads.readable(actor, name)

    @post("/{name:str}/webhook", status_code=HTTP_201_CREATED)
    async def enable_webhook(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[AppName],
        webhooks: NamedDependency[WebhookService],
        actor: NamedDependency[Actor],
        instance_settings: NamedDependency[InstanceSettings],
    ) -> WebhookSetup:
        """Turn the app's webhook on, or rotate its secret: the secret is answered this once.
        The URLs are built on the `public_url` setting as it is now (changed from the
        dashboard, or the config's), else on the address asked."""
        secret = await webhooks.enable(actor, name)
        return webhook_setup(await instance_settings.public_url(), request, name, secret)

    @delete("/{name:str}/webhook", status_code=HTTP_204_NO_CONTENT)
    async def disable_webhook(
        self,
        name: FromPath[AppName],
        webhooks: NamedDependency[WebhookService],
        actor: NamedDependency[Actor],
    ) -> None:
        await webhooks.disable(actor, name)

    @get("/{name:str}/webhook-deliveries")
    async def webhook_deliveries(
        self,
        name: FromPath[AppName],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> list[DeliveryView]:
        """The app's latest deliveries, newest first, each with its decision and reason."""
        return await app_reads.deliveries(actor, name)

    @put("/{name:str}/certificates/{domain:str}", status_code=HTTP_201_CREATED)
    async def upload_certificate(
        self,
        name: FromPath[AppName],
        domain: FromPath[str],
        data: JSONBody[CertificateUpload],
        certificates: NamedDependency[CertificateService],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> CertificateInfo:
        """Serve one of the app's domains with your own certificate (chain and key in PEM);
        the key is kept in the data directory (0600), never in the log or a response."""
        await app_reads.allowed(actor, name, Permission.MANAGE_APPS)
        return await certificates.upload(
            actor, name, domain, data.certificate.encode(), data.private_key.encode()
        )

    @post("/{name:str}/certificates/{domain:str}/acme", status_code=HTTP_201_CREATED)
    async def order_certificate(
        self,
        name: FromPath[AppName],
        domain: FromPath[str],
        certificates: NamedDependency[CertificateService],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> CertificateInfo:
        """Order a certificate for the domain from the ACME CA (HTTP-01 through the proxy on
        port 80) and serve it. A failure answers 422 with the CA's detail and is recorded."""
        await app_reads.allowed(actor, name, Permission.MANAGE_APPS)  # before work with the CA
        return await certificates.issue(actor, name, domain)

    @get("/{name:str}/resources")
    async def resources(
        self,
        name: FromPath[AppName],
        app_reads: NamedDependency[AppReads],
        resources: NamedDependency[ResourceSampler],
        actor: NamedDependency[Actor],
    ) -> list[Sample]:
        """CPU (percent of one core) and memory of the app's live container, sampled every
        `resources_interval_s`, oldest first; the last hour at most, since the last start."""
        app = await app_reads.readable(actor, name)
        return resources.of(app.id)

    @get("/{name:str}/certificates")
    async def list_certificates(
        self,
        name: FromPath[AppName],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> list[CertificateView]:
        return await app_reads.certificates(actor, name)

    @delete("/{name:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_app(
        self,
        name: FromPath[AppName],
        apps: NamedDependency[AppService],
        actor: NamedDependency[Actor],
    ) -> None:
        await apps.handle(actor, _command(DeleteApp, name=name))


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
