"""References in variable values, `${{team.KEY}}`, `${{project.KEY}}`, `${{environment.KEY}}`,
and their resolution for one app at deploy time: pure, over plain values the caller opened.

A scope is a name: the three levels of shared variables, and later a resource's outputs
(`${{db.URL}}`), passed in as one more scope by the caller; a scope not given is refused.
`$${{` is a literal `${{`: some values carry that text themselves (a CI template, a shell
snippet), and without an escape no such value could be set once references are read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import VariableUse

LEVELS: Final = ("team", "project", "environment")
APP: Final = "app"  # the source of an app's own value
MAX_DEPTH: Final = 64  # references within references, deeper than any real setup goes
MAX_LENGTH: Final = 1 << 20  # a resolved value: a reference used twice at each level doubles

# an escaped `${{`, a reference, or a `${{` that is neither (refused: a typo, not text)
_TOKEN = re.compile(
    r"\$\$\{\{"
    r"|\$\{\{\s*([a-z0-9][a-z0-9-]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}"
    r"|\$\{\{"
)

Node = tuple[str, str]  # (scope, key); an app's own value is (APP, name)
Scopes = Mapping[str, Mapping[str, str]]  # scope -> key -> plain value


class UnresolvedReference(InvalidCommand):
    """A value names a variable that is not there, or references go round in a cycle."""

    title = "Unresolved variable reference"


@dataclass(frozen=True, slots=True)
class Reference:
    scope: str
    key: str

    def __str__(self) -> str:
        return f"{self.scope}.{self.key}"


Part = str | Reference


def parse(value: str) -> list[Part]:
    """The text and references of `value`, in order (`$${{` read as the text `${{`).

    Raises:
        UnresolvedReference: a `${{` that does not make a reference.
    """
    parts: list[Part] = []
    text = ""  # since the last reference
    at = 0
    for found in _TOKEN.finditer(value):
        text += value[at : found.start()]
        at = found.end()
        if found.group(0) == "$${{":
            text += "${{"
        elif found.group(1) is not None:
            parts += [text, Reference(found.group(1), found.group(2))]
            text = ""
        else:
            shown = value[found.start() : found.start() + 40]
            raise UnresolvedReference(
                f"{shown!r} is not a reference: write ${{{{team.KEY}}}}, ${{{{project.KEY}}}}"
                " or ${{environment.KEY}} (and $${{ for the text ${{ itself)"
            )
    parts.append(text + value[at:])
    return [part for part in parts if part != ""]


def references(value: str) -> list[Reference]:
    """The references `value` makes (none when it is not well formed)."""
    try:
        return [part for part in parse(value) if isinstance(part, Reference)]
    except UnresolvedReference:
        return []


@dataclass(frozen=True, slots=True)
class Resolution:
    """An app's values with every reference replaced, and per variable the shared variables
    it took (directly or through others), as (scope, key)."""

    values: dict[str, str]
    used: dict[str, list[Node]] = field(default_factory=dict)


def resolve(
    app: Mapping[str, str], scopes: Scopes, withheld: Mapping[str, Mapping[str, str]] | None = None
) -> Resolution:
    """Resolve the references of the app's values `app` against `scopes` (each a mapping of
    keys to plain values; references inside them are resolved in turn). `withheld` names the
    variables there are but not for this use (scope -> key -> why), to say so when one is
    referenced.

    Raises:
        UnresolvedReference: naming the chain that failed: `DATABASE_URL -> project.DB ->
            team.HOST: no team variable HOST`, or a cycle `project.A -> environment.B ->
            project.A`.
    """
    done: dict[Node, tuple[str, frozenset[Node]]] = {}

    def value_of(node: Node, path: tuple[Node, ...]) -> tuple[str, frozenset[Node]]:
        if node in done:
            return done[node]
        if node in path:
            cycle = [*path[path.index(node) :], node]
            raise UnresolvedReference(f"reference cycle: {_chain(cycle)}")
        if len(path) > MAX_DEPTH:
            raise UnresolvedReference(
                f"references nest deeper than {MAX_DEPTH}: {_chain([*path, node])}"
            )
        scope, key = node
        text = app[key] if scope == APP else scopes[scope][key]
        try:
            parts = parse(text)
        except UnresolvedReference as exc:
            raise UnresolvedReference(f"{_chain([*path, node])}: {exc}") from None
        pieces: list[str] = []
        used: set[Node] = set()
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            target = (part.scope, part.key)
            _check_known(target, scopes, withheld or {}, [*path, node])
            piece, under = value_of(target, (*path, node))
            pieces.append(piece)
            used |= {target, *under}
        resolved = "".join(pieces)
        if len(resolved) > MAX_LENGTH:
            raise UnresolvedReference(
                f"{_chain([*path, node])}: the value resolves to more than {MAX_LENGTH} characters"
            )
        done[node] = (resolved, frozenset(used))
        return done[node]

    values: dict[str, str] = {}
    used: dict[str, list[Node]] = {}
    for name in app:
        values[name], reached = value_of((APP, name), ())
        used[name] = sorted(reached)
    return Resolution(values=values, used=used)


def reached(app: Mapping[str, str], scopes: Scopes) -> set[Node]:
    """Every shared variable the app's values reach, through references in any number of
    steps; unknown ones and malformed values are passed over, a cycle is walked once. What a
    change to shared variables would touch, even in an app that does not resolve today."""
    seen: set[Node] = set()
    waiting = [(ref.scope, ref.key) for value in app.values() for ref in references(value)]
    while waiting:
        node = waiting.pop()
        if node in seen:
            continue
        seen.add(node)
        value = scopes.get(node[0], {}).get(node[1])
        if value is not None:
            waiting += [(ref.scope, ref.key) for ref in references(value)]
    return seen


def _check_known(
    target: Node, scopes: Scopes, withheld: Mapping[str, Mapping[str, str]], path: list[Node]
) -> None:
    scope, key = target
    chain = _chain([*path, target])
    why = withheld.get(scope, {}).get(key)
    if why is not None and key not in scopes.get(scope, {}):
        raise UnresolvedReference(f"{chain}: {scope}.{key} is {why}")
    if scope not in scopes:
        raise UnresolvedReference(
            f"{chain}: {scope!r} is not team, project or environment (nor a resource that"
            " gives variables)"
        )
    if key not in scopes[scope]:
        raise UnresolvedReference(f"{chain}: no {scope} variable {key}")


def _chain(nodes: list[Node]) -> str:
    return " -> ".join(key if scope == APP else f"{scope}.{key}" for scope, key in nodes)


def uses(resolution: Resolution) -> list[VariableUse]:
    """Where each of the app's variables came from, as a deployment records it: the shared
    variables it took, or its own value (`app`) when it took none."""
    found = []
    for name, used in resolution.used.items():
        nodes = used or [(APP, name)]
        found += [VariableUse(name=name, source=scope, key=key) for scope, key in nodes]
    return found
