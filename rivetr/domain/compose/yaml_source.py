"""A compose file's YAML read into `Map`/`Seq` nodes as Compose (Go's YAML v3) reads it: plain
data only, `yes`/`no`/`on`/`off` left as text, Go's integers (`0440` is octal), anchors, aliases
and `<<` merge keys, `!reset` and `!override`; the line of every key and item kept.

The nodes are built from libyaml's events, not from PyYAML's constructor, so that the bounds are
counted before anything is expanded: an alias adds the size of the node it names, and a billion
laughs is refused at the alias that crosses the limit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from rivetr.domain.compose.bounds import (
    MAX_CHARACTERS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    MAX_SERVICES,
)
from rivetr.domain.compose.nodes import OVERRIDE, RESET, Map, Mark, Seq, clone, refusal
from rivetr.domain.compose.where import ComposeError, Location

_Loader: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
_CORE: Final = "tag:yaml.org,2002:"
_WORDS: Final[dict[str, Any]] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
# Go's strconv.ParseInt with base 0, which YAML v3 uses: 0x, 0o, 0b and a leading 0 (octal)
_INT: Final = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_BASES: Final = {"0x": 16, "0o": 8, "0b": 2}
_FLOAT: Final = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def resolve_plain(text: str) -> Any:
    """What an untagged, unquoted scalar means, as Go's YAML v3 resolves it."""
    if text in _WORDS:
        return _WORDS[text]
    if not text or text[0] not in "+-.0123456789":
        return text
    if text[0] == ".":
        return float(text) if _FLOAT.fullmatch(text) else text
    digits = text.replace("_", "")
    found = _INT.fullmatch(digits)
    if found is not None:
        sign, body = found.groups()
        base = _BASES.get(body[:2].lower())
        digits_of = body[2:] if base is not None else body
        octal = body[0] == "0" and len(body) > 1  # 0440 is octal in Go
        number = int(digits_of, base or (8 if octal else 10))
        number = -number if sign == "-" else number
        if -(1 << 63) <= number < (1 << 64):
            return number
    return float(digits) if _FLOAT.fullmatch(digits) else text


def _tagged(tag: str, text: str, at: Location) -> Any:
    """A scalar with an explicit core tag (`!!str 0440`)."""
    kind = tag.removeprefix(_CORE)
    value = resolve_plain(text)
    if kind == "str" or tag == "!":
        return text
    if kind == "null" and value is None:
        return None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise refusal(f"{text!r} is not read as {tag}: compose files hold plain data", (), at)


@dataclass
class _Open:
    """A mapping or sequence whose end has not been read yet."""

    value: Map | Seq
    at: Location
    mark: Mark | None
    anchor: str | None
    nodes: int  # the counts when it opened, for an anchor's size
    characters: int
    key: str | None = None
    key_at: Location | None = None
    merging: bool = False
    merges: list[Map] = field(default_factory=list)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}
        self.nodes = 0
        self.characters = 0
        self.root: Any = None
        self.documents = 0

    def location(self, event: yaml.Event) -> Location:
        mark = event.start_mark
        return Location(self.file, mark.line + 1 if mark is not None else 1)

    def spend(self, nodes: int, characters: int, at: Location) -> None:
        self.nodes += nodes
        self.characters += characters
        if self.nodes > MAX_NODES or self.characters > MAX_CHARACTERS:
            raise refusal(
                f"the data would hold more than {MAX_NODES:,} nodes or {MAX_CHARACTERS:,}"
                " characters, each alias counted as what it names: refused before expanding it",
                (),
                at,
            )

    def mark_of(self, tag: str | None, at: Location) -> Mark | None:
        if tag == "!reset":
            return RESET
        if tag == "!override":
            return OVERRIDE
        if tag is not None and tag != "!" and not tag.startswith(_CORE):
            raise refusal(f"the tag {tag} is not read: compose files hold plain data", (), at)
        return None

    def event(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise refusal("a compose file holds one YAML document", (), self.location(event))
        elif isinstance(event, yaml.ScalarEvent):
            self.scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.open(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self.close()

    def scalar(self, event: yaml.ScalarEvent) -> None:
        at = self.location(event)
        self.spend(1, len(event.value), at)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.value, Map) and top.key is None:
            top.key, top.key_at = event.value, at
            top.merging = event.value == "<<" and event.implicit[0]
            if event.anchor is not None:
                self.anchors[event.anchor] = (event.value, 1, len(event.value))
            return
        mark = self.mark_of(event.tag, at)
        if mark == RESET:
            value: Any = None
        elif event.tag is None or mark is not None:  # untagged, or tagged by !override
            plain_style = event.implicit[0] if event.tag is None else not event.style
            value = resolve_plain(event.value) if plain_style else event.value
        else:
            value = _tagged(event.tag, event.value, at)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1, len(event.value))
        self.add(value, at, mark)

    def alias(self, event: yaml.AliasEvent) -> None:
        at = self.location(event)
        if event.anchor not in self.anchors:
            raise refusal(f"the alias *{event.anchor} names no anchor before it", (), at)
        node, nodes, characters = self.anchors[event.anchor]
        self.spend(nodes, characters, at)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.value, Map) and top.key is None:
            if isinstance(node, Map | Seq):
                raise refusal(f"the alias *{event.anchor} is a key; keys are text", (), at)
            top.key, top.key_at, top.merging = str(node), at, False
            return
        self.add(clone(node)[0], at, None)

    def open(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        at = self.location(event)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.value, Map) and top.key is None:
            raise refusal("a key is a mapping or a sequence; keys are text", (), at)
        if len(self.stack) >= MAX_DEPTH:
            raise refusal(f"the data nests deeper than {MAX_DEPTH} levels", (), at)
        self.spend(1, 0, at)
        value: Map | Seq = Map() if isinstance(event, yaml.MappingStartEvent) else Seq()
        mark = self.mark_of(event.tag, at)
        self.stack.append(_Open(value, at, mark, event.anchor, self.nodes, self.characters))

    def close(self) -> None:
        done = self.stack.pop()
        if isinstance(done.value, Map):
            for merged in done.merges:  # `<<`: keys written in the mapping itself win
                for key, item, at in merged.entries():
                    if key not in done.value:
                        done.value.put(key, item, at, merged.marks.get(key))
        if done.anchor is not None:
            size = (self.nodes - done.nodes + 1, self.characters - done.characters)
            self.anchors[done.anchor] = (done.value, *size)
        self.add(None if done.mark == RESET else done.value, done.at, done.mark)

    def add(self, value: Any, at: Location, mark: Mark | None) -> None:
        if not self.stack:
            if mark is not None:
                raise refusal(f"!{mark} tags the value of a key", (), at)
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, Seq):
            if mark is not None:
                raise refusal(f"!{mark} tags the value of a key, not a list item", (), at)
            top.value.push(value, at)
            return
        key, key_at = top.key or "", top.key_at or at
        top.key = None
        if top.merging:
            top.merges.extend(self.merge_sources(value, key_at))
        elif key in top.value:
            first = top.value.at.get(key)
            raise refusal(
                f"the key {key!r} is written twice (line {first.line if first else '?'})",
                (),
                key_at,
            )
        else:
            top.value.put(key, value, key_at, mark)

    def merge_sources(self, value: Any, at: Location) -> list[Map]:
        if isinstance(value, Map):
            return [value]
        if isinstance(value, Seq) and all(isinstance(item, Map) for item in value):
            return list(value)
        raise refusal("a `<<` merge key takes a mapping or a list of mappings", (), at)


def parse_yaml(content: bytes, file: str) -> tuple[Map, int]:
    """The top-level mapping of a compose file and the number of nodes it holds.

    Raises:
        ComposeError: the file is too large, nests too deep, would expand past the bounds,
            holds too many services, is not YAML, or is not a mapping; named with its line.
    """
    if len(content) > MAX_FILE_BYTES:
        raise ComposeError(f"{file} is {len(content):,} bytes; a file may hold {MAX_FILE_BYTES:,}")
    builder = _Builder(file)
    try:
        for event in yaml.parse(content, Loader=_Loader):
            builder.event(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = Location(file, mark.line + 1) if mark is not None else None
        raise refusal(f"not valid YAML: {exc.problem or exc.context}", (), line) from exc
    except yaml.YAMLError as exc:
        raise ComposeError(f"{file} is not valid YAML: {exc}") from exc
    root = builder.root
    if root is None:
        root = Map()
    if not isinstance(root, Map):
        raise refusal(
            "a compose file is a mapping (services:, networks:...)", (), Location(file, 1)
        )
    within_services_bound(root)
    return root, builder.nodes


def within_services_bound(root: Map, counted: str = "") -> None:
    """Raises a `ComposeError` at `services` when `root` holds more than the bound."""
    services = root.get("services")
    if isinstance(services, Map) and len(services) > MAX_SERVICES:
        raise refusal(
            f"{len(services):,} services{counted}; a stack may hold {MAX_SERVICES}",
            ("services",),
            root.at.get("services"),
        )
