"""POST /webhooks/{provider}/{app} and /webhooks/stacks/{provider}/{stack_id}: where git hosts
deliver pushes and pull requests to an app, or pushes to a compose stack. ("stacks" stands
where an app's URL has its provider, and is none, so no app, even one named "stacks", shares
a route with a stack.)

What the headers say comes before the body: an unknown provider is 404, a declared body over
5 MB is 413, anything but JSON is 415. Then the app (or stack) and the signature header are
looked at (`WebhookService.admit`, `admit_stack`): a delivery that cannot be authentic has at
most 64 KB of its body read (and dropped) before it is refused; one that may be has all of it
read, up to 5 MB, within a budget of bytes shared by every delivery not yet verified (503
beyond it) and a deadline (408). The signature is then checked on the raw bytes, and only a
signed body is parsed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from rivetr.adapters.webhooks.base import PROVIDERS, Provider
from rivetr.service.commands.webhook_admission import (
    BODY_DEADLINE_S,
    MAX_BODY,
    RETRY_AFTER_S,
    SMALL_BODY,
    Admission,
    reservation,
)
from rivetr.service.commands.webhooks import WebhookService
from rivetr.web.openapi import problems
from rivetr.web.problems import problem_response


class Answer(msgspec.Struct, kw_only=True, omit_defaults=True):
    decision: str
    reason: str
    deployment_id: str | None = None


def _delivery_route(path: str, started: str) -> HTTPRouteHandler:
    """A delivery's route: every one answers alike (`started` says what a 202 began)."""
    return post(
        path,
        request_max_body_size=None,  # counted here, so that 413 comes before the rest is read
        include_in_schema=True,
        tags=["webhooks"],
        status_code=HTTP_200_OK,
        responses={
            HTTP_200_OK: ResponseSpec(Answer, description="OK: recorded, nothing to deploy"),
            HTTP_202_ACCEPTED: ResponseSpec(Answer, description=f"Accepted: {started}"),
            **problems(401, 403, 413, 415),  # signature refused; webhook off; too large; not JSON
        },
    )


@_delivery_route("/webhooks/{provider:str}/{app:str}", "a deployment started")
async def receive_webhook(
    request: Request[Any, Any, Any],
    provider: FromPath[str],
    app: FromPath[str],
    webhooks: NamedDependency[WebhookService],
) -> Response[Any]:
    return await _deliver(request, provider, app, webhooks.admit, webhooks)


@_delivery_route("/webhooks/stacks/{provider:str}/{stack_id:str}", "a stack release started")
async def receive_stack_webhook(
    request: Request[Any, Any, Any],
    provider: FromPath[str],
    stack_id: FromPath[str],
    webhooks: NamedDependency[WebhookService],
) -> Response[Any]:
    """A push to the stack's branch releases the pushed commit (`deployment_id` is the
    release's id); everything else is answered as for an app."""
    return await _deliver(request, provider, stack_id, webhooks.admit_stack, webhooks)


Admit = Callable[[Provider, str, Mapping[str, str]], Awaitable[Admission]]


async def _deliver(
    request: Request[Any, Any, Any],
    provider: str,
    named: str,
    admit: Admit,
    hooks: WebhookService,
) -> Response[Any]:
    if provider not in PROVIDERS:
        known = ", ".join(PROVIDERS)
        return problem_response(request, 404, "Not Found", f"unknown provider: use one of {known}")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return _too_large(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return problem_response(
            request,
            415,
            "Unsupported Media Type",
            "send the payload as application/json (in GitHub: Content type application/json)",
        )
    headers = {key.lower(): value for key, value in request.headers.items()}
    admission = await admit(provider, named, headers)
    size = reservation(int(declared) if declared is not None else None, admission.body_limit)
    with hooks.bodies.hold(size) as held:
        if not held:
            return problem_response(
                request,
                503,
                "Service Unavailable",
                "too many webhook deliveries are being checked at once: retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        body: bytes | None = b""
        with anyio.move_on_after(BODY_DEADLINE_S) as deadline:
            body = await _read(request, admission)
        if deadline.cancelled_caught:
            return problem_response(
                request,
                408,
                "Request Timeout",
                f"the body did not arrive within {BODY_DEADLINE_S:g} s",
            )
        if body is None:
            return _too_large(request)
        remote = request.client.host if request.client else None
        outcome = await hooks.receive(admission, body, remote)
    answer = Answer(
        decision=outcome.decision, reason=outcome.reason, deployment_id=outcome.deployment_id
    )
    if outcome.status >= 400:
        titles = {400: "Malformed payload", 401: "Signature refused", 403: "Webhook disabled"}
        title = titles.get(outcome.status, "Refused")
        return problem_response(request, outcome.status, title, outcome.reason)
    return Response(answer, status_code=outcome.status)


async def _read(request: Request[Any, Any, Any], admission: Admission) -> bytes | None:
    """The body of a delivery that may be authentic (None: it passed 5 MB). Of one that
    cannot be, at most SMALL_BODY is read and nothing kept: its headers decide its refusal,
    and reading a little lets a host that sent a small body see that answer."""
    if not admission.plausible:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen >= SMALL_BODY:
                break
        return b""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _too_large(request: Request[Any, Any, Any]) -> Response[Any]:
    return problem_response(
        request, 413, "Payload Too Large", f"webhook bodies are limited to {MAX_BODY} bytes"
    )
