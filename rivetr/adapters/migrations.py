"""Numbered SQL migrations (migrations/<db>/NNNN_name.sql) applied once, in order, each in its
own transaction, with the applied version recorded in the database itself."""

from __future__ import annotations

import functools
import re
import sqlite3
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations_dir(database: str) -> Path:
    """Where the migrations for `database` live: inside the installed package, or at the top of a
    source checkout (an editable install)."""
    packaged = Path(str(resources.files("rivetr"))) / "_migrations" / database
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "migrations" / database
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"no migrations for {database!r} in {packaged} or {checkout}")


@functools.cache
def log_schema() -> int:
    """The event log's schema version this code writes: its newest migration's number."""
    names = (_NAME.match(path.name) for path in migrations_dir("events").iterdir())
    return max(int(name.group(1)) for name in names if name)


def pending(conn: sqlite3.Connection, folder: Path) -> list[tuple[int, Path]]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    found = []
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if match and int(match.group(1)) not in applied:
            found.append((int(match.group(1)), path))
    return found


def migrate(conn: sqlite3.Connection, database: str) -> list[int]:
    """Apply every pending migration of `database`; return the versions applied."""
    done = []
    for version, path in pending(conn, migrations_dir(database)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would COMMIT first; run statement by statement inside our transaction
            for statement in _statements(path.read_text()):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, path.name, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        done.append(version)
    return done


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement knows about
    BEGIN...END in triggers, which a naive split on ';' does not)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        raise ValueError(f"incomplete SQL statement at the end of the script: {current!r}")
    return statements
