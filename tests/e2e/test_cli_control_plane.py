"""`rivetr backup` and `rivetr restore` as a person types them, with no engine needed: a
backup, its listing and schedules (the flags before or after the action), a restore's list of
what a target holds, and the refusals, each naming what is wrong and exiting 1 (2 for input
that is not valid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.e2e


def test_a_backup_is_listed_scheduled_and_restored_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "tokens", "create", "--name", "t").returncode == 0

    taken = run_cli(data, "backup")
    assert taken.returncode == 0, taken.stderr
    backup_id = taken.stdout.split("\t", 1)[0]
    assert taken.stdout.split("\t")[1] == "verified"
    listed = run_cli(data, "backup", "list")
    assert listed.stdout.startswith(f"{backup_id}\tverified\tlocal\t")

    bad = run_cli(data, "backup", "schedule", "--cron", "0 3 * * *", "--target", "offsite")
    assert bad.returncode == 1
    assert "the instance has no backup target 'offsite'" in bad.stderr
    keyed = run_cli(data, "backup", "schedule", "--cron", "@daily", "--with-key")
    assert keyed.returncode == 1
    assert "has no encryption passphrase" in keyed.stderr
    assert run_cli(data, "backup", "schedule").returncode == 2
    scheduled = run_cli(data, "backup", "schedule", "--cron", "@daily", "--tz", "Europe/Berlin")
    assert scheduled.stdout.strip() == "0 0 * * * (Europe/Berlin) to local"

    target = data / "backups" / "default" / "local"
    held = run_cli(tmp_path / "new", "restore", "--from-dir", str(target), "--list")
    assert held.stdout.startswith(f"{backup_id}\t")
    occupied = run_cli(data, "restore", "--from-dir", str(target))
    assert occupied.returncode == 1
    assert "already holds a log" in occupied.stderr
    nothing = run_cli(tmp_path / "new", "restore", "--from-dir", str(tmp_path))
    assert nothing.returncode == 1
    assert "restore failed at fetch: the target holds no control-plane backup" in nothing.stderr
    [prefix] = [p for p in (target / "control-plane").iterdir() if p.is_dir()]
    (prefix / "events.db").unlink()
    missing = run_cli(tmp_path / "new", "restore", backup_id, "--from-dir", str(target))
    assert missing.returncode == 1
    assert f"restore failed at fetch: control-plane/{prefix.name}/events.db" in missing.stderr
    assert not (tmp_path / "new" / "events.db").exists()
