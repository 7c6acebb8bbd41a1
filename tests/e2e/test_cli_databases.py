"""`rivetr db` and `rivetr backup-targets` on a data directory, as an operator scripts them:
each change asked for through the services (the steps a reactor would record are written by
the test), `--json` the API's answer, a refusal said on stderr with a non-zero exit status, and
`--wait` following a backup or a restore until it ends."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.bootstrap import opened
from rivetr.config import Settings
from tests.e2e.conftest import rivetr_command, run_cli
from tests.web.database_steps import backed_up, running

pytestmark = pytest.mark.e2e


def on(data: Path, step: Any, *args: Any) -> None:
    """Run a step of the tests' reactors on the data directory, as `rivetr serve` would."""

    async def run() -> None:
        settings = Settings(data_dir=str(data), engine="none", proxy_enabled=False)
        async with opened(settings) as services:
            await step(services, *args)

    asyncio.run(run())


async def nothing(_: Any) -> None:
    """Opening the services is enough: a data directory where `rivetr serve` has run."""


def made(data: Path, *args: str) -> dict[str, Any]:
    if not data.exists():
        on(data, nothing)
    answer = run_cli(data, "db", "create", *args, "--json")
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_a_database_is_made_listed_shown_asked_to_stop_and_deleted(tmp_path) -> None:
    data = tmp_path / "data"
    db = made(data, "pg", "--kind", "postgres", "--public-port", "15432")
    assert (db["name"], db["status"], db["public_port"]) == ("pg", "starting", 15432)
    listed = run_cli(data, "db", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split("\t")[:5] == [
        db["database_id"],
        "pg",
        "default/default/production",
        "postgres 16",
        "starting",
    ]
    assert "last verified backup: never" in listed.stdout
    on(data, running, db["database_id"])
    stopped = run_cli(data, "db", "stop", db["database_id"], "--json")
    assert json.loads(stopped.stdout)["wanted"] == "stopped"
    shown = json.loads(run_cli(data, "db", "show", db["database_id"], "--json").stdout)
    assert shown["status"] == "stopping"
    scheduled = run_cli(data, "db", "schedule", db["database_id"], "--cron", "0 3 * * *", "--json")
    assert scheduled.returncode == 0, scheduled.stderr
    assert json.loads(scheduled.stdout)["schedules"][0]["cron"] == "0 3 * * *"
    cleared = run_cli(data, "db", "schedule", db["database_id"], "--clear", "--json")
    assert json.loads(cleared.stdout)["schedules"] == []
    gone = run_cli(data, "db", "delete", db["database_id"], "--drop-volume")
    assert gone.returncode == 0, gone.stderr
    assert "its volume deleted too" in gone.stderr
    assert run_cli(data, "db", "list").stdout == ""


def test_what_is_refused_exits_non_zero_saying_why(tmp_path) -> None:
    data = tmp_path / "data"
    db = made(data, "pg", "--kind", "postgres")
    twice = run_cli(data, "db", "create", "pg", "--kind", "redis")
    assert twice.returncode == 1
    assert "already has a database named 'pg'" in twice.stderr
    system = run_cli(data, "db", "create", "cache", "--kind", "redis", "--public-port", "22")
    assert system.returncode == 1
    assert "system port" in system.stderr
    unknown = run_cli(data, "db", "show", "aaaaaaaaaaaa")
    assert unknown.returncode == 1
    assert "no database with id aaaaaaaaaaaa" in unknown.stderr
    typo = run_cli(data, "db", "show", "not-an-id")
    assert typo.returncode == 2
    starting = run_cli(data, "db", "backup", db["database_id"])
    assert starting.returncode == 1
    assert "is starting" in starting.stderr
    neither = run_cli(data, "db", "schedule", db["database_id"])
    assert neither.returncode == 2


def test_a_backup_is_waited_for_and_its_failure_said_and_a_restore_followed(tmp_path) -> None:
    data = tmp_path / "data"
    db = made(data, "pg", "--kind", "postgres")
    on(data, running, db["database_id"])

    failing = follow(data, "db", "backup", db["database_id"], "--wait", "--timeout", "60")
    on(data, backed_up, failing.id, "failed")
    assert failing.ended() == 1
    assert f"backup {failing.id} failed: dump: pg_dump exited 1" in failing.stderr

    good = follow(data, "db", "backup", db["database_id"], "--wait", "--timeout", "60")
    on(data, backed_up, good.id, "verified")
    assert good.ended() == 0, good.stderr
    assert "backup.verified" in good.stderr
    listed = run_cli(data, "db", "backups", db["database_id"])
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        [good.id, "verified"],
        [failing.id, "failed"],
    ]

    refused = run_cli(data, "db", "restore", failing.id, "--dry-run")
    assert refused.returncode == 1
    assert "pg_dump exited 1" in refused.stderr
    dry = run_cli(data, "db", "restore", good.id, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "back up the live data of 'pg'" in dry.stderr
    assert dry.stdout == "dry run: nothing was done\n"
    restoring = follow(data, "db", "restore", good.id, "--wait", "--timeout", "60")
    on(data, restored, restoring.id)
    assert restoring.ended() == 0, restoring.stderr
    assert f"restore {restoring.id} completed" in restoring.stderr


async def restored(services: Any, restore_id: str) -> None:
    from rivetr.adapters.eventstore.base import EventMeta
    from rivetr.domain.backups import restore_stream
    from rivetr.domain.database_events import RestoreCompleted

    done = RestoreCompleted(restore_id=restore_id, counts={"public.orders": 3})
    await services.store.append(restore_stream(restore_id), None, [done], EventMeta(actor="t"))


class follow:  # read as a verb where it is used
    """A CLI command with --wait, running: the id it printed first, and how it ended."""

    def __init__(self, data: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            rivetr_command(*args, "--data-dir", str(data)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.id = self.process.stdout.readline().strip()
        self.stderr = ""

    def ended(self) -> int:
        _, self.stderr = self.process.communicate(timeout=60)
        return self.process.returncode


def test_backup_targets_take_their_secrets_from_the_environment_or_stdin(tmp_path) -> None:
    data = tmp_path / "data"
    made(data, "pg", "--kind", "postgres")
    s3 = ["--s3-endpoint", "https://s3.example.com", "--bucket", "backups"]
    s3 += ["--access-key", "AKIAEXAMPLE", "--path-style", "--keep-last", "7"]
    env = {"RIVETR_S3_SECRET_KEY": "the-secret-key"}
    put = run_cli(data, "backup-targets", "set", "offsite", *s3, "--json", env=env)
    assert put.returncode == 0, put.stderr
    assert (json.loads(put.stdout)["bucket"], json.loads(put.stdout)["keep_last"]) == (
        "backups",
        7,
    )
    piped = subprocess.run(
        rivetr_command("backup-targets", "set", "vault", *s3, "--encrypt", "--data-dir", str(data)),
        input="another-secret\na long passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    listed = run_cli(data, "backup-targets", "list")
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        "local",
        "offsite",
        "vault",
    ]
    assert "\tencrypted" in listed.stdout.splitlines()[2]
    log = (data / "events.db").read_bytes()
    for secret in (b"the-secret-key", b"another-secret", b"a long passphrase"):
        assert secret not in log
    local = run_cli(data, "backup-targets", "remove", "local")
    assert local.returncode == 1
    assert "every team keeps its local target" in local.stderr
    assert run_cli(data, "backup-targets", "remove", "vault").returncode == 0


@pytest.mark.anyio
@pytest.mark.integration
@pytest.mark.docker
async def test_db_logs_prints_what_the_database_server_wrote(tmp_path) -> None:
    from tests.integration.test_database_backups import create_running
    from tests.integration.test_database_backups import opened as serving

    data = tmp_path / "data"
    async with serving(tmp_path) as services:
        database_id = await create_running(services, "redis", "cache")

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return run_cli(data, "db", *args, env={"RIVETR_ENGINE": "docker"})

        last = await anyio.to_thread.run_sync(cli, "logs", database_id, "--tail", "50")
        none = await anyio.to_thread.run_sync(cli, "logs", "aaaaaaaaaaaa")
        typo = await anyio.to_thread.run_sync(cli, "logs", "not-an-id")

    assert last.returncode == 0, last.stderr
    assert "Ready to accept connections" in last.stdout
    assert (none.returncode, typo.returncode) == (1, 2)
    assert "no database with id aaaaaaaaaaaa" in none.stderr


class _EngineGoneMidRead:
    """An engine that answered when connected, then went away (dockerd restarted, say)."""

    async def container_logs(self, name_or_id: str, tail: int = 100) -> str:
        from rivetr.adapters.runtime.base import EngineUnavailable

        raise EngineUnavailable(f"the container engine stopped answering ({name_or_id})")

    async def close(self) -> None:
        pass


def test_db_logs_says_so_when_the_engine_goes_away_mid_read(tmp_path, monkeypatch, capsys) -> None:
    import argparse

    from rivetr.cli import databases

    data = tmp_path / "data"
    db = made(data, "cache", "--kind", "redis")

    async def connect(_: Settings) -> _EngineGoneMidRead:
        return _EngineGoneMidRead()

    monkeypatch.setattr(databases, "connect_engine", connect)
    settings = Settings(data_dir=str(data), engine="none", proxy_enabled=False)
    args = argparse.Namespace(id=db["database_id"], tail=10)
    assert asyncio.run(databases._logs(settings, args)) == 1
    assert "stopped answering" in capsys.readouterr().err


def test_secrets_rotate_seals_database_passwords_and_target_secrets_again(tmp_path) -> None:
    from rivetr.domain.aggregates import BACKUP_TARGETS
    from rivetr.service.commands.databases import password_context, target_context
    from rivetr.service.commands.handler import folded

    data = tmp_path / "data"
    db = made(data, "shop", "--kind", "mariadb")  # a password, and its root's
    s3 = ["--s3-endpoint", "https://s3.example.com", "--bucket", "backups", "--access-key", "AK"]
    secrets = {"RIVETR_S3_SECRET_KEY": "the-secret-key", "RIVETR_BACKUP_PASSPHRASE": "a passphrase"}
    put = run_cli(data, "backup-targets", "set", "vault", *s3, "--encrypt", env=secrets)
    assert put.returncode == 0, put.stderr
    opened_values: list[tuple[str, ...]] = []

    async def open_all(services: Any) -> None:
        state = await services.databases.database(db["database_id"])
        targets = await folded(services.store, BACKUP_TARGETS.at("default"))
        vault = targets.targets["vault"]
        assert vault.s3 is not None
        box = services.secrets
        opened_values.append(
            (
                box.open(password_context(state.database_id), state.password),
                box.open(password_context(state.database_id, "root_password"), state.root_password),
                box.open(target_context("default", "vault", "secret_key"), vault.s3.secret_key),
                box.open(target_context("default", "vault", "encryption"), vault.encryption_key),
            )
        )

    on(data, open_all)

    rotated = run_cli(data, "secrets", "rotate")

    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.split()[2].rstrip(":")
    events = [json.loads(line) for line in run_cli(data, "events", "export").stdout.splitlines()]
    [resealed] = [e["data"] for e in events if e["type"] == "database.passwords_resealed"]
    target = [e["data"] for e in events if e["type"] == "team.backup_target_set"][-1]
    sealed = [resealed["password"], resealed["root_password"], target["encryption_key"]]
    sealed.append(target["s3"]["secret_key"])
    assert all(value.startswith(f"rvs2:{new_key}:") for value in sealed)
    on(data, open_all)
    # the same values, opened with the new key
    assert opened_values[1] == opened_values[0]
    assert opened_values[1][2:] == ("the-secret-key", "a passphrase")
    again = run_cli(data, "secrets", "rotate")
    assert again.returncode == 0, again.stderr
