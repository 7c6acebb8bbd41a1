"""The dashboard's certificates of one app: upload one (chain and key in PEM, pasted or as
files), order one from the ACME CA, renew one, through the certificate service as the API's
PUT and POST do. The private key is never shown back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.domain.settings import host_of
from rivetr.projections.apps import AppView
from rivetr.service.commands.certificates import CertificateService
from rivetr.service.queries.apps import AppReads
from rivetr.web.pages.app_found import app_for, app_of_form
from rivetr.web.pages.forms import FieldProblems, attempted, problems_of, status_of
from rivetr.web.pages.guard import Layout

PEM_LIMIT = 65536  # as the API's CertificateUpload


class AppCertificates(Controller):
    path = "/"
    include_in_schema = False

    @get("/apps/{name:str}/certificates")
    async def page(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
    ) -> Template:
        app = await app_for(layout, app_reads, name)
        if isinstance(app, Template):
            return app
        done = layout.request.query_params.get("installed", "")
        if done not in {host_of(d) for d in app.domains}:  # the redirect's, nothing else
            done = ""
        return await CertificatesPage(layout, app_reads, app).shown(installed=done)

    @post("/apps/{name:str}/certificates/upload")
    async def upload(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
        certificates: NamedDependency[CertificateService],
    ) -> Response[Any]:
        """Serve a domain with the certificate given: pasted, or as files (multipart)."""
        form = await layout.request.form()
        presented = _text(form.get("csrf_token"))
        app = await app_of_form(layout, presented, app_reads, name, Permission.MANAGE_APPS)
        if not isinstance(app, AppView):
            return app
        domain = _text(form.get("domain")).strip()
        chain = await _pem(form, "certificate")
        key = await _pem(form, "private_key")
        page = CertificatesPage(layout, app_reads, app)

        async def upload() -> Response[Any]:
            for field, value in (("certificate", chain), ("private_key", key)):
                if not value.strip():
                    raise InvalidCommand("paste it in PEM, or choose its file", field=field)
                if len(value) > PEM_LIMIT:
                    raise InvalidCommand(f"longer than {PEM_LIMIT} characters", field=field)
            await certificates.upload(layout.actor, name, domain, chain.encode(), key.encode())
            return Redirect(f"/apps/{name}/certificates?installed={domain}")

        async def refused(exc: Exception) -> Response[Any]:
            # the certificate's own refusals ("does not cover ...") are about the certificate
            named = isinstance(exc, DomainError) and exc.field
            problems = problems_of(exc) if named else {"certificate": str(exc)}
            typed = {"domain": domain, "certificate": chain}  # never the key
            return await page.shown(typed, problems, status_of(exc))

        return await attempted(upload, refused)

    @post("/apps/{name:str}/certificates/acme")
    async def order(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
        certificates: NamedDependency[CertificateService],
    ) -> Response[Any]:
        """Order (or renew) a domain's certificate from the ACME CA, as the API's POST does."""
        form = await layout.request.form()
        presented = _text(form.get("csrf_token"))
        # refused before any work with the CA
        app = await app_of_form(layout, presented, app_reads, name, Permission.MANAGE_APPS)
        if not isinstance(app, AppView):
            return app
        domain = _text(form.get("domain")).strip()
        page = CertificatesPage(layout, app_reads, app)

        async def order() -> Response[Any]:
            await certificates.issue(layout.actor, name, domain)
            return Redirect(f"/apps/{name}/certificates?installed={domain}")

        async def refused(exc: Exception) -> Response[Any]:
            if not isinstance(exc, InvalidCommand):  # not allowed: nothing to show a form for
                return layout.error(f"No certificate was ordered: {exc}", status_of(exc))
            return await page.shown({}, {"order": str(exc)}, status_of(exc))

        return await attempted(order, refused)


@dataclass(frozen=True)
class CertificatesPage:
    """An app's certificates page, as it is or with a form refused."""

    layout: Layout
    app_reads: AppReads
    app: AppView

    async def shown(
        self,
        typed: dict[str, str] | None = None,
        problems: FieldProblems | None = None,
        status: int = 200,
        *,
        installed: str = "",
    ) -> Template:
        """The page, with what was `typed` in a refused form and its `problems`, or the domain
        a certificate was just `installed` for."""
        app = self.app
        hosts = list(dict.fromkeys(host_of(d) for d in app.domains if not d.startswith("*.")))
        return self.layout.page(
            "app_certificates.html",
            status,
            app=app,
            certificates=await self.app_reads.certificates_of(app),
            hosts=[(h, h) for h in hosts],
            form=typed or {},
            problems=problems or {},
            installed=installed,
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def _pem(form: Any, name: str) -> str:
    """The PEM pasted in `name`, else read from the file chosen in `name_file`."""
    pasted = _text(form.get(name))
    if pasted.strip():
        return pasted
    upload = form.get(f"{name}_file")
    if isinstance(upload, UploadFile):
        content = await upload.read(PEM_LIMIT + 1)
        return content.decode("utf-8", errors="replace")
    return ""
