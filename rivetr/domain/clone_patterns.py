"""The patterns a clone names and reaches its copies by: literal text and placeholders in
braces, nothing else (no escapes, no functions), so what a pattern makes can be read off it.

- A name pattern may use `{name}` (the resource's name), `{env}` and `{project}` (where the
  copy goes) and `{from_env}` (where it comes from): `{name}-{env}` makes `web-staging`.
- A domain pattern is applied to each domain of a resource, host by host (a path prefix is
  kept as it is). Besides the name pattern's placeholders it may use `{new_name}` (the copy's
  name), `{domain}` (the whole host), `{sub}` (its first label) and `{zone}` (the rest):
  `{sub}.staging.{zone}` makes `shop.staging.example.com` of `shop.example.com`, and
  `*.staging.example.com` of `*.example.com`. A pattern without `{domain}`, `{sub}` or
  `{zone}` (`{name}.staging.example.com`) gives every domain of a resource the same host, and
  a resource without domains gets none either way."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rivetr.domain.commands import CloneEnvironment
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.settings import host_of, path_of

NAME_PLACEHOLDERS = ("name", "env", "from_env", "project")
DOMAIN_PLACEHOLDERS = (*NAME_PLACEHOLDERS, "new_name", "domain", "sub", "zone")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def render(pattern: str, values: dict[str, str], allowed: Sequence[str], what: str) -> str:
    """The pattern with each placeholder replaced by its value.

    Raises:
        InvalidCommand: the pattern names a placeholder it may not use, or has a stray brace.
    """

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in allowed:
            known = ", ".join("{" + a + "}" for a in allowed)
            raise InvalidCommand(f"{what}: unknown placeholder {{{key}}}; use {known}", field=what)
        return values[key]

    rendered = _PLACEHOLDER.sub(value, pattern)
    if "{" in rendered or "}" in rendered:
        raise InvalidCommand(f"{what}: a brace that opens no placeholder", field=what)
    return rendered


def copy_name(command: CloneEnvironment, name: str) -> str:
    return render(command.name_pattern, _values(command, name), NAME_PLACEHOLDERS, "name_pattern")


def copy_domains(
    command: CloneEnvironment, name: str, new_name: str, domains: Sequence[str]
) -> list[str]:
    """The copy's domains: the pattern applied to each host, its path kept; none without a
    pattern."""
    if command.domain_pattern is None:
        return []
    made: list[str] = []
    for domain in domains:
        host = host_of(domain)
        sub, _, zone = host.partition(".")
        values = {**_values(command, name), "new_name": new_name, "domain": host}
        values.update(sub=sub, zone=zone)
        rendered = render(command.domain_pattern, values, DOMAIN_PLACEHOLDERS, "domain_pattern")
        made.append(rendered + path_of(domain))
    return list(dict.fromkeys(made))


def _values(command: CloneEnvironment, name: str) -> dict[str, str]:
    return {
        "name": name,
        "env": command.to_environment,
        "from_env": command.environment,
        "project": command.to_project or command.project,
    }
