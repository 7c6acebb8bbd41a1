"""A compose stack's settings as one HTML form, and what it asks for: its source (a repository,
or a compose file pasted inline), its routes written one a line, its variables pasted as a
`.env` file (write-only), its repository's credentials (write-only) and its watch paths; read
into a CreateStack, or into a ChangeStackSettings of only what differs from the stack as it
is."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.stack_commands import StackRouteInput
from rivetr.domain.stack_events import StackRoute
from rivetr.projections.stacks import StackView
from rivetr.web.pages.credential_form import CREDENTIALS, typed_credentials
from rivetr.web.pages.env_text import parse_env

_LIST = re.compile(r"[\s,]+")
SECRET_FIELDS = ("variables", "csrf_token", *CREDENTIALS)  # never shown back
ROUTES_HINT = (
    "One route a line: the service, its container port, then the domains that reach it,"
    " e.g. web 80 blog.example.com www.blog.example.com"
)


class StackForm(msgspec.Struct, kw_only=True):
    """Every input of the new-stack and settings forms, as typed."""

    csrf_token: str = ""
    name: str = ""
    place: str = ""  # team/project/environment
    git_url: str = ""
    branch: str = ""
    compose_path: str = ""
    compose: str = ""  # the compose file inline; in the settings form, empty keeps the current
    routes: str = ""  # one a line: SERVICE PORT [DOMAIN ...]
    variables: str = ""  # a .env file's lines, at creation only; write-only
    watch_paths: str = ""
    git_token: str = ""  # write-only: empty keeps the stack's
    git_token_remove: str = ""
    deploy_key: str = ""
    deploy_key_remove: str = ""


def parse_routes(text: str) -> list[StackRouteInput]:
    """The routes written one a line (`web 80 a.example.com b.example.com`; blank lines and
    `#` comments skipped).

    Raises:
        InvalidCommand: naming the field `routes` and the line that is no route.
    """
    routes = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = _listed(line.split("#", 1)[0])
        if not words:
            continue
        if len(words) < 2 or not words[1].isdigit():
            raise InvalidCommand(
                f"line {number} is not 'SERVICE PORT [DOMAIN ...]': {line.strip()!r}",
                field="routes",
            )
        service, port, domains = words[0], int(words[1]), words[2:]
        try:
            routes.append(
                msgspec.convert(
                    {"service": service, "port": port, "domains": domains}, StackRouteInput
                )
            )
        except msgspec.ValidationError as exc:
            raise InvalidCommand(f"line {number}: {_said(exc, words)}", field="routes") from None
    return routes


def _said(exc: msgspec.ValidationError, words: list[str]) -> str:
    """A route's refusal in words: which value is not what (a domain's regex is no help)."""
    message = str(exc)
    if "`$.service`" in message:
        return f"{words[0]!r} is not a compose service's name"
    if "`$.port`" in message:
        return f"{words[1]} is not a port (1 to 65535)"
    found = re.search(r"`\$\.domains\[(\d+)\]`", message)
    if found:
        return f"{words[2 + int(found.group(1))]!r} is not a domain name"
    return message


def routes_text(routes: list[StackRoute]) -> str:
    """The routes as the form writes them, one a line."""
    return "\n".join(" ".join([r.service, str(r.port), *r.domains]) for r in routes)


def create_fields(form: StackForm) -> dict[str, Any]:
    """The CreateStack the new-stack form asks for, as fields: the source typed (a compose
    file and a repository both given are refused by the command itself)."""
    team, project, environment = [*form.place.split("/"), "", "", ""][:3]
    fields: dict[str, Any] = {
        "name": form.name.strip(),
        "team": team or None,
        "project": project or "default",
        "environment": environment or "production",
        "routes": [msgspec.to_builtins(r) for r in parse_routes(form.routes)],
        "variables": parse_env(form.variables, "variables"),
        "watch_paths": _listed(form.watch_paths),
    }
    compose = _compose_of(form)
    if compose:
        fields["compose"] = compose
    if form.git_url.strip():
        fields["git_url"] = form.git_url.strip()
    if form.branch.strip():
        fields["branch"] = form.branch.strip()
    if form.compose_path.strip():
        fields["compose_path"] = form.compose_path.strip()
    return fields | typed_credentials(form)


def settings_changes(stack: StackView, form: StackForm, reaches_out: bool) -> dict[str, Any]:
    """The ChangeStackSettings fields that differ from `stack`. Its source, credentials and
    routes are read only when `reaches_out` (the reader may change them, so the form showed
    them).

    Raises:
        InvalidCommand: a repository and a compose file both given, or neither left.
    """
    changes: dict[str, Any] = {}
    for field, now in (("branch", stack.branch), ("compose_path", stack.compose_path)):
        typed = getattr(form, field).strip()
        if typed and typed != now:
            changes[field] = typed
    watch_paths = _listed(form.watch_paths)
    if watch_paths != stack.watch_paths:
        changes["watch_paths"] = watch_paths
    if not reaches_out:
        return changes
    routes = parse_routes(form.routes)
    if [(r.service, r.port, r.domains) for r in routes] != [
        (r.service, r.port, r.domains) for r in stack.routes
    ]:
        changes["routes"] = [msgspec.to_builtins(r) for r in routes]
    source = _source_changes(stack, form.git_url.strip(), _compose_of(form))
    return changes | source | typed_credentials(form)


def _source_changes(stack: StackView, git_url: str, compose: str) -> dict[str, Any]:
    if git_url and compose:
        raise InvalidCommand(
            "give a repository URL or a compose file, not both: empty one of them",
            field="compose",
        )
    if compose:
        return {"compose": compose} | ({} if stack.inline else {"git_url": None})
    if git_url:
        if stack.inline:
            return {"git_url": git_url, "compose": None}
        return {"git_url": git_url} if git_url != stack.git_url else {}
    if not stack.inline:
        raise InvalidCommand(
            "a stack needs its repository URL (or a compose file pasted below)", field="git_url"
        )
    return {}  # inline, and no new text: the file stays as it is


def shown(stack: StackView | None, form: StackForm | None = None) -> dict[str, str]:
    """What the form's inputs show: as typed when it was refused (never the variables), else
    the stack's own settings (the inline compose file is not in the read model: left empty)."""
    if form is not None:
        typed = msgspec.structs.asdict(form)
        return {k: str(v) for k, v in typed.items() if k not in SECRET_FIELDS}
    if stack is None:
        return {}
    return {
        "git_url": stack.git_url or "",
        "branch": stack.branch,
        "compose_path": stack.compose_path,
        "routes": routes_text(stack.routes),
        "watch_paths": " ".join(stack.watch_paths),
    }


def _compose_of(form: StackForm) -> str:
    # a browser sends a textarea's lines ending in CRLF; the file is kept as a file is written
    text = form.compose.replace("\r\n", "\n")
    return text if text.strip() else ""


def _listed(text: str) -> list[str]:
    return [item for item in _LIST.split(text) if item]


__all__ = [
    "ROUTES_HINT",
    "StackForm",
    "create_fields",
    "parse_routes",
    "routes_text",
    "settings_changes",
    "shown",
]
