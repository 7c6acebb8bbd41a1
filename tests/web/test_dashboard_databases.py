"""The dashboard's databases: the list with its last verified backup and its age and a create
form, a database's page with its connection (the password masked), its backups (a failure
shown as one, never as success), restores with a dry run first, schedules, and the buttons to
start, stop, rotate the password and delete (a last backup offered first). Every form works
without JavaScript, through the services as the API does."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateProject
from rivetr.domain.database_commands import BackUpDatabase
from rivetr.web.pages.databases import age
from tests.web.database_steps import backed_up, running
from tests.web.page_parts import problem, text_of


def signed_in(member, session_headers, role="owner"):  # type: ignore[no-untyped-def]
    member("ann@example.com", role, "default")
    return session_headers("ann@example.com")["X-CSRF-Token"]


def created(client, token, **fields):  # type: ignore[no-untyped-def]
    form = {"csrf_token": token, "kind": "postgres", "place": "default/default/production"}
    made = client.post("/databases", data={**form, **fields}, follow_redirects=False)
    assert made.status_code in (302, 303), made.text
    return made.headers["location"].rsplit("/", 1)[1]


def test_a_database_is_created_from_the_list_and_shown_on_its_page(
    client, member, session_headers, call, services
) -> None:
    token = signed_in(member, session_headers)
    listed = client.get("/databases")
    assert listed.status_code == 200
    assert '<a href="/databases" aria-current="page">Databases</a>' in listed.text
    assert text_of(listed.text, "no-databases") is not None
    database_id = created(client, token, name="pg", public_port="15432")
    page = client.get(f"/databases/{database_id}").text
    assert text_of(page, "status") == "starting"
    assert text_of(page, "url") == "postgresql://app:********@pg:5432/app"
    assert text_of(page, "reference") == "${{pg.URL}}"
    assert "No backup of this database has been verified yet" in (
        text_of(page, "last-verified") or ""
    )
    listed = client.get("/databases").text
    assert f'data-database="{database_id}"' in listed
    project = client.get("/projects/default/default").text
    assert f'href="/databases/{database_id}"' in project


def test_a_refused_database_is_shown_beside_its_field(client, member, session_headers) -> None:
    token = signed_in(member, session_headers)
    created(client, token, name="pg")
    twice = client.post(
        "/databases",
        data={
            "csrf_token": token,
            "name": "pg",
            "kind": "redis",
            "place": "default/default/production",
        },
    )
    assert twice.status_code == 409
    assert "already has a database named 'pg'" in html.unescape(twice.text)
    system = client.post(
        "/databases",
        data={"csrf_token": token, "name": "x", "kind": "redis", "public_port": "22"},
    )
    assert system.status_code == 422
    assert "system port" in (problem(system.text, "public_port") or "")
    word = client.post(
        "/databases", data={"csrf_token": token, "name": "x", "kind": "redis", "public_port": "a"}
    )
    assert word.status_code == 422
    assert client.post("/databases", data={"name": "x", "kind": "redis"}).status_code == 403


def test_backups_show_each_outcome_and_a_restore_is_previewed_then_asked(
    client, member, session_headers, call, services
) -> None:
    token = signed_in(member, session_headers)
    database_id = created(client, token, name="pg")
    refused = client.post(f"/databases/{database_id}/backup", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "is starting" in (text_of(refused.text, "backup-problem") or "")
    call(running, services, database_id)
    asked = client.post(
        f"/databases/{database_id}/backup", data={"csrf_token": token}, follow_redirects=False
    )
    assert asked.status_code in (302, 303)
    [good] = call(services.read.databases.backups_of, database_id)
    call(backed_up, services, good.backup_id, "verified")
    bad, _ = call(services.backups.back_up, SYSTEM, BackUpDatabase(database_id=database_id))
    call(backed_up, services, bad, "failed")

    page = client.get(f"/databases/{database_id}").text
    assert "verified" in (text_of(page, "last-verified") or "")
    assert "just now" in (text_of(page, "last-verified") or "")
    assert text_of(page, "last-backup-failed") is not None
    row = re.search(rf'<tr data-backup="{bad}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "failed" in row.group(1)
    assert "dump: pg_dump exited 1" in row.group(1)
    assert "verified" not in row.group(1)
    listed = client.get("/databases").text
    assert 'class="badge failed">failed' in listed

    dry = client.post(
        f"/databases/{database_id}/restore",
        data={"csrf_token": token, "backup_id": good.backup_id, "dry_run": "on"},
    )
    assert dry.status_code == 200
    assert "Dry run: nothing was done" in (text_of(dry.text, "restore-plan") or "")
    assert text_of(dry.text, "no-restores") is not None
    failed = client.post(
        f"/databases/{database_id}/restore", data={"csrf_token": token, "backup_id": bad}
    )
    assert failed.status_code == 422
    assert "pg_dump exited 1" in (text_of(failed.text, "restore-problem") or "")
    restored = client.post(
        f"/databases/{database_id}/restore",
        data={"csrf_token": token, "backup_id": good.backup_id},
        follow_redirects=False,
    )
    assert restored.status_code in (302, 303)
    [restore] = call(services.read.databases.restores_of, database_id)
    assert f'data-restore="{restore.restore_id}"' in client.get(f"/databases/{database_id}").text


def test_schedules_actions_rotation_and_deletion_with_a_last_backup_first(
    client, member, session_headers, call, services
) -> None:
    token = signed_in(member, session_headers)
    database_id = created(client, token, name="pg")
    call(running, services, database_id)
    path = f"/databases/{database_id}"
    saved = client.post(
        f"{path}/schedule",
        data={"csrf_token": token, "cron": "0 3 * * *", "timezone": "UTC", "target": "local"},
        follow_redirects=False,
    )
    assert saved.status_code in (302, 303), saved.text
    assert "0 3 * * *" in (text_of(client.get(path).text, "schedule-list") or "")
    nowhere = client.post(
        f"{path}/schedule", data={"csrf_token": token, "cron": "0 3 * * *", "target": "nope"}
    )
    assert nowhere.status_code == 404
    stopped = client.post(f"{path}/stop", data={"csrf_token": token}, follow_redirects=False)
    assert stopped.status_code in (302, 303)
    assert text_of(client.get(path).text, "status") == "stopping"
    assert client.post(f"{path}/explode", data={"csrf_token": token}).status_code == 422
    call(running, services, database_id)
    rotated = client.post(f"{path}/rotate-password", data={"csrf_token": token})
    assert rotated.status_code == 200
    assert "no app's live release uses this database" in (text_of(rotated.text, "note-1") or "")

    offered = client.post(
        f"{path}/delete", data={"csrf_token": token, "last_backup": "on", "keep_volume": "on"}
    )
    assert offered.status_code == 200
    assert "nothing was deleted" in (text_of(offered.text, "note-1") or "")
    assert client.get(path).status_code == 200
    gone = client.post(
        f"{path}/delete", data={"csrf_token": token, "keep_volume": "on"}, follow_redirects=False
    )
    assert gone.status_code in (302, 303)
    assert client.get(path).status_code == 404


def test_a_viewer_reads_the_page_without_its_forms_and_another_team_finds_nothing(
    client, member, session_headers, call, services
) -> None:
    token = signed_in(member, session_headers)
    database_id = created(client, token, name="pg")
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="shop"))
    member("vic@example.com", "viewer", "default")
    session_headers("vic@example.com")
    page = client.get(f"/databases/{database_id}")
    assert page.status_code == 200
    for form in ("backup-form", "restore-form", "delete-form", "schedule-form", "rotate-form"):
        assert f'id="{form}"' not in page.text
    assert 'id="create-database"' not in client.get("/databases").text
    member("eve@example.com", "owner", "evil")
    session_headers("eve@example.com")
    assert client.get(f"/databases/{database_id}").status_code == 404
    assert f'data-database="{database_id}"' not in client.get("/databases").text


def test_an_age_is_said_in_words() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert age(None, now) == "never"
    assert age((now - timedelta(seconds=30)).isoformat(), now) == "just now"
    assert age((now - timedelta(hours=5, minutes=3)).isoformat(), now) == "5 h ago"
    assert age((now - timedelta(days=2)).isoformat(), now) == "2 d ago"


def test_a_teams_backup_targets_are_set_and_removed_and_their_secrets_never_shown(
    client, member, session_headers
) -> None:
    token = signed_in(member, session_headers)
    assert 'id="backup-targets-link"' in client.get("/teams/default").text
    page = client.get("/teams/default/backup-targets")
    assert page.status_code == 200
    assert 'data-target="local"' in page.text
    form = {
        "csrf_token": token,
        "name": "offsite",
        "s3_endpoint": "https://s3.example.com",
        "s3_bucket": "backups",
        "s3_access_key": "AKIAEXAMPLE",
        "s3_secret_key": "the-secret-key",
        "keep_last": "7",
        "encryption_passphrase": "a long passphrase",
    }
    saved = client.post("/teams/default/backup-targets", data=form, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    page = client.get("/teams/default/backup-targets").text
    assert 'data-target="offsite"' in page
    assert "the-secret-key" not in page
    assert "a long passphrase" not in page
    weak = client.post(
        "/teams/default/backup-targets",
        data={**form, "encryption_passphrase": "short"},
    )
    assert weak.status_code == 422
    assert problem(weak.text, "encryption_passphrase") is not None
    assert "the-secret-key" not in weak.text
    local = client.post("/teams/default/backup-targets/local/remove", data={"csrf_token": token})
    assert local.status_code == 422
    removed = client.post(
        "/teams/default/backup-targets/offsite/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code in (302, 303)
    assert client.get("/teams/nope/backup-targets").status_code == 404
