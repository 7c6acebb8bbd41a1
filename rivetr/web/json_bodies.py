"""The API's request bodies are JSON, said so by their Content-Type, and read here once before the
handler: another media type is a 415, and a body that is not JSON, or not of the route's type,
is a 400.

Litestar decodes a `data` body as JSON whatever its Content-Type. Taking `text/plain` matters:
it is one of the types a page on another site may POST without the browser asking first. And
it converts the body to its type leniently, as it must a query string (0 for false, "80" for
80): a body is checked here strictly first, as the OpenAPI schema describes it. As JSON Schema
has it, 80.0 is an integer: it is taken where one is."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, HTTPException, SerializationException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from rivetr.web.problems import invalid


def is_json(media_type: str) -> bool:
    media_type = media_type.lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_json_body(request: Request[Any, Any, Any]) -> None:
    """The API's before_request hook: check and decode the body of a route that takes one.
    Litestar keeps the decoded value, so the handler's `data` does not decode it again."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return
    if not await request.body():
        return  # an optional body left out
    media_type, _ = request.content_type
    if not is_json(media_type):
        sent = f"not {media_type!r}" if media_type else "it had no Content-Type"
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"the body must be JSON, sent as 'Content-Type: application/json': {sent}",
        )
    try:
        msgspec.convert(_whole_floats(await request.json()), data.annotation, strict=True)
    except SerializationException as exc:
        raise ClientException(f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # msgspec follows nesting only so deep
        raise ClientException("the body's JSON is nested too deeply") from None
    except msgspec.ValidationError as exc:
        raise invalid(exc, "body") from None


def _whole_floats(value: Any) -> Any:
    """`value` with every float that has no fractional part made an int."""
    match value:
        case float() if value.is_integer():
            return int(value)
        case dict():
            return {key: _whole_floats(item) for key, item in value.items()}
        case list():
            return [_whole_floats(item) for item in value]
    return value
