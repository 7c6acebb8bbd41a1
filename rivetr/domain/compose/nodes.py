"""The data of a compose file while it is read: mappings and sequences that remember the line of
each key and item, so that interpolation, merges and moves carry every place along with its
value; `finish` turns them into plain data and one `Where` at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final, Literal

from rivetr.domain.compose.where import ComposeError, DataPath, Location, Where

Mark = Literal["reset", "override"]
RESET: Final = "reset"  # `!reset`: the key is dropped, whatever a base gave it
OVERRIDE: Final = "override"  # `!override`: the value replaces a base's instead of merging


class Map(dict[str, Any]):
    """A mapping, with where each key was written and the `!reset`/`!override` tag of each
    key's value."""

    __slots__ = ("at", "marks")

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[str, Location] = {}
        self.marks: dict[str, Mark] = {}

    def put(self, key: str, value: Any, at: Location | None, mark: Mark | None = None) -> None:
        self[key] = value
        _place(self.at, key, at)
        if mark is None:
            self.marks.pop(key, None)
        else:
            self.marks[key] = mark

    def drop(self, key: str) -> None:
        self.pop(key, None)
        self.at.pop(key, None)
        self.marks.pop(key, None)

    def entries(self) -> Iterator[tuple[str, Any, Location | None]]:
        for key, value in list(self.items()):
            yield key, value, self.at.get(key)


class Seq(list[Any]):
    """A sequence, with where each item was written."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        super().__init__()
        self.at: list[Location | None] = []

    def push(self, value: Any, at: Location | None) -> None:
        self.append(value)
        self.at.append(at)

    def entries(self) -> Iterator[tuple[int, Any, Location | None]]:
        for index, value in enumerate(list(self)):
            yield index, value, self.at[index]


def _place(places: dict[str, Location], key: str, at: Location | None) -> None:
    if at is None:
        places.pop(key, None)
    else:
        places[key] = at


def clone(value: Any) -> tuple[Any, int]:
    """A deep copy of `value` (marks and places too) and the number of nodes it holds."""
    if isinstance(value, Map):
        copy, count = Map(), 1
        for key, item, at in value.entries():
            inner, size = clone(item)
            copy.put(key, inner, at, value.marks.get(key))
            count += size
        return copy, count
    if isinstance(value, Seq):
        listed, count = Seq(), 1
        for _, item, at in value.entries():
            inner, size = clone(item)
            listed.push(inner, at)
            count += size
        return listed, count
    return value, 1


def plain(value: Any) -> Any:
    """`value` as plain JSON-like data: what two definitions are compared on."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def finish(root: Map) -> tuple[dict[str, Any], Where]:
    """Plain data and the place of every node, keys tagged `!reset` dropped (nothing merged
    over them) and `!override` having done its work."""
    where = Where()

    def walk(value: Any, path: DataPath) -> Any:
        if isinstance(value, Map):
            out: dict[str, Any] = {}
            for key, item, at in value.entries():
                if value.marks.get(key) == RESET:
                    continue
                if at is not None:
                    where.add((*path, key), at)
                out[key] = walk(item, (*path, key))
            return out
        if isinstance(value, Seq):
            items: list[Any] = []
            for index, item, at in value.entries():
                if at is not None:
                    where.add((*path, index), at)
                items.append(walk(item, (*path, index)))
            return items
        return value

    return walk(root, ()), where


def refusal(problem: str, key: DataPath, at: Location | None) -> ComposeError:
    """A `ComposeError` naming `key`, written at `at` (when known)."""
    return ComposeError(problem, key=key, where=Where({key: at}) if at is not None else None)


def pairs(value: Seq, *, missing: Any, separator: str = "=") -> Map:
    """A list of `KEY=VALUE` items as a mapping (`environment`, `labels`, `args`...): a later
    item wins, an item without the separator maps to `missing`."""
    mapping = Map()
    for _, item, at in value.entries():
        key, found, rest = text_of(item).partition(separator)
        mapping.put(key, rest if found else missing, at)
    return mapping


def text_of(value: Any) -> str:
    """A scalar as Compose's Go code prints it: `true`, not `True`; nothing for null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
