"""GET /metrics on the API's address: Prometheus' text, for the bearer token `metrics_token`;
404 when none is set (metrics off here), 401 for a missing or wrong token."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from rivetr.service.metrics.scrape import Metrics, MetricsTokenRefused
from rivetr.web.openapi import problems

# Prometheus' text format; Litestar adds the charset (utf-8) to a text/ media type itself
CONTENT_TYPE = "text/plain; version=0.0.4"


@get(
    "/metrics",
    media_type=CONTENT_TYPE,
    tags=["system"],
    responses=problems(401, 404),
)
async def metrics_page(
    request: Request[Any, Any, Any], metrics: NamedDependency[Metrics]
) -> Response[str]:
    """Every rivetr_ metric in the Prometheus text format (0.0.4)."""
    try:
        metrics.check(request.headers.get("authorization"))
    except MetricsTokenRefused as exc:
        raise NotAuthorizedException(str(exc)) from None
    return Response(await metrics.render(), media_type=CONTENT_TYPE)
