"""The notifications view: each team's channels (their sealed URLs with them, for the notifier)
and every notice sent on one, delivered or failed. The notifier reads here where each channel
stands: the last event a settled notice told of, and whether a notice's key was settled."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import TeamCreated, TeamDeleted
from rivetr.domain.notification_events import (
    ChannelKind,
    ChannelRemoved,
    ChannelSet,
    NoticeDelivered,
    NoticeFailed,
    NoticeKind,
)
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns, marks


class NotificationsProjection:
    name = "notifications"
    version = 1
    handles: frozenset[str] | None = tags(
        ChannelSet, ChannelRemoved, NoticeDelivered, NoticeFailed, TeamCreated, TeamDeleted
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS notify_channels (
                channel_id TEXT PRIMARY KEY,
                team TEXT NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                url TEXT NOT NULL,
                signing_secret TEXT,
                notices TEXT NOT NULL,
                projects TEXT NOT NULL,
                environments TEXT NOT NULL,
                made_at INTEGER NOT NULL,
                set_at TEXT NOT NULL,
                set_by TEXT NOT NULL
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS notify_deliveries (
                position INTEGER PRIMARY KEY,
                recorded_at TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                team TEXT NOT NULL,
                channel TEXT NOT NULL,
                key TEXT NOT NULL,
                notice TEXT NOT NULL,
                title TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                delivered INTEGER NOT NULL,
                reason TEXT,
                settled INTEGER NOT NULL,
                source_position INTEGER
            )"""
        )
        conn.execute(
            "CREATE INDEX IF NOT EXISTS notify_by_key ON notify_deliveries (channel_id, key)"
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS notify_channels")
        conn.execute("DROP TABLE IF EXISTS notify_deliveries")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case ChannelSet():
                held = conn.execute(
                    "SELECT made_at FROM notify_channels WHERE channel_id = ?", (body.channel_id,)
                ).fetchone()
                conn.execute(
                    "INSERT OR REPLACE INTO notify_channels"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        body.channel_id,
                        body.team,
                        body.name,
                        body.kind,
                        body.url,
                        body.signing_secret,
                        _json(body.on),
                        _json(body.projects),
                        _json(body.environments),
                        held[0] if held else event.position,
                        event.recorded_at,
                        event.actor,
                    ),
                )
            case ChannelRemoved():
                conn.execute("DELETE FROM notify_channels WHERE channel_id = ?", (body.channel_id,))
            case TeamCreated() | TeamDeleted():  # nothing carries over to a team made again
                conn.execute("DELETE FROM notify_channels WHERE team = ?", (body.team,))
            case NoticeDelivered() | NoticeFailed():
                delivered = isinstance(body, NoticeDelivered)
                conn.execute(
                    "INSERT INTO notify_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.position,
                        event.recorded_at,
                        body.channel_id,
                        body.team,
                        body.channel,
                        body.key,
                        body.notice,
                        body.title,
                        body.attempt,
                        delivered,
                        None if isinstance(body, NoticeDelivered) else body.reason,
                        delivered or (isinstance(body, NoticeFailed) and body.final),
                        body.source_position,
                    ),
                )


def _json(values: Sequence[str]) -> str:
    return msgspec.json.encode(values).decode()


class ChannelView(msgspec.Struct, frozen=True, kw_only=True):
    channel_id: str
    team: str
    name: str
    kind: ChannelKind
    url: str  # sealed
    signing_secret: str | None  # sealed
    on: list[NoticeKind]
    projects: list[str]
    environments: list[str]
    made_at: int  # the position it was made at: it is told of the events after that
    set_at: str
    set_by: str

    def as_set(self) -> ChannelSet:
        return ChannelSet(
            team=self.team,
            name=self.name,
            channel_id=self.channel_id,
            kind=self.kind,
            url=self.url,
            signing_secret=self.signing_secret,
            on=self.on,
            projects=self.projects,
            environments=self.environments,
        )


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    recorded_at: str
    channel_id: str
    team: str
    channel: str
    key: str
    notice: NoticeKind
    title: str
    attempt: int
    outcome: Literal["delivered", "failed", "retrying"]
    reason: str | None
    source_position: int | None


_CHANNEL = f"SELECT {columns(ChannelView, on='notices')} FROM notify_channels"
_DELIVERY = (
    "SELECT "
    + columns(
        DeliveryView,
        outcome="CASE WHEN delivered THEN 'delivered' WHEN settled THEN 'failed'"
        " ELSE 'retrying' END",
    )
    + " FROM notify_deliveries"
)


class NotificationQueries(Queries):
    async def channels(self, teams: Iterable[str] | None = None) -> list[ChannelView]:
        """Every channel, or those of `teams`, by team and name."""
        if teams is None:
            return await self._rows(ChannelView, f"{_CHANNEL} ORDER BY team, name")
        chosen = list(teams)
        return await self._rows(
            ChannelView,
            f"{_CHANNEL} WHERE team IN ({marks(chosen)}) ORDER BY team, name",
            chosen,
        )

    async def channel(self, team: str, name: str) -> ChannelView | None:
        return await self._row(ChannelView, f"{_CHANNEL} WHERE team = ? AND name = ?", (team, name))

    async def deliveries(self, channel_id: str, limit: int = 20) -> list[DeliveryView]:
        """The channel's latest attempts, newest first."""
        return await self._rows(
            DeliveryView,
            f"{_DELIVERY} WHERE channel_id = ? ORDER BY position DESC LIMIT ?",
            (channel_id, limit),
        )

    async def told_through(self, channel_id: str) -> int | None:
        """The last event a settled notice on the channel told of: the notifier takes each
        channel's notices in the order of the log, so every one before it is settled too."""
        rows = await self._values(
            "SELECT MAX(source_position) FROM notify_deliveries WHERE channel_id = ? AND settled",
            (channel_id,),
        )
        found = rows[0][0] if rows else None
        return int(found) if found is not None else None

    async def settled(self, channel_id: str, key: str) -> bool:
        rows = await self._values(
            "SELECT 1 FROM notify_deliveries WHERE channel_id = ? AND key = ? AND settled LIMIT 1",
            (channel_id, key),
        )
        return bool(rows)

    async def attempts(self, channel_id: str, key: str) -> int:
        """How many times the notice was tried on the channel (its next attempt's number - 1)."""
        rows = await self._values(
            "SELECT MAX(attempt) FROM notify_deliveries WHERE channel_id = ? AND key = ?",
            (channel_id, key),
        )
        return int(rows[0][0] or 0) if rows else 0
