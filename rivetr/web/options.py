"""OPTIONS answers every method its path routes. Litestar 2 makes a path's OPTIONS answer when
the path's first handler is registered, and a controller registers its handlers one by one, so
its `Allow` listed only the methods registered before it (fixed in Litestar 3)."""

from __future__ import annotations

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.response.base import ASGIResponse
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp, Receive, Scope, Send


def every_method_allowed(app: ASGIApp) -> ASGIApp:
    """The app's middleware: answers OPTIONS itself, from the app's own table of routes."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return
        template = scope["path_template"]
        routes = Litestar.from_scope(scope).routes
        methods = {m for r in routes if r.path_format == template for m in r.methods}
        allow = ", ".join(sorted(methods))
        await ASGIResponse(status_code=HTTP_204_NO_CONTENT, headers={"Allow": allow})(
            scope, receive, send
        )

    return middleware
