"""The pages of /schema: the OpenAPI document as JSON, and Swagger UI to browse and try it. The
UI's files come from a package dependency (`swagger-ui-py`, which ships Swagger UI's own
distribution) and are served by the app under /schema/assets: the page works offline and loads
nothing from another origin."""

from __future__ import annotations

import html
import importlib.util
import typing
from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import File

from rivetr.web.openapi import document

ASSETS = "/schema/assets"
DOCUMENT = "/schema/openapi.json"
# the files the page loads, and only those (the package ships an editor too)
ASSET_TYPES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}


def assets_directory() -> Path:
    """Where the installed `swagger_ui` package keeps Swagger UI's files (found without
    importing it: its own code is for other frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: reinstall Rivetr")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@get(f"{ASSETS}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def schema_asset(name: FromPath[str]) -> File:
    """One of Swagger UI's files, as the app's own."""
    if name not in ASSET_TYPES:
        raise NotFoundException(f"no file {name!r} here")
    return File(
        assets_directory() / name,
        media_type=ASSET_TYPES[name],
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=86400"},
    )


class _Described:
    """A render plugin handed the corrected document, made once per app, when first asked
    for: the tests make an app per test, and most never read it."""

    def described(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        app = request.app
        cached = app.state.get("openapi_document")
        if cached is None:
            cached = app.state["openapi_document"] = document(app)
        return typing.cast(dict[str, Any], cached)


class DescribedJson(_Described, JsonRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self.described(request))


class SwaggerPage(_Described, OpenAPIRenderPlugin):
    """Swagger UI on the document at /schema/openapi.json; its validator badge (a call to
    another site) is off."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(f"{openapi_schema['info']['title']} API")
        return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="{ASSETS}/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{DOCUMENT}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
""".encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """The pages of /schema: a browsable one at /schema, the JSON at /schema/openapi.json."""
    return [SwaggerPage(path="/"), DescribedJson()]


__all__ = ["ASSETS", "render_plugins", "schema_asset"]
