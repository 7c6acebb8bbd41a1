"""The dashboard's certificates of one app: upload one (chain and key in PEM, pasted or as
files), order one from the ACME CA, renew one, through the certificate service as the API's
PUT and POST do. The private key is never shown back."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.domain.settings import host_of
from rivetr.projections.apps import AppView
from rivetr.service.commands.certificates import CertificateService
from rivetr.service.queries.apps import AppReads
from rivetr.web.pages.app_found import app_or_refusal
from rivetr.web.pages.forms import FieldProblems, problems_of, stale, status_of
from rivetr.web.pages.guard import csrf_of, error_page

PEM_LIMIT = 65536  # as the API's CertificateUpload


class AppCertificates(Controller):
    path = "/"
    include_in_schema = False

    @get("/apps/{name:str}/certificates")
    async def page(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        app = await app_or_refusal(app_reads, engine, actor, name)
        if isinstance(app, Template):
            return app
        done = request.query_params.get("installed", "")
        if done not in {host_of(d) for d in app.domains}:  # the redirect's, nothing else
            done = ""
        return await _page(request, actor, engine, app_reads, app, {}, {}, done)

    @post("/apps/{name:str}/certificates/upload")
    async def upload(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        certificates: NamedDependency[CertificateService],
        engine: NamedDependency[EngineMonitor],
    ) -> Response[Any]:
        """Serve a domain with the certificate given: pasted, or as files (multipart)."""
        form = await request.form()
        if (refused := stale(request, _text(form.get("csrf_token")), engine)) is not None:
            return refused
        domain = _text(form.get("domain")).strip()
        chain = await _pem(form, "certificate")
        key = await _pem(form, "private_key")
        app = await app_or_refusal(app_reads, engine, actor, name, Permission.MANAGE_APPS)
        if isinstance(app, Template):
            return app
        try:
            for field, value in (("certificate", chain), ("private_key", key)):
                if not value.strip():
                    raise InvalidCommand("paste it in PEM, or choose its file", field=field)
                if len(value) > PEM_LIMIT:
                    raise InvalidCommand(f"longer than {PEM_LIMIT} characters", field=field)
            await certificates.upload(actor, name, domain, chain.encode(), key.encode())
        except DomainError as exc:
            # the certificate's own refusals ("does not cover ...") are about the certificate
            problems = problems_of(exc) if exc.field else {"certificate": str(exc)}
            typed = {"domain": domain, "certificate": chain}  # never the key
            page = await _page(request, actor, engine, app_reads, app, typed, problems)
            page.status_code = status_of(exc)
            return page
        return Redirect(f"/apps/{name}/certificates?installed={domain}")

    @post("/apps/{name:str}/certificates/acme")
    async def order(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        certificates: NamedDependency[CertificateService],
        engine: NamedDependency[EngineMonitor],
    ) -> Response[Any]:
        """Order (or renew) a domain's certificate from the ACME CA, as the API's POST does."""
        form = await request.form()
        if (refused := stale(request, _text(form.get("csrf_token")), engine)) is not None:
            return refused
        domain = _text(form.get("domain")).strip()
        app = await app_or_refusal(
            app_reads, engine, actor, name, Permission.MANAGE_APPS
        )  # before any work with the CA
        if isinstance(app, Template):
            return app
        try:
            await certificates.issue(actor, name, domain)
        except DomainError as exc:
            if not isinstance(exc, InvalidCommand):  # not allowed: nothing to show a form for
                return error_page(engine, f"No certificate was ordered: {exc}", exc.status)
            problems = {"order": str(exc)}
            page = await _page(request, actor, engine, app_reads, app, {}, problems)
            page.status_code = status_of(exc)
            return page
        return Redirect(f"/apps/{name}/certificates?installed={domain}")


async def _page(
    request: Request[Any, Any, Any],
    actor: Actor,
    engine: EngineMonitor,
    app_reads: AppReads,
    app: AppView,
    typed: dict[str, str],
    problems: FieldProblems,
    installed: str = "",
) -> Template:
    hosts = list(dict.fromkeys(host_of(d) for d in app.domains if not d.startswith("*.")))
    return Template(
        "app_certificates.html",
        context={
            "actor": actor,
            "engine": engine,
            "app": app,
            "certificates": await app_reads.certificates_of(app),
            "hosts": [(h, h) for h in hosts],
            "form": typed,
            "problems": problems,
            "installed": installed,
            "csrf_token": csrf_of(request),
        },
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
