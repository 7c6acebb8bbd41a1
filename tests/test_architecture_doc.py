"""docs/ARCHITECTURE.md keeps up with the code: its package table names every package (and only
those), its projections and aggregates are the ones registered, each projection with the tables
it creates, and it links nothing outside the repository."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from rivetr.domain.aggregates import ALL
from rivetr.projections.registry import all_projections

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text()


def section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end >= 0 else None]


def table_rows(text: str) -> list[list[str]]:
    """The cells of each table row (not the header's separator) in `text`."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:] if rows else []  # without the header


def named(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_package_table_names_every_package_and_nothing_else() -> None:
    listed = {name for row in table_rows(section("Packages")) for name in named(row[0])}
    packages = {
        str(init.parent.relative_to(ROOT))
        for init in (ROOT / "rivetr").rglob("__init__.py")
        if "__pycache__" not in init.parts and init.parent != ROOT / "rivetr"
    }
    assert packages - listed == set(), "packages the table lacks"
    missing = sorted(name for name in listed if not (ROOT / name).exists())
    assert not missing, f"the table names what does not exist: {missing}"


def test_the_projections_are_the_registered_ones_with_the_tables_they_create() -> None:
    rows = {
        named(row[0])[0]: set(named(row[1]))
        for row in table_rows(section("Projections (`read.db`)"))
    }
    conn = sqlite3.connect(":memory:")
    created: dict[str, set[str]] = {}
    for projection in all_projections():
        before = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        projection.create(conn)
        after = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        created[projection.name] = after - before
    assert list(rows) == [p.name for p in all_projections()]
    assert rows == created


def test_the_aggregates_are_the_described_ones() -> None:
    rows = table_rows(section("Commands and authorisation"))
    listed = [named(row[0])[0] for row in rows]
    assert listed == [aggregate.name for aggregate in ALL]
    for row, aggregate in zip(rows, ALL, strict=True):  # `app-<id>`: the stream of key ""
        assert named(row[1])[0].partition("<")[0] == aggregate.stream_id(""), aggregate.name


def test_it_links_nothing_outside_the_repository() -> None:
    outside = [
        target
        for target in re.findall(r"\]\(([^)]+)\)", DOC)
        if target.startswith(("http:", "https:", "/", ".."))
        or not (ROOT / "docs" / target).exists()
    ]
    assert not outside
    assert "../" not in DOC, "a path that leaves the repository"


def test_it_has_the_four_recipes() -> None:
    recipes = section("Recipes")
    for what in ("an event", "a projection", "a command", "an adapter"):
        assert f"### Adding {what}\n" in recipes
