"""The server-rendered dashboard: status, applications and recent activity.

Signing in takes an e-mail address and password (a session, as for the API) or an API token;
either is kept in an HttpOnly, SameSite=Strict cookie. Forms that change something carry the
session's CSRF token; the sign-in form, used before any session exists, carries a token that
must be the HMAC, under a key of the process's own, of a nonce in a cookie set with the page, so
another site cannot sign a visitor in to an account of its choosing, even one that can set
cookies for this host. The pages read the same read model as the API.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.adapters.eventstore.export import recorded_form
from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable, LogLine
from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission
from rivetr.domain.deployment import SERVED
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.domain.events import EVENT_TYPES
from rivetr.domain.users import SecondFactorNeeded
from rivetr.projections.audit import AuditQuery
from rivetr.projections.timeline import timeline
from rivetr.service.commands.sign_in_limits import SignInRefused
from rivetr.service.commands.users import csrf_token
from rivetr.service.queries.runtime_logs import NoLiveContainer
from rivetr.web.ansi import to_html
from rivetr.web.api.history import readable_app_then
from rivetr.web.auth import SESSION_COOKIE, TOKEN_COOKIE, set_private_cookie, tokens_match
from rivetr.web.charts import sparkline
from rivetr.web.params import whole_number

COOKIE = TOKEN_COOKIE
AUDIT_PAGE = 50
DEPLOYMENTS_SHOWN = 20  # per page of an app's deployments
RUNTIME_LINES_SHOWN = 200  # of the live container's output, on its app's page
FORM_COOKIE = "rivetr_form"  # the nonce the token of the forms shown before a session signs


class LoginForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    code: str = ""
    token: str = ""
    form_token: str = ""


class SetupForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    again: str = ""
    code: str = ""
    form_token: str = ""


SETUP_ACTOR = Actor(
    kind="system", id="setup", name="setup", permissions=frozenset(Permission), source="setup"
)


class InvitationForm(msgspec.Struct):
    password: str = ""
    form_token: str = ""


class LogoutForm(msgspec.Struct):
    csrf_token: str = ""


async def signed_in(request: Request[Any, Any, Any], services: Services) -> Actor | None:
    session = request.cookies.get(SESSION_COOKIE)
    token = request.cookies.get(COOKIE)
    actor = await services.users.authenticate(session) if session else None
    if actor is None and token:  # an ended session does not hide a valid token
        actor = await services.tokens.authenticate(token)
    return actor


def csrf_of(request: Request[Any, Any, Any]) -> str | None:
    """The CSRF token the page's forms carry: derived from the session's secret, or from the
    token the dashboard was signed in with."""
    secret = request.cookies.get(SESSION_COOKIE) or request.cookies.get(COOKIE)
    return csrf_token(secret) if secret else None


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Template | Redirect:
        actor = await signed_in(request, services)
        if actor is None:
            return Redirect("/login")
        return Template(
            "index.html",
            context={
                "actor": actor,
                "engine": services.engine,
                "apps": await services.read.apps.every(actor.readable_teams()),
                "live": await services.read.deployments.live(),
                "latest": await services.read.deployments.latest(),
                "activity": await services.read.audit.recent(20, actor.readable_teams()),
                "csrf_token": csrf_of(request),
                "live_url": f"/api/v1/events/stream?after={await services.store.head()}",
                "event_types": sorted(EVENT_TYPES),
            },
        )

    @get("/apps/{name:str}")
    async def app_page(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        services: NamedDependency[Services],
    ) -> Template | Redirect:
        """One app: its settings, deployments and webhook deliveries with their decisions."""
        actor = await signed_in(request, services)
        if actor is None:
            return Redirect("/login")
        at = request.query_params.get("at", "").strip()
        if at:
            return await _app_then_page(services, actor, name, at)
        app = await services.read.apps.named(name)
        if app is None or not actor.can(Permission.READ, app.team):
            return Template(
                "error.html",
                context={"engine": services.engine, "message": f"No application named {name!r}."},
                status_code=404,
            )
        head = await services.store.head()
        older = whole_number(request.query_params.get("older")) or 0  # skipped: a later page
        shown = await services.read.deployments.of_app(
            app.id, limit=DEPLOYMENTS_SHOWN + 1, offset=older
        )
        steps = await services.read.deployments.timeline(
            app.id, deployments=DEPLOYMENTS_SHOWN, offset=older
        )
        samples = services.resources.of(app.id)
        output: list[LogLine] = []
        problem: str | None = None
        if not request.headers.get("x-rivetr-refresh"):  # a live refresh: it follows by itself
            output, problem = await _runtime_output(services, app.id)
        return Template(
            "app.html",
            context={
                "actor": actor,
                "engine": services.engine,
                "app": app,
                "deployments": shown[:DEPLOYMENTS_SHOWN],
                "older": older,
                "has_older": len(shown) > DEPLOYMENTS_SHOWN,
                "page_size": DEPLOYMENTS_SHOWN,
                "timelines": {d: timeline(s) for d, s in steps.items()},
                "served": SERVED,
                "cpu": sparkline([s.cpu_percent for s in samples], floor=5.0),
                "memory": sparkline([s.memory_mb for s in samples], floor=16.0),
                "sampled": samples[-1] if samples else None,
                "refresh_s": services.settings.resources_interval_s,
                "release": await services.read.deployments.release(app.id),
                "runtime_log": [to_html(line.text) for line in output],
                "runtime_after": output[-1].at if output else None,
                "runtime_problem": problem,
                "deliveries": await services.read.webhooks.deliveries(app.id, limit=20),
                "pending_previews": await services.read.webhooks.pending_previews(app.id),
                "certificates": await services.read.certificates.of_app(app.id),
                "csrf_token": csrf_of(request),
                "live_url": f"/api/v1/events/stream?app={name}&after={head}",
                "event_types": sorted(EVENT_TYPES),
            },
        )

    @get("/audit")
    async def audit_page(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Template | Redirect:
        """Who did what: filterable by actor, app, event type and time, paged, exportable; the
        unfiltered first page takes new entries live over the event stream."""
        actor = await signed_in(request, services)
        if actor is None:
            return Redirect("/login")
        params = request.query_params
        wanted = {k: params.get(k, "").strip() for k in ("actor", "app", "type", "from", "to")}
        problem = None
        try:
            since = recorded_form(wanted["from"]) if wanted["from"] else None
            until = recorded_form(wanted["to"]) if wanted["to"] else None
        except ValueError as exc:
            problem, since, until = str(exc), None, None
        named = await services.read.apps.named(wanted["app"]) if wanted["app"] else None
        query = AuditQuery(
            actor=wanted["actor"] or None,
            # the app that has the name now (one of another team shows nothing: entries are
            # filtered by the teams the reader may see)
            app_id=(named.id if named else "-") if wanted["app"] else None,
            type=wanted["type"] or None,
            since=since,
            until=until,
            before=whole_number(params.get("before")),
            teams=actor.readable_teams(),
            instance=actor.reads_instance_events(),
            limit=AUDIT_PAGE,
        )
        entries = await services.read.audit.search(query)
        filters = {k: v for k, v in wanted.items() if v}
        older = (
            urlencode({**filters, "before": entries[-1].position})
            if len(entries) == AUDIT_PAGE
            else None
        )
        exported = {k: v for k, v in filters.items() if k in ("app", "from", "to")}
        return Template(
            "audit.html",
            context={
                "actor": actor,
                "engine": services.engine,
                "entries": entries,
                "query": query,
                "raw": {"since": wanted["from"], "until": wanted["to"]},
                "problem": problem,
                "older": older,
                "export_query": urlencode(exported),
                "live": not filters and query.before is None,
                "event_types": sorted(EVENT_TYPES),
            },
        )

    @get("/login")
    async def login_page(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Template:
        await services.offer_setup()  # is there still no account?
        return _login_page(request, services, None, 200)

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: URLEncodedBody[LoginForm],
    ) -> Response[Any]:
        if not _form_token_matches(request, data.form_token):
            return _login_page(request, services, _STALE_FORM, 403)
        response = Redirect("/")
        if data.email:
            remote = request.client.host if request.client else None
            code = data.code.strip() or None
            try:
                secret, _ = await services.users.sign_in(data.email, data.password, remote, code)
            except SecondFactorNeeded as needed:
                return _login_page(request, services, str(needed), 401, email=data.email)
            except SignInRefused as refused:
                return _login_page(request, services, str(refused), refused.status)
            set_private_cookie(response, request, SESSION_COOKIE, secret)
            response.delete_cookie(COOKIE, path="/")
            return response
        actor = await services.tokens.authenticate(data.token.strip())
        if actor is None:
            return _login_page(request, services, "That token is unknown or revoked.", 401)
        set_private_cookie(response, request, COOKIE, data.token.strip())
        return response

    @post("/logout")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: URLEncodedBody[LogoutForm],
    ) -> Response[Any]:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            if not tokens_match(data.csrf_token, csrf_token(session)):
                return Response(
                    "signing out needs the form's CSRF token",
                    status_code=403,
                    media_type="text/plain",
                )
            await services.users.sign_out(session)
        response = Redirect("/login")
        response.delete_cookie(COOKIE, path="/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/setup")
    async def setup_page(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Response[Any]:
        """The first account, made in the browser with the code the service logged."""
        if await services.offer_setup() is None:
            return Redirect("/login")
        return _setup_page(request, services, None, 200)

    @post("/setup")
    async def setup(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: URLEncodedBody[SetupForm],
    ) -> Response[Any]:
        code = await services.offer_setup()
        if code is None:
            return Redirect("/login")
        if not _form_token_matches(request, data.form_token):
            return _setup_page(request, services, _STALE_FORM, 403)
        if not tokens_match(data.code.strip(), code):
            return _setup_page(request, services, "That is not the setup code in the log.", 403)
        if data.password != data.again:
            return _setup_page(request, services, "The two passwords differ.", 422)
        try:
            user_id, _, _ = await services.create_admin(SETUP_ACTOR, data.email, data.password)
            remote = request.client.host if request.client else None
            session, _ = await services.users.sign_in(user_id, data.password, remote)
        except DomainError as refused:
            return _setup_page(request, services, str(refused), refused.status)
        services.setup_code = None
        response = Redirect("/")
        set_private_cookie(response, request, SESSION_COOKIE, session)
        return response

    @get("/invite/{secret:str}", name="accept_page")
    async def invitation_page(
        self,
        request: Request[Any, Any, Any],
        secret: FromPath[str],
        services: NamedDependency[Services],
    ) -> Template:
        return await _invitation_page(request, services, secret, None, 200)

    @post("/invite/{secret:str}")
    async def accept_invitation(
        self,
        request: Request[Any, Any, Any],
        secret: FromPath[str],
        services: NamedDependency[Services],
        data: URLEncodedBody[InvitationForm],
    ) -> Response[Any]:
        """Join with the signed-in account, or open the invited address's account."""
        if not _form_token_matches(request, data.form_token):
            return await _invitation_page(request, services, secret, _STALE_FORM, 403)
        try:
            invitation = await services.teams.invitation(secret)
            session = request.cookies.get(SESSION_COOKIE)
            actor = await services.users.authenticate(session) if session else None
            response = Redirect("/")
            if actor is None or actor.user is None:
                if await services.users.exists(invitation.email):
                    raise InvalidCommand(f"{invitation.email} has an account: sign in first")
                user_id = await services.users.register(invitation.email, data.password, invitation)
                remote = request.client.host if request.client else None
                session, _ = await services.users.sign_in(user_id, data.password, remote)
                actor = await services.users.authenticate(session)
                assert actor is not None
                assert actor.user is not None
                set_private_cookie(response, request, SESSION_COOKIE, session)
            await services.teams.accept(secret, actor.user, actor)
        except DomainError as refused:
            return await _invitation_page(request, services, secret, str(refused), refused.status)
        return response


_STALE_FORM = "This form has expired (or came from another site): it has been reloaded, try again."


def _form_token(request: Request[Any, Any, Any], nonce: str) -> str:
    """The token a pre-session form carries: the form cookie's nonce signed with the process's
    own key, so that whoever can set a cookie for this host still cannot make a pair that
    matches."""
    key: bytes = request.app.state.form_key
    signed = hmac.new(key, b"rivetr form:" + nonce.encode("utf-8", "surrogatepass"), "sha256")
    return signed.hexdigest()[:32]


def _form_token_matches(request: Request[Any, Any, Any], presented: str) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False  # the browser says another site (a sibling subdomain too) sent the form
    nonce = request.cookies.get(FORM_COOKIE, "")
    return bool(nonce) and tokens_match(presented, _form_token(request, nonce))


def _with_form_token(request: Request[Any, Any, Any], template: Template) -> Template:
    """Give the page's form its token, keeping the form cookie's nonce if it has one."""
    nonce = request.cookies.get(FORM_COOKIE)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        set_private_cookie(template, request, FORM_COOKIE, nonce)
    template.context["form_token"] = _form_token(request, nonce)
    return template


def _setup_page(
    request: Request[Any, Any, Any], services: Services, error: str | None, status: int
) -> Template:
    context = {"engine": services.engine, "error": error}
    return _with_form_token(request, Template("setup.html", context=context, status_code=status))


def _login_page(
    request: Request[Any, Any, Any],
    services: Services,
    error: str | None,
    status: int,
    email: str = "",
) -> Template:
    context = {
        "engine": services.engine,
        "error": error,
        "email": email,
        "ask_code": bool(email),
        "setup": services.setup_code is not None,
    }
    return _with_form_token(request, Template("login.html", context=context, status_code=status))


async def _invitation_page(
    request: Request[Any, Any, Any],
    services: Services,
    secret: str,
    error: str | None,
    status: int,
) -> Template:
    session = request.cookies.get(SESSION_COOKIE)
    actor = await services.users.authenticate(session) if session else None
    invitation = None
    has_account = False
    try:
        invitation = await services.teams.invitation(secret)
        has_account = await services.users.exists(invitation.email)
    except DomainError as refused:
        error, status = error or str(refused), status if error else refused.status
    context = {
        "engine": services.engine,
        "error": error,
        "invitation": invitation,
        "actor": actor,
        "has_account": has_account,
    }
    return _with_form_token(request, Template("invite.html", context=context, status_code=status))


async def _app_then_page(services: Services, actor: Actor, name: str, at: str) -> Template:
    """The app page as of a point in time: answered from the log (service/queries/history.py)."""
    try:
        then = await readable_app_then(services, actor, name, at)
    except HTTPException as exc:
        return Template(
            "error.html",
            context={"engine": services.engine, "message": exc.detail},
            status_code=exc.status_code,
        )
    return Template(
        "app_at.html",
        context={"actor": actor, "engine": services.engine, "then": then, "asked": at},
    )


async def _runtime_output(services: Services, app_id: str) -> tuple[list[LogLine], str | None]:
    """The live container's last lines for the page, or why there are none."""
    try:
        lines = await services.runtime_logs.lines(app_id, tail=RUNTIME_LINES_SHOWN)
        return [line async for line in lines], None
    except NoLiveContainer:
        return [], "No release is running."
    except EngineUnavailable as exc:
        return [], f"The container engine is unavailable: {exc}"
    except ContainerError as exc:
        return [], f"The engine no longer has the container: {exc}"
