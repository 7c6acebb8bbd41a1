"""Backups of the control plane against the real things: the log in SQLite copied while it is
written, a local directory and S3 (moto's server), then restored into an empty data directory
whose chain verifies and whose read model is rebuilt. A damaged, missing or wrongly decrypted
object is a refusal naming it; only an instance administrator may back up."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from rivetr.adapters.backup_targets.local import LocalDirectoryTarget
from rivetr.adapters.backup_targets.s3 import S3Target
from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.export import verify_store
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain import backup_schedule
from rivetr.domain.access import ROLE_PERMISSIONS, SYSTEM, Actor
from rivetr.domain.control_plane import (
    BackUpControlPlane,
    ControlPlaneScheduleInput,
    SetControlPlaneSchedules,
)
from rivetr.domain.control_plane_events import STREAM
from rivetr.domain.database_commands import S3Input, SetBackupTarget
from rivetr.domain.errors import Forbidden, InvalidCommand
from rivetr.domain.events import TeamCreated
from rivetr.service.reactors.control_plane_restore import (
    RestoreStepFailed,
    backups_on,
    restore_into,
)
from tests.s3server import S3Server, moto_s3_server

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PASSPHRASE = "correct horse battery staple"
CERT = b"-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    opened = await Services.open(
        Settings(data_dir=str(tmp_path / "data"), engine="none", proxy_enabled=False)
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        yield server


def local_target(services: Services) -> LocalDirectoryTarget:
    return LocalDirectoryTarget(services.settings.backups_path / "default" / "local")


async def encrypted_local(services: Services) -> None:
    await services.backups.set_target(
        SYSTEM, SetBackupTarget(team="default", name="local", encryption_passphrase=PASSPHRASE)
    )


async def backed_up(services: Services, **command: Any) -> Any:
    backup_id = await services.control_plane.back_up(
        SYSTEM, BackUpControlPlane(**command), taken_by="cli"
    )
    return await services.control_plane_backups.take(backup_id)


def with_certificate(services: Services) -> Path:
    certs = services.settings.data_path / "certs"
    certs.mkdir(mode=0o700, exist_ok=True)
    (certs / "shop.example.test.crt").write_bytes(CERT)
    (certs / "shop.example.test.key").write_bytes(b"the private key")
    return certs


async def test_a_backup_is_proven_then_restores_log_certificates_and_key(
    services: Services, tmp_path: Path
) -> None:
    await encrypted_local(services)
    sealed = services.secrets.seal("probe", "a sealed value")  # makes secrets.key
    with_certificate(services)

    backup = await backed_up(services, with_key=True)

    assert backup.status == "verified", backup.failure
    assert backup.stored.head_position >= 2
    assert {f.name for f in backup.stored.files} == {
        "events.db.enc",
        "certs.tar.enc",
        "secrets.key.enc",
    }
    steps = [r.type for r in await services.store.read_stream(STREAM)]
    assert steps == [
        "control_plane.backup_requested",
        "control_plane.backup_stored",
        "control_plane.backup_read_back",
        "control_plane.backup_verified",
    ]
    stored = local_target(services).path / backup.stored.prefix
    assert b"sealed value" not in (stored / "secrets.key.enc").read_bytes()
    assert b"BEGIN CERTIFICATE" not in (stored / "certs.tar.enc").read_bytes()

    new = tmp_path / "new-machine"
    restored = await restore_into(
        local_target(services),
        backup.stored.prefix,
        new,
        PASSPHRASE,
        record=EventMeta(actor="cli:test", source="cli"),
    )

    assert restored.events == backup.stored.head_position
    assert (new / "secrets.key").read_bytes() == services.secrets.key_file.read_bytes()
    assert (new / "certs" / "shop.example.test.crt").read_bytes() == CERT
    assert (new / "certs" / "shop.example.test.key").stat().st_mode & 0o077 == 0
    again = await Services.open(Settings(data_dir=str(new), engine="none", proxy_enabled=False))
    try:
        assert again.secrets.open("probe", sealed) == "a sealed value"
        assert await verify_store(again.store) == backup.stored.head_position + 1
        last = (await again.store.read_all(after=backup.stored.head_position))[0]
        assert last.type == "control_plane.restored"
        assert last.actor == "cli:test"
    finally:
        await again.close()


async def test_a_wrong_passphrase_is_refused_naming_the_object_and_nothing_is_put_in_place(
    services: Services, tmp_path: Path
) -> None:
    await encrypted_local(services)
    backup = await backed_up(services)

    with pytest.raises(RestoreStepFailed) as refused:
        await restore_into(local_target(services), backup.stored.prefix, tmp_path / "n", "nope")

    assert refused.value.step == "decrypt"
    assert "events.db.enc" in refused.value.reason
    assert "passphrase" in refused.value.reason
    assert list((tmp_path / "n").iterdir()) == []


async def test_a_damaged_object_is_refused_by_its_sha256(
    services: Services, tmp_path: Path
) -> None:
    backup = await backed_up(services)
    copy = local_target(services).path / backup.stored.prefix / "events.db"
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0xFF
    copy.write_bytes(bytes(data))

    with pytest.raises(RestoreStepFailed) as refused:
        await restore_into(local_target(services), backup.stored.prefix, tmp_path / "n", None)

    assert refused.value.step == "check"
    assert f"{backup.stored.prefix}/events.db is damaged" in refused.value.reason
    assert not (tmp_path / "n" / "events.db").exists()


async def test_a_missing_object_is_refused_naming_it(services: Services, tmp_path: Path) -> None:
    backup = await backed_up(services)
    (local_target(services).path / backup.stored.prefix / "certs.tar").unlink()

    with pytest.raises(RestoreStepFailed) as refused:
        await restore_into(local_target(services), backup.stored.prefix, tmp_path / "n", None)

    assert refused.value.step == "fetch"
    assert f"{backup.stored.prefix}/certs.tar" in refused.value.reason


async def test_a_backup_taken_during_a_write_storm_is_consistent(
    services: Services, tmp_path: Path
) -> None:
    stop, busy = asyncio.Event(), asyncio.Event()
    written = 0

    async def storm(n: int) -> None:
        nonlocal written
        while not stop.is_set():
            event = TeamCreated(team=f"t{n}-{written}", name="storm", owner="u")
            await services.store.append(f"storm-{n}", None, [event], EventMeta(actor="test"))
            written += 1
            if written >= 200:
                busy.set()

    writers = [asyncio.create_task(storm(n)) for n in range(4)]
    try:
        await busy.wait()
        backup = await backed_up(services)
    finally:
        stop.set()
        await asyncio.gather(*writers)

    assert backup.status == "verified", backup.failure
    restored = await restore_into(
        local_target(services), backup.stored.prefix, tmp_path / "n", None
    )
    assert restored.events == backup.stored.head_position
    assert await services.store.head() > backup.stored.head_position  # it went on meanwhile


async def test_a_target_that_cannot_store_fails_the_backup_at_store_with_the_cause(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        engine="none",
        proxy_enabled=False,
        backups_dir=str(tmp_path / "unmounted"),
    )
    services = await Services.open(settings)
    try:
        backup = await backed_up(services)
    finally:
        await services.close()

    assert (backup.status, backup.failed_step) == ("failed", "store")
    assert "does not exist (is its disk mounted?)" in (backup.failure or "")


async def test_a_backup_to_s3_with_the_key_restores_from_s3(
    services: Services, s3: S3Server, tmp_path: Path
) -> None:
    s3.boto3().create_bucket(Bucket="instance")  # type: ignore[attr-defined]
    place = S3Input(
        endpoint=s3.endpoint,
        bucket="instance",
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        prefix="rivetr",
        path_style=True,
    )
    await services.backups.set_target(
        SYSTEM,
        SetBackupTarget(team="default", name="offsite", s3=place, encryption_passphrase=PASSPHRASE),
    )
    services.secrets.seal("probe", "made")

    backup = await backed_up(services, target="offsite", with_key=True)

    assert backup.status == "verified", backup.failure
    target = S3Target(**msgspec.structs.asdict(place))
    assert await backups_on(target) == [backup.stored.prefix]
    restored = await restore_into(target, backup.stored.prefix, tmp_path / "n", PASSPHRASE)
    assert restored.with_key
    assert (tmp_path / "n" / "secrets.key").read_bytes() == services.secrets.key_file.read_bytes()


def team_admin(team: str) -> Actor:
    return Actor(
        kind="user", id="u1", name="ada", user="u1", teams={team: ROLE_PERMISSIONS["admin"]}
    )


async def test_only_an_instance_admin_backs_up_lists_or_schedules_the_control_plane(
    services: Services,
) -> None:
    other = team_admin("acme")
    with pytest.raises(Forbidden, match="only an instance admin"):
        await services.control_plane.back_up(other, BackUpControlPlane())
    with pytest.raises(Forbidden, match="only an instance admin"):
        await services.control_plane.set_schedules(other, SetControlPlaneSchedules())
    with pytest.raises(Forbidden):
        await services.control_plane.backups(other)
    assert await services.store.read_stream(STREAM) == []

    backup_id = await services.control_plane.back_up(team_admin("default"), BackUpControlPlane())
    assert [b.backup_id for b in await services.control_plane.backups(SYSTEM)] == [backup_id]


async def test_the_key_is_refused_where_no_passphrase_would_encrypt_it(
    services: Services,
) -> None:
    with pytest.raises(InvalidCommand, match="no encryption passphrase") as refused:
        await services.control_plane.back_up(SYSTEM, BackUpControlPlane(with_key=True))
    assert refused.value.field == "with_key"

    schedule = ControlPlaneScheduleInput(cron="0 3 * * *", with_key=True)
    with pytest.raises(InvalidCommand) as refused:
        await services.control_plane.set_schedules(
            SYSTEM, SetControlPlaneSchedules(schedules=[schedule])
        )
    assert refused.value.field == "schedules[0].with_key"


async def test_a_schedule_names_a_valid_cron_and_a_target_of_the_instance(
    services: Services,
) -> None:
    for given, field in (
        (ControlPlaneScheduleInput(cron="0 25 * * *"), "schedules[0].schedule"),
        (ControlPlaneScheduleInput(cron="@daily", timezone="Mars/Base"), "schedules[0].time_zone"),
        (ControlPlaneScheduleInput(cron="@daily", target="offsite"), "schedules[0].target"),
    ):
        with pytest.raises(InvalidCommand) as refused:
            await services.control_plane.set_schedules(
                SYSTEM, SetControlPlaneSchedules(schedules=[given])
            )
        assert refused.value.field == field, refused.value


async def ended(services: Services, backup_id: str) -> Any:
    """The backup once it is verified or failed (the service's reactor takes it)."""
    with anyio.fail_after(10):
        while True:
            backup = await services.control_plane_backups.state(backup_id)
            if backup is not None and backup.status in ("verified", "failed"):
                return backup
            await anyio.sleep(0.05)


async def test_the_service_takes_the_backups_asked_of_it(services: Services) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(services.control_plane_reactor.run, await services.store.head())
        backup_id = await services.control_plane.back_up(SYSTEM, BackUpControlPlane())
        backup = await ended(services, backup_id)
        group.cancel_scope.cancel()

    assert backup.status == "verified", backup


async def test_a_schedule_asks_for_a_backup_once_its_time_comes(services: Services) -> None:
    schedule = ControlPlaneScheduleInput(cron="0 3 * * *", timezone="Europe/Berlin")
    await services.control_plane.set_schedules(
        SYSTEM, SetControlPlaneSchedules(schedules=[schedule])
    )
    set_at = datetime.fromisoformat((await services.control_plane.schedules(SYSTEM)).set_at or "")
    due = backup_schedule.next_after("0 3 * * *", "Europe/Berlin", set_at)
    reactor = services.control_plane_reactor

    assert await reactor.tick(due - timedelta(seconds=1)) == []
    asked = await reactor.tick(due + timedelta(seconds=1))

    assert len(asked) == 1
    [view] = await services.control_plane.backups(SYSTEM)
    assert (view.backup_id, view.reason, view.taken_by) == (asked[0], "schedule", "service")


async def test_a_backup_the_service_left_half_done_is_failed_and_swept_at_its_next_start(
    services: Services,
) -> None:
    left = services.settings.data_path / ".scratch-killed"
    (left / "data").mkdir(parents=True)
    os.utime(left, (0, 0))
    in_use = services.settings.data_path / ".scratch-in-use"
    in_use.mkdir()
    by_service = await services.control_plane.back_up(SYSTEM, BackUpControlPlane())
    by_cli = await services.control_plane.back_up(SYSTEM, BackUpControlPlane(), taken_by="cli")

    assert await services.control_plane_reactor.fail_interrupted() == [by_service]

    failed = await services.control_plane_backups.state(by_service)
    assert failed is not None
    assert (failed.status, failed.failed_step) == ("failed", "copy")
    assert failed.failure == "Rivetr stopped before the backup was finished"
    still = await services.control_plane_backups.state(by_cli)
    assert still is not None
    assert still.status == "requested"  # its own process ends it
    assert not left.exists()
    assert in_use.exists()


async def test_the_targets_retention_keeps_the_newest_verified_backups_and_deletes_the_rest(
    services: Services,
) -> None:
    await services.backups.set_target(
        SYSTEM, SetBackupTarget(team="default", name="local", keep_last=1)
    )
    first = await backed_up(services)
    assert (first.status, first.deleted) == ("verified", False)
    assert first.stored is not None
    target = local_target(services)
    assert await target.list(first.stored.prefix + "/")

    second = await backed_up(services)

    assert second.status == "verified"
    listed = {b.backup_id: b for b in await services.control_plane.every()}
    assert (listed[first.backup_id].deleted, listed[second.backup_id].deleted) == (True, False)
    assert await target.list(first.stored.prefix + "/") == []  # its objects are gone
    assert second.stored is not None
    assert await target.list(second.stored.prefix + "/")
    [deletion] = [
        r.event
        for r in await services.store.read_stream("control-plane")
        if r.type == "control_plane.backup_deleted"
    ]
    assert deletion.backup_id == first.backup_id
    assert "retention" in deletion.reason
