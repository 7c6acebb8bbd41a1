"""POST /webhooks/{provider}/{app}: where git hosts deliver pushes and pull requests.

Limits are checked before the body is read in full: an unknown provider is 404, a body over
5 MB is 413 (from Content-Length, or as soon as the stream passes it), anything but JSON is
415. The signature is then checked on the raw bytes, and only a signed body is parsed."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from rivetr.adapters.webhooks.base import PROVIDERS
from rivetr.bootstrap import Services
from rivetr.web.openapi import problems
from rivetr.web.problems import problem_response

MAX_BODY = 5 * 1024 * 1024


class Answer(msgspec.Struct, kw_only=True, omit_defaults=True):
    decision: str
    reason: str
    deployment_id: str | None = None


@post(
    "/webhooks/{provider:str}/{app:str}",
    request_max_body_size=None,  # counted here, so that 413 comes before the rest is read
    include_in_schema=True,
    tags=["webhooks"],
    status_code=HTTP_200_OK,
    responses={
        HTTP_200_OK: ResponseSpec(Answer, description="OK: recorded, nothing to deploy"),
        HTTP_202_ACCEPTED: ResponseSpec(Answer, description="Accepted: a deployment started"),
        **problems(401, 403, 413, 415),  # signature refused; webhook off; too large; not JSON
    },
)
async def receive_webhook(
    request: Request[Any, Any, Any],
    provider: FromPath[str],
    app: FromPath[str],
    services: NamedDependency[Services],
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
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return _too_large(request)
    headers = {key.lower(): value for key, value in request.headers.items()}
    remote = request.client.host if request.client else None
    outcome = await services.webhooks.receive(provider, app, headers, bytes(body), remote)
    answer = Answer(
        decision=outcome.decision, reason=outcome.reason, deployment_id=outcome.deployment_id
    )
    if outcome.status >= 400:
        titles = {400: "Malformed payload", 401: "Signature refused", 403: "Webhook disabled"}
        title = titles.get(outcome.status, "Refused")
        return problem_response(request, outcome.status, title, outcome.reason)
    return Response(answer, status_code=outcome.status)


def _too_large(request: Request[Any, Any, Any]) -> Response[Any]:
    return problem_response(
        request, 413, "Payload Too Large", f"webhook bodies are limited to {MAX_BODY} bytes"
    )
