"""The data directory's files are owner-only (0600, folders 0700) whatever the umask, and what
an older version left readable is tightened when it is opened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from rivetr.adapters.certs import CertificateStore
from rivetr.adapters.eventstore import EventMeta
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.logs import LogStore
from rivetr.adapters.private_files import tighten_tree
from rivetr.domain.events import EngineLost


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that takes nothing away: only chmod can make the files private."""
    before = os.umask(0)
    yield
    os.umask(before)


@pytest.mark.integration
@pytest.mark.anyio
async def test_the_event_log_and_its_wal_and_shm_are_owner_only(
    tmp_path: Path, open_umask: None, anyio_backend: str
) -> None:
    path = tmp_path / "events.db"
    store = await SqliteEventStore.open(path)
    try:
        await store.append("engine", None, [EngineLost(reason="test")], EventMeta(actor="t"))
        files = [path, tmp_path / "events.db-wal", tmp_path / "events.db-shm"]
        assert [mode(f) for f in files] == [0o600] * 3
    finally:
        await store.close()


@pytest.mark.integration
@pytest.mark.anyio
async def test_an_event_log_left_readable_is_tightened_when_opened(
    tmp_path: Path, anyio_backend: str
) -> None:
    path = tmp_path / "events.db"
    await (await SqliteEventStore.open(path)).close()
    for name in ("events.db", "events.db-wal"):
        (tmp_path / name).touch()
        os.chmod(tmp_path / name, 0o644)

    store = await SqliteEventStore.open(path)
    try:
        assert mode(path) == 0o600
        assert mode(tmp_path / "events.db-wal") == 0o600
    finally:
        await store.close()


def test_deployment_logs_are_written_owner_only(tmp_path: Path, open_umask: None) -> None:
    logs = LogStore(tmp_path / "logs")
    log = logs.open("web", "d1")
    log.write("build", "a secret printed by a build step")
    log.close()

    assert mode(tmp_path / "logs") == 0o700
    assert mode(tmp_path / "logs" / "web") == 0o700
    assert mode(logs.path("web", "d1")) == 0o600


def test_a_log_left_readable_is_tightened_when_appended_to(tmp_path: Path) -> None:
    logs = LogStore(tmp_path / "logs")
    logs.append("web", "d1", "build", "one")
    os.chmod(logs.path("web", "d1"), 0o644)

    logs.append("web", "d1", "build", "two")

    assert mode(logs.path("web", "d1")) == 0o600
    assert logs.read("web", "d1") == "build| one\nbuild| two\n"


def test_the_certificate_folder_is_owner_only(tmp_path: Path, open_umask: None) -> None:
    CertificateStore(tmp_path / "certs").save("example.com", b"chain", b"key")

    assert mode(tmp_path / "certs") == 0o700
    assert {mode(p) for p in (tmp_path / "certs").iterdir()} == {0o600}


def test_tightening_a_tree_leaves_what_a_link_points_to_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    os.chmod(outside, 0o644)
    root = tmp_path / "logs"
    (root / "web").mkdir(parents=True, mode=0o755)
    (root / "web" / "d1.log").write_text("x")
    os.chmod(root / "web" / "d1.log", 0o644)
    (root / "web" / "link.log").symlink_to(outside)

    tighten_tree(root)

    assert (mode(root), mode(root / "web"), mode(root / "web" / "d1.log")) == (0o700,) * 2 + (
        0o600,
    )
    assert mode(outside) == 0o644
