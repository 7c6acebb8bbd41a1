"""Reading a projection's tables: the one way a row becomes a view Struct (by column name) and
the base of every projection's queries."""

from __future__ import annotations

import sqlite3
import types
import typing
from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

import aiosqlite
import msgspec

View = TypeVar("View", bound=msgspec.Struct)


def columns(view: type[msgspec.Struct], **sources: str) -> str:
    """The SELECT list that reads `view`: each field from the column of its name, or from the SQL
    expression `sources[field]`, named for the field."""
    return ", ".join(
        f'{sources.get(field, f"{field}")} AS "{field}"' for field in view.__struct_fields__
    )


def row_as(view: type[View], row: sqlite3.Row) -> View:
    """`view` from a row, each field from the column of its name. A field holding a Struct, a
    list or a dict is stored as JSON; SQLite's 0 and 1 become a bool field's value."""
    structured = _structured(view)
    values = {
        name: msgspec.json.decode(value) if name in structured and value is not None else value
        for name, value in zip(row.keys(), row, strict=True)
    }
    return msgspec.convert(values, view, strict=False)


@cache
def _structured(view: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(
        field.name for field in msgspec.structs.fields(view) if _is_structured(field.type)
    )


def _is_structured(kind: Any) -> bool:
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return True
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_is_structured(arm) for arm in typing.get_args(kind))
    return origin in (list, dict)


class Queries:
    """A projection's queries, on the read model's connection (rows by name: `sqlite3.Row`)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _rows(self, view: type[View], sql: str, params: Iterable[object] = ()) -> list[View]:
        return [row_as(view, row) for row in await self._conn.execute_fetchall(sql, params)]

    async def _row(self, view: type[View], sql: str, params: Iterable[object] = ()) -> View | None:
        found = await self._rows(view, sql, params)
        return found[0] if found else None

    async def _values(self, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))


def marks(values: Iterable[object]) -> str:
    """As many `?` as `values`, for `IN (...)`."""
    return ", ".join("?" for _ in values)
