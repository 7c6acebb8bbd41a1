"""Each field's other shapes turned into the one the model keeps, as compose-go turns them: a
`K=V` list into a mapping, a command string into its words, a short port or volume into its long
mapping. The model names these on its fields with `Parsed(...)`; where a shape moves a value to
a new path (`environment[2]` to `environment.KEY`), the new path is placed on the line it came
from, so later refusals still point at it."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from rivetr.domain.compose import short_syntax, units
from rivetr.domain.compose.typed import At, Parse
from rivetr.domain.compose.units import UnitError


def string_list(value: Any, at: At) -> Any:
    """`dns: 8.8.8.8` is `dns: [8.8.8.8]`."""
    return [value] if isinstance(value, str) else value


def key_values(missing: str | None) -> Parse:
    """A mapping, or a list of `KEY=VALUE` (a bare `KEY` has the value `missing`)."""

    def parse(value: Any, at: At) -> Any:
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {key: missing if one is None else one for key, one in value.items()}
        if not isinstance(value, list):
            return value
        found: dict[str, Any] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise at.child(index).refuse(f"expected KEY=VALUE, got {item!r}")
            key, equals, rest = item.partition("=")
            found[key] = rest if equals else missing
            at.place((*at.path, key), (*at.path, index))
        return found

    return parse


environment = key_values(None)  # a bare KEY takes its value from the stack's variables
labels = key_values("")


def extra_hosts(value: Any, at: At) -> Any:
    """`host:ip` or `host=ip` items, or a mapping of a host to one address or a list, as a
    mapping of each host to its addresses."""
    if isinstance(value, Mapping):
        return {key: string_list(one, at) for key, one in value.items()}
    if not isinstance(value, list):
        return value
    found: dict[str, list[Any]] = {}
    for index, item in enumerate(value):
        text = str(item)
        host, sep, address = text.partition("=") if "=" in text else text.partition(":")
        if not sep or not host or not address:
            raise at.child(index).refuse(f"expected HOST:ADDRESS, got {item!r}")
        found.setdefault(host, []).append(address)
        at.place((*at.path, host), (*at.path, index))
    return found


def names(value: Any, at: At) -> Any:
    """A list of names (`networks: [front]`) as a mapping of each to nothing more."""
    if isinstance(value, list):
        for index, name in enumerate(value):
            at.place((*at.path, str(name)), (*at.path, index))
        return dict.fromkeys(map(str, value))
    return value


def nothing_as_empty(value: Any, at: At) -> Any:
    """`some-network:` with nothing under it is a network with every default."""
    return {} if value is None else value


def command(value: Any, at: At) -> Any:
    """A command string split into words as a shell splits them (`sh -c "exit 1"` is three)."""
    if not isinstance(value, str):
        return value
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise UnitError(f"cannot split the command into words: {exc}") from None


def health_test(value: Any, at: At) -> Any:
    """A test string is run by the container's shell."""
    return ["CMD-SHELL", value] if isinstance(value, str) else value


def ulimit(value: Any, at: At) -> Any:
    """`nproc: 65535` is that soft and hard limit both."""
    return value if isinstance(value, Mapping) else {"soft": value, "hard": value}


def build(value: Any, at: At) -> Any:
    """`build: ./dir` is the context alone."""
    return {"context": value} if isinstance(value, str) else value


def depends_on(value: Any, at: At) -> Any:
    """A list of services is each one needed, started."""
    if not isinstance(value, list):
        return value
    found = names(value, at)
    return {name: {"condition": "service_started", "required": True} for name in found}


def top_level(value: Any, at: At) -> Any:
    """A top-level network, volume, secret or config: nothing under it is every default; the
    deprecated `external: {name: x}` is `external: true` with the name `x`."""
    if value is None:
        return {}
    external = value.get("external") if isinstance(value, Mapping) else None
    if isinstance(external, Mapping):
        value = dict(value, external=True)
        if "name" in external:
            if "name" in value and value["name"] != external["name"]:
                raise at.child("external").refuse("`external.name` and `name` differ")
            value["name"] = external["name"]
    return value


def reference(value: Any, at: At) -> Any:
    """A service's secret or config named alone is that one at its default place."""
    return {"source": value} if isinstance(value, str) else value


def mode(value: Any, at: At) -> Any:
    """A file mode written as text is octal (`"0440"`), as a number it is the number."""
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise UnitError(f"expected an octal file mode such as 0440, got {value!r}") from None
    return value


def env_files(value: Any, at: At) -> Any:
    """`env_file: a.env` and `[a.env, {path: b.env}]` as a list of `{path, required}`."""
    listed = string_list(value, at)
    if not isinstance(listed, list):
        return listed
    return [{"path": item} if isinstance(item, str) else item for item in listed]


def restart(value: Any, at: At) -> Any:
    """`restart: no` unquoted is YAML 1.1's false: the policy `no`."""
    return "no" if value is False else value


def gpus(value: Any, at: At) -> Any:
    """`gpus: all` is one request for every GPU."""
    return [{"count": -1}] if value == "all" else value


def count(value: Any, at: At) -> Any:
    """A device request's `count: all` is -1."""
    return -1 if value == "all" else value


def published(value: Any, at: At) -> Any:
    """A host port or range (`8080`, `"8000-8010"`), as text; empty is none."""
    if value is None or value == "":
        return None
    text = units.text(value)
    short_syntax.port_range(text, "host port")
    return text


def include(value: Any, at: At) -> Any:
    return {"path": [value]} if isinstance(value, str) else value


def extends(value: Any, at: At) -> Any:
    return {"service": value} if isinstance(value, str) else value


def volume(value: Any, at: At) -> Any:
    return short_syntax.volume(value) if isinstance(value, str) else value


def device(value: Any, at: At) -> Any:
    return short_syntax.device(value) if isinstance(value, str) else value


def ports(value: Any, at: At) -> Any:
    """Short ports as long ones; a range becomes a mapping per port, so the entries after it
    move, and are placed on the lines they were written on."""
    if not isinstance(value, list):
        return value
    found: list[Any] = []
    moves: list[tuple[int, int]] = []  # (written index, index in the long form)
    for index, item in enumerate(value):
        if isinstance(item, str | int) and not isinstance(item, bool):
            try:
                expanded: list[Any] = short_syntax.ports(str(item))
            except UnitError as exc:
                raise at.child(index).refuse(str(exc)) from None
        else:
            expanded = [item]
        moves += [(index, len(found) + offset) for offset in range(len(expanded))]
        found += expanded
    if any(written != now for written, now in moves):
        _replace(at, moves)
    return found


def _replace(at: At, moves: list[tuple[int, int]]) -> None:
    """Place each port of the long form where its entry was written; a path below an entry
    that moved away is placed with the entry now at its index."""
    size = len(at.path)
    old = {path: place for path, place in at.where.items() if path[:size] == at.path}
    new = {}
    for written, now in moves:
        for path, place in old.items():
            if len(path) > size and path[size] == written:
                new[(*at.path, now, *path[size + 1 :])] = place
    for path in old:
        if path not in new and len(path) > size + 1 and path[: size + 1] in new:
            new[path] = new[path[: size + 1]]
    for path, place in new.items():
        at.where.add(path, place)
