"""The OpenAPI document at /schema, made to say what the server answers. Litestar lays out the
paths and operations; their schemas are then taken from msgspec, which decodes and encodes the
same types (so a pattern inside a list, a bound, or a refused unknown field reads as it is
enforced), with the problem details each route can answer and the media types it sends."""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Litestar
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import ParameterKwarg
from litestar.response import Response, ServerSentEvent, Stream
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition
from litestar.utils import get_enum_string_value

from rivetr.web.auth import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, BearerTokenMiddleware
from rivetr.web.problems import PROBLEM_JSON, Problem

REF = "#/components/schemas/{name}"
EVENT_STREAM = "text/event-stream"
MEDIA_TYPES = "media_types"  # opt key: the media types a route that streams files sends
# a session's cookie is enough to read; a change through it also carries its CSRF token
READING: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
CHANGING: list[dict[str, list[str]]] = [{"bearer": []}, {"session": [], "csrf": []}]
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
    "csrf": {"type": "apiKey", "in": "header", "name": CSRF_HEADER},
}
_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern")
_TEXT = {"type": "string"}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """A route's `responses=` for problem details beyond those every route of its kind gives
    (see `problem_statuses`): a sign-in's 429, a webhook's 401."""
    return {
        status: ResponseSpec(
            Problem, media_type=PROBLEM_JSON, description=_reason(status), generate_examples=False
        )
        for status in statuses
    }


def operations(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(path as the document writes it, method, handler) of every documented operation."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method != "OPTIONS" and handler.resolve_include_in_schema():
                yield route.path_format, method, handler


def authenticated(handler: HTTPRouteHandler) -> bool:
    """Whether the route takes a token or a session (the API's, less the routes it opens)."""
    guarded = any(m is BearerTokenMiddleware for m in handler.resolve_middleware())
    return guarded and not handler.opt.get("exclude_from_auth")


def problem_statuses(method: str, handler: HTTPRouteHandler, parameters: bool) -> set[int]:
    """The problem details a route can answer, by what it takes: anything it is given can be
    invalid (400) or name what does not exist (404); a body can be too large (413) or not JSON
    (415); a change can conflict (409) or be refused by the domain (422), find the disk full
    (507) or the service unable to record or show it (503); a signed route can find no one
    signed (401) or someone not allowed (403)."""
    body = "data" in handler.parsed_fn_signature.parameters
    statuses = {400, 404} if body or parameters else set()
    if body:
        statuses |= {413, 415}
    if method not in ("GET", "HEAD"):
        statuses |= {409, 422, 503, 507}
    if authenticated(handler):
        statuses |= {401, 403}
    return statuses | {s for s in handler.responses or {} if s >= 400}


def document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI document of `app`, its schemas from msgspec."""
    generated = app.openapi_schema.to_schema()
    bodies: list[Any] = [Problem]
    for _, _, handler in operations(app):
        bodies += [_body_type(handler), _returned_type(handler)]
        bodies += [spec.data_container for spec in (handler.responses or {}).values()]
    bodies = [kind for kind in bodies if kind is not None]
    refs, components = msgspec.json.schema_components(bodies, ref_template=REF)
    schema_of = dict(zip(map(_key, bodies), refs, strict=True))
    for path, method, handler in operations(app):
        operation = generated["paths"][path][method.lower()]
        _describe(operation, method, handler, schema_of)
    generated["components"] = {"schemas": components, "securitySchemes": SCHEMES}
    return generated


def _describe(
    operation: dict[str, Any],
    method: str,
    handler: HTTPRouteHandler,
    schema_of: Mapping[object, dict[str, Any]],
) -> None:
    fields = {_alias(name, f): f for name, f in handler.parsed_fn_signature.parameters.items()}
    for parameter in operation.get("parameters", []):
        parameter["schema"] = _parameter_schema(fields[parameter["name"]])
    operation.pop("requestBody", None)
    if (body := _body_type(handler)) is not None:
        operation["requestBody"] = {
            "required": not handler.parsed_fn_signature.parameters["data"].has_default,
            "content": {MediaType.JSON.value: {"schema": schema_of[_key(body)]}},
        }
    responses = {str(handler.status_code): _success(handler, schema_of)}
    for status in sorted(problem_statuses(method, handler, bool(operation.get("parameters")))):
        responses[str(status)] = _content(_reason(status), PROBLEM_JSON, schema_of[_key(Problem)])
    for status, spec in (handler.responses or {}).items():
        schema = schema_of[_key(spec.data_container)]
        media_type = get_enum_string_value(spec.media_type)
        responses[str(status)] = _content(spec.description, media_type, schema)
    operation["responses"] = dict(sorted(responses.items()))
    if authenticated(handler):
        operation["security"] = READING if method in SAFE_METHODS else CHANGING


def _success(handler: HTTPRouteHandler, schema_of: Mapping[object, Any]) -> dict[str, Any]:
    description = handler.response_description or _reason(handler.status_code)
    returned = handler.parsed_fn_signature.return_type
    if returned.is_subclass_of(ServerSentEvent) or handler.media_type == EVENT_STREAM:
        return _content(description, EVENT_STREAM, _TEXT)
    media_type = get_enum_string_value(handler.media_type or MediaType.JSON)  # "": a Response
    if returned.is_subclass_of(Stream):
        sent = handler.opt.get(MEDIA_TYPES) or (media_type,)
        return {"description": description, "content": {m: {"schema": _TEXT} for m in sent}}
    body = _returned_type(handler)
    if body is None:
        return {"description": description}
    return _content(description, media_type, schema_of[_key(body)])


def _content(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _body_type(handler: HTTPRouteHandler) -> Any:
    data = handler.parsed_fn_signature.parameters.get("data")
    return data.annotation if data is not None else None


def _returned_type(handler: HTTPRouteHandler) -> Any:
    """The type of what the route answers with, or None for no body (or a stream's: an ASGI
    app answering for itself says its media type in its decorator)."""
    returned = handler.parsed_fn_signature.return_type
    if returned.is_subclass_of(Stream) or handler.media_type == EVENT_STREAM:
        return None
    if typing.get_origin(returned.annotation) is Response:
        returned = returned.inner_types[0]
    return None if returned.annotation in (None, type(None), Any) else returned.annotation


def _alias(name: str, field: FieldDefinition) -> str:
    """The name a parameter goes by in the request: its own, or the one its Parameter gives."""
    kwarg = field.kwarg_definition
    if not isinstance(kwarg, ParameterKwarg):
        return name
    return kwarg.name or kwarg.query or kwarg.header or kwarg.cookie or name


def _parameter_schema(field: FieldDefinition) -> dict[str, Any]:
    """A path, query or header value's schema, with the bounds the server checks it by. An
    optional value may be left out, or sent as `null`, which Litestar reads as left out."""
    kwarg = field.kwarg_definition
    bounds = {name: getattr(kwarg, name, None) for name in _CONSTRAINTS}
    form = getattr(kwarg, "format", None)  # docs only: the handler checks it (a time, say)
    meta = msgspec.Meta(
        **{name: value for name, value in bounds.items() if value is not None},
        extra_json_schema={"format": form} if form else None,
    )
    present = [t.annotation for t in field.inner_types if t.annotation is not type(None)]
    optional = field.is_optional and len(present) == 1
    value: Any = Annotated[present[0] if optional else field.annotation, *field.metadata, meta]
    schema: dict[str, Any] = msgspec.json.schema(value | None if optional else value)
    return schema


def _key(kind: Any) -> object:
    return repr(kind)  # a union or a generic alias is a new object each time it is spelled


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


__all__ = ["EVENT_STREAM", "MEDIA_TYPES", "document", "operations", "problems"]
