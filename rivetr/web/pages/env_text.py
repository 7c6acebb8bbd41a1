"""A pasted `.env` file as variables, read by python-dotenv (quotes, `export`, comments and
multi-line values as every other tool reads them), refused at the first line that is no
variable, by its line number."""

from __future__ import annotations

import io
import re
from typing import Any, Protocol

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from rivetr.domain.errors import InvalidCommand

# as EnvName in domain/settings.py: what a container's environment takes
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
_RULE = "letters, digits and _, not starting with a digit"


def check_name(name: str, field: str) -> str:
    """`name`, if an environment takes it as a variable's name.

    Raises:
        InvalidCommand: naming `field`, and what a name may hold.
    """
    if not _NAME.fullmatch(name):
        raise InvalidCommand(f"{name!r} is not a variable name: {_RULE}", field=field)
    return name


def parse_env(text: str, field: str) -> dict[str, str]:
    """The variables `text` sets, in order (a repeated name: its last value).

    Raises:
        InvalidCommand: naming `field` and the line that cannot be read, or whose name no
            environment takes, or which has no `=`.
    """
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        # a binding starts with the blank lines before it: its own line is after them
        line = binding.original.line + original[: len(original) - len(original.lstrip())].count(
            "\n"
        )
        if binding.error:
            raise InvalidCommand(
                f"line {line} is not NAME=value: {original.strip()!r}", field=field
            )
        if binding.key is None:
            continue  # a comment or a blank line
        if not _NAME.fullmatch(binding.key):
            raise InvalidCommand(
                f"line {line}: {binding.key!r} is not a variable name ({_RULE})",
                field=field,
            )
        if binding.value is None:
            raise InvalidCommand(f"line {line}: {binding.key} has no '=' and no value", field=field)
    # no interpolation: ${HOME} stays as written, never this server's own environment
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {name: value or "" for name, value in values.items()}


def pasted(text: str, field: str = "text") -> dict[str, str | None]:
    """The variables a pasted `.env` form sets (`parse_env`), at least one.

    Raises:
        InvalidCommand: as `parse_env`, or when `text` sets nothing.
    """
    parsed = parse_env(text, field)
    if not parsed:
        raise InvalidCommand("no NAME=value line to set", field=field)
    return dict(parsed)


class OneVariable(Protocol):
    """A form setting one variable: its name and value, and with `scoped` its scopes and
    preview value."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def scoped(self) -> object: ...  # a checkbox: its value when ticked
    @property
    def build(self) -> object: ...
    @property
    def runtime(self) -> object: ...
    @property
    def preview(self) -> object: ...
    @property
    def preview_value(self) -> str | None: ...


def one_variable(data: OneVariable, values: str, scopes: str, preview: str) -> dict[str, Any]:
    """The change a one-variable form asks for, under the fields `values`, `scopes` and
    `preview` of the command it goes to (an app's `env...`, a place's shared ones)."""
    variable = check_name(data.name.strip(), "name")
    if not data.scoped:
        return {values: {variable: data.value}}
    kinds = {kind: bool(getattr(data, kind)) for kind in ("build", "runtime", "preview")}
    return {
        values: {variable: data.value},
        scopes: {variable: kinds},
        preview: {variable: data.preview_value or None},
    }
