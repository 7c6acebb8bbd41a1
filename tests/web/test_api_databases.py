"""The /api/v1 database, backup, restore and backup-target routes: each asks the services
(the reactors' steps are written by the test, as they would record them), answers what the
read model says, never a secret, and refuses bad input with a problem naming what is wrong."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import databases
from rivetr.domain.access import SYSTEM
from rivetr.domain.aggregates import BACKUP_TARGETS
from rivetr.domain.commands import CreateApp
from rivetr.domain.events import VariablesResolved, VariableUse
from tests.web.database_steps import backed_up, running
from tests.web.releases import served_releases

PROBLEM = "application/problem+json"
MISSING = "aaaaaaaaaaaa"  # a well-formed id nothing has


def made(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/databases", json={"kind": "postgres", **fields}, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_database_is_made_listed_read_and_filtered_without_its_password(
    client, auth, call, services
) -> None:
    client.post("/api/v1/projects", json={"project": "shop"}, headers=auth)
    answer = client.post(
        "/api/v1/databases",
        json={"name": "pg", "kind": "postgres", "project": "shop", "public_port": 15432},
        headers=auth,
    )
    assert answer.status_code == 201, answer.text
    view = answer.json()
    assert answer.headers["location"] == f"/api/v1/databases/{view['database_id']}"
    assert (view["name"], view["kind"], view["version"], view["image"]) == (
        "pg",
        "postgres",
        "16",
        "postgres:16-alpine",
    )
    assert (view["status"], view["port"], view["public_port"]) == ("starting", 5432, 15432)
    assert view["last_verified_backup_id"] is None
    redis = made(client, auth, name="cache", kind="redis")

    every = client.get("/api/v1/databases", headers=auth).json()
    assert [d["name"] for d in every] == ["cache", "pg"]
    shop = client.get("/api/v1/databases", params={"project": "shop"}, headers=auth).json()
    assert [d["name"] for d in shop] == ["pg"]
    assert client.get("/api/v1/databases", params={"team": "nope"}, headers=auth).json() == []
    one = client.get(f"/api/v1/databases/{redis['database_id']}", headers=auth)
    assert one.json() == redis

    state = databases.fold(
        view["database_id"],
        [
            e.event
            for e in call(services.store.read_stream, databases.stream_id(view["database_id"]))
        ],
    )
    plain = services.secrets.open(f"database:{view['database_id']}:password", state.password)
    for text in (answer.text, one.text, client.get("/api/v1/databases", headers=auth).text):
        assert plain not in text
        assert state.password not in text
    connection = client.get(f"/api/v1/databases/{view['database_id']}/connection", headers=auth)
    assert connection.json()["url"] == "postgresql://app:********@pg:5432/app"
    assert connection.json()["reference"] == "${{pg.URL}}"
    assert plain not in connection.text


def test_bad_input_is_refused_naming_what_is_wrong(client, auth) -> None:
    db = made(client, auth, name="pg")
    unknown = client.get(f"/api/v1/databases/{MISSING}", headers=auth)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert client.get("/api/v1/databases/NOT-AN-ID", headers=auth).status_code == 400
    kind = client.post("/api/v1/databases", json={"name": "x", "kind": "oracle"}, headers=auth)
    assert kind.status_code == 400
    assert "kind" in kind.json()["detail"]
    system = client.post(
        "/api/v1/databases", json={"name": "x", "kind": "redis", "public_port": 22}, headers=auth
    )
    assert system.status_code == 422
    assert "system port" in system.json()["detail"]
    twice = client.post("/api/v1/databases", json={"name": "pg", "kind": "redis"}, headers=auth)
    assert twice.status_code == 409
    assert "already has a database named 'pg'" in twice.json()["detail"]
    reserved = client.post(
        "/api/v1/databases", json={"name": "project", "kind": "redis"}, headers=auth
    )
    assert reserved.status_code == 422
    extra = client.patch(
        f"/api/v1/databases/{db['database_id']}", json={"name": "other"}, headers=auth
    )
    assert extra.status_code == 400
    port = client.patch(
        f"/api/v1/databases/{db['database_id']}", json={"public_port": 80}, headers=auth
    )
    assert port.status_code == 422
    nowhere = client.put(
        f"/api/v1/databases/{db['database_id']}/schedules",
        json={"schedules": [{"cron": "0 3 * * *", "target": "offsite"}]},
        headers=auth,
    )
    assert nowhere.status_code == 404
    assert "no backup target 'offsite'" in nowhere.json()["detail"]
    for path in ("backups", "restores", "connection"):
        assert client.get(f"/api/v1/databases/{MISSING}/{path}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/backups/{MISSING}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/restores/{MISSING}", headers=auth).status_code == 404
    restore = client.post(f"/api/v1/backups/{MISSING}/restore", json={}, headers=auth)
    assert restore.status_code == 404


def test_start_stop_settings_schedules_upgrade_and_delete_are_asked_for(
    client, auth, call, services
) -> None:
    db = made(client, auth, name="pg")
    path = f"/api/v1/databases/{db['database_id']}"
    call(running, services, db["database_id"])
    stopped = client.post(f"{path}/stop", headers=auth)
    assert stopped.status_code == 202
    assert (stopped.json()["status"], stopped.json()["wanted"]) == ("stopping", "stopped")
    started = client.post(f"{path}/start", headers=auth)
    assert (started.json()["status"], started.json()["wanted"]) == ("starting", "running")
    assert client.post(f"{path}/restart", headers=auth).status_code == 202
    call(running, services, db["database_id"])

    changed = client.patch(path, json={"public_port": 16000, "verify_backups": False}, headers=auth)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["public_port"], changed.json()["verify_backups"]) == (16000, False)
    schedules = client.put(
        f"{path}/schedules",
        json={"schedules": [{"cron": "0 3 * * *", "timezone": "Europe/Paris"}]},
        headers=auth,
    )
    assert schedules.status_code == 200, schedules.text
    assert schedules.json()["schedules"] == [
        {"cron": "0 3 * * *", "timezone": "Europe/Paris", "target": "local"}
    ]
    upgraded = client.post(f"{path}/upgrade", json={"version": "17"}, headers=auth)
    assert upgraded.status_code == 202, upgraded.text
    assert upgraded.json()["status"] == "upgrading"

    gone = client.delete(path, params={"keep_volume": "false"}, headers=auth)
    assert gone.status_code == 204
    assert client.get(path, headers=auth).status_code == 404
    events = call(services.store.read_stream, databases.stream_id(db["database_id"]))
    assert events[-1].event.volume_kept is False


def test_a_password_rotation_names_the_apps_whose_live_release_took_it(
    client, auth, call, services
) -> None:
    db = made(client, auth, name="pg")
    call(running, services, db["database_id"])
    for name in ("web", "worker"):
        call(services.apps.handle, SYSTEM, CreateApp(name=name))
        call(served_releases, services, name, (f"{name}-0", f"{name}-1"), "default")
    used = VariablesResolved(
        deployment_id="web-1",
        used=[VariableUse(name="DATABASE_URL", source="pg", key="URL")],
    )
    recorded = call(
        services.store.append,
        "deployment-web-1",
        None,
        [used],
        EventMeta(actor="test", team="default"),
    )
    call(services.runner.wait_until, recorded[-1].position)
    rotated = client.post(f"/api/v1/databases/{db['database_id']}/rotate-password", headers=auth)
    assert rotated.status_code == 202, rotated.text
    assert rotated.json()["apps"] == ["web"]
    assert rotated.json()["database"]["rotating_password"] is True
    again = client.post(f"/api/v1/databases/{db['database_id']}/rotate-password", headers=auth)
    assert again.status_code in (409, 422)


def test_a_backup_is_asked_followed_and_restored_only_once_stored_whole(
    client, auth, call, services
) -> None:
    db = made(client, auth, name="pg")
    path = f"/api/v1/databases/{db['database_id']}"
    starting = client.post(f"{path}/backups", json={}, headers=auth)
    assert starting.status_code == 422
    assert "is starting" in starting.json()["detail"]
    call(running, services, db["database_id"])
    asked = client.post(f"{path}/backups", json={"verify": True}, headers=auth)
    assert asked.status_code == 202, asked.text
    backup_id = asked.json()["backup_id"]
    assert asked.json()["backup"]["status"] == "requested"
    early = client.post(f"/api/v1/backups/{backup_id}/restore", json={}, headers=auth)
    assert early.status_code == 422
    assert "not stored whole yet" in early.json()["detail"]

    call(backed_up, services, backup_id, "verified")
    backup = client.get(f"/api/v1/backups/{backup_id}", headers=auth).json()
    assert (backup["status"], backup["size"], backup["counts"]) == (
        "verified",
        2048,
        {"public.orders": 3},
    )
    view = client.get(path, headers=auth).json()
    assert view["last_verified_backup_id"] == backup_id
    assert [b["backup_id"] for b in client.get(f"{path}/backups", headers=auth).json()] == [
        backup_id
    ]

    failing = client.post(f"{path}/backups", json={}, headers=auth).json()["backup_id"]
    call(backed_up, services, failing, "failed")
    failed = client.get(f"/api/v1/backups/{failing}", headers=auth).json()
    assert (failed["status"], failed["failed_step"], failed["failure"]) == (
        "failed",
        "dump",
        "pg_dump exited 1",
    )
    view = client.get(path, headers=auth).json()
    assert (view["last_backup_status"], view["last_verified_backup_id"]) == ("failed", backup_id)
    refused = client.post(f"/api/v1/backups/{failing}/restore", json={}, headers=auth)
    assert refused.status_code == 422
    assert "pg_dump exited 1" in refused.json()["detail"]

    dry = client.post(f"/api/v1/backups/{backup_id}/restore", json={"dry_run": True}, headers=auth)
    assert dry.status_code == 200, dry.text
    assert (dry.json()["safety_backup"], dry.json()["restore_id"]) == (True, None)
    assert client.get(f"{path}/restores", headers=auth).json() == []
    restored = client.post(f"/api/v1/backups/{backup_id}/restore", json={}, headers=auth)
    assert restored.status_code == 202, restored.text
    restore_id = restored.json()["restore_id"]
    one = client.get(f"/api/v1/restores/{restore_id}", headers=auth).json()
    assert (one["status"], one["backup_id"]) == ("requested", backup_id)
    assert one["safety_backup_id"] == restored.json()["safety_backup_id"]
    assert [r["restore_id"] for r in client.get(f"{path}/restores", headers=auth).json()] == [
        restore_id
    ]

    other = made(client, auth, name="cache", kind="redis")
    call(running, services, other["database_id"])
    wrong_kind = client.post(
        f"/api/v1/backups/{backup_id}/restore",
        json={"into": other["database_id"], "dry_run": True},
        headers=auth,
    )
    assert wrong_kind.status_code == 422
    assert "restored into a database of its own kind" in wrong_kind.json()["detail"]
    assert client.delete(f"/api/v1/backups/{backup_id}", headers=auth).status_code == 204
    assert client.get(f"{path}/backups", headers=auth).json()[0]["backup_id"] != backup_id


def test_backup_targets_are_set_listed_and_removed_and_their_secrets_never_answered(
    client, auth, call, services
) -> None:
    [local] = client.get("/api/v1/teams/default/backup-targets", headers=auth).json()
    assert (local["name"], local["kind"]) == ("local", "local")
    s3 = {
        "endpoint": "https://s3.example.com",
        "bucket": "backups",
        "access_key": "AKIAEXAMPLE",
        "secret_key": "the-secret-key",
        "path_style": True,
    }
    body = {"s3": s3, "keep_last": 7, "encryption_passphrase": "a long passphrase"}
    put = client.put("/api/v1/teams/default/backup-targets/offsite", json=body, headers=auth)
    assert put.status_code == 200, put.text
    assert (put.json()["bucket"], put.json()["encrypted"], put.json()["keep_last"]) == (
        "backups",
        True,
        7,
    )
    listed = client.get("/api/v1/teams/default/backup-targets", headers=auth)
    assert [t["name"] for t in listed.json()] == ["local", "offsite"]
    for text in (put.text, listed.text):
        assert "the-secret-key" not in text
        assert "a long passphrase" not in text
    held = call(services.store.read_stream, BACKUP_TARGETS.at("default").stream_id)
    assert "the-secret-key" not in str(held)

    weak = client.put(
        "/api/v1/teams/default/backup-targets/weak",
        json={"encryption_passphrase": "short"},
        headers=auth,
    )
    assert weak.status_code == 400
    assert "encryption_passphrase" in weak.json()["detail"]
    db = made(client, auth, name="pg")
    client.put(
        f"/api/v1/databases/{db['database_id']}/schedules",
        json={"schedules": [{"cron": "0 3 * * *", "target": "offsite"}]},
        headers=auth,
    )
    used = client.delete("/api/v1/teams/default/backup-targets/offsite", headers=auth)
    assert used.status_code == 422
    assert "pg" in used.json()["detail"]
    client.put(f"/api/v1/databases/{db['database_id']}/schedules", json={}, headers=auth)
    gone = client.delete("/api/v1/teams/default/backup-targets/offsite", headers=auth)
    assert gone.status_code == 204
    assert client.get("/api/v1/teams/nope/backup-targets", headers=auth).status_code == 404


def test_a_databases_events_are_in_its_projects_audit_history_and_named_as_no_app(
    client, auth, call, services
) -> None:
    client.post("/api/v1/projects", json={"project": "shop"}, headers=auth)
    db = made(client, auth, name="pg", project="shop")
    call(running, services, db["database_id"])
    asked = client.post(f"/api/v1/databases/{db['database_id']}/backups", json={}, headers=auth)
    assert asked.status_code == 202
    answer = client.get("/api/v1/audit", params={"project": "default/shop"}, headers=auth)
    assert answer.status_code == 200, answer.text
    shop = answer.json()
    types = [entry["type"] for entry in shop]
    assert {"database.created", "database.running", "backup.requested"} <= set(types)
    assert all(e["app"] is None for e in shop if e["type"].startswith("database."))
    client.post("/api/v1/projects", json={"project": "blog"}, headers=auth)
    other = client.get("/api/v1/audit", params={"project": "default/blog"}, headers=auth)
    assert other.status_code == 200, other.text
    assert not [e for e in other.json() if e["type"].startswith("database.")]


def test_a_databases_logs_need_an_engine_and_an_id_the_caller_reads(
    client: Any, auth: dict[str, str]
) -> None:
    made = client.post(
        "/api/v1/databases", json={"name": "logged", "kind": "redis"}, headers=auth
    ).json()
    logs = client.get(f"/api/v1/databases/{made['database_id']}/logs", headers=auth)
    assert logs.status_code == 503
    assert "engine" in logs.json()["detail"]
    assert client.get("/api/v1/databases/aaaaaaaaaaaa/logs", headers=auth).status_code == 404
