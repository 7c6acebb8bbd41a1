"""The audit API: entries filtered by actor, app (deployments included), type and time; the
export with its hash chain, verified offline as a whole, as a time range, and for one app;
tampering is caught; no secret is ever in it; each reader sees only their teams."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.adapters.eventstore.chain import ChainBroken, verify_export
from rivetr.adapters.eventstore.export import read_jsonl_export
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.events import BuildStarted, DeploymentRequested

SECRET = "hunter2-db-pass"


@pytest.fixture
def history(client, call, services, auth) -> None:  # type: ignore[no-untyped-def]
    ids = {}
    for name in ("web", "api"):
        answer = client.post(
            "/api/v1/apps", json={"name": name, "env": {"DATABASE_URL": SECRET}}, headers=auth
        )
        assert answer.status_code == 201, answer.text
        ids[name] = answer.json()["id"]
    call(
        services.store.append,
        "deployment-d1",
        ANY_VERSION,
        [
            DeploymentRequested(deployment_id="d1", app="web", app_id=ids["web"], branch="main"),
            BuildStarted(deployment_id="d1", builder="dockerfile"),
        ],
        EventMeta(actor="user:ann", team="default", resource=ids["web"]),
    )
    # with no engine the deployer soon fails d1; wait for it, so that the log is still while the
    # tests compare one export with the next
    deadline = time.monotonic() + 30
    while "deployment.failed" not in {
        e.type for e in call(services.store.read_stream, "deployment-d1")
    }:
        assert time.monotonic() < deadline, "the deployer never settled d1"
        time.sleep(0.05)
    call(services.runner.catch_up)


def lines(answer: Any) -> list[bytes]:
    return [line for line in answer.content.splitlines() if line.strip()]


def test_entries_filter_by_app_with_its_deployments_actor_type_and_time(
    client, auth, history
) -> None:
    web = client.get("/api/v1/audit", params={"app": "web"}, headers=auth).json()
    assert [e["type"] for e in web][-4:] == [
        "deployment.build_started",
        "deployment.requested",
        "claim.name_claimed",  # the app's name is its own while it lives
        "app.created",
    ]
    by_ann = client.get("/api/v1/audit", params={"actor": "user:ann"}, headers=auth).json()
    assert [e["type"] for e in by_ann] == ["deployment.build_started", "deployment.requested"]
    created = client.get("/api/v1/audit", params={"type": "app.*"}, headers=auth).json()
    assert {e["app"] for e in created} == {"web", "api"}
    newest = web[0]
    page = client.get(
        "/api/v1/audit", params={"app": "web", "before": newest["position"]}, headers=auth
    ).json()
    assert [e["position"] for e in page] == [e["position"] for e in web[1:]]
    assert all(e["position"] < newest["position"] for e in page)
    future = client.get("/api/v1/audit", params={"from": "2999-01-01"}, headers=auth).json()
    assert future == []
    past = client.get("/api/v1/audit", params={"to": "2000-01-01T00:00:00Z"}, headers=auth)
    assert past.json() == []
    bad = client.get("/api/v1/audit", params={"from": "yesterday"}, headers=auth)
    assert bad.status_code == 400
    assert "ISO 8601" in bad.text
    before_year_one = {"from": "0001-01-01T00:00:00+01:01"}  # in UTC, the year 0
    assert client.get("/api/v1/audit", params=before_year_one, headers=auth).status_code == 400
    assert client.get("/api/v1/audit", params={"app": "nope"}, headers=auth).status_code == 404


def test_the_export_verifies_offline_whole_by_time_and_for_one_app(client, auth, history) -> None:
    whole = client.get("/api/v1/audit/export", headers=auth)
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in whole.headers["content-disposition"]
    report = verify_export(read_jsonl_export(lines(whole)))
    assert (report.count, report.gaps) == (len(lines(whole)), 0)

    first_at = json.loads(lines(whole)[-3])["recorded_at"]
    # events appended together share their time: the range takes all of them
    expected = [line for line in lines(whole) if json.loads(line)["recorded_at"] >= first_at]
    later = client.get("/api/v1/audit/export", params={"from": first_at}, headers=auth)
    assert 3 <= verify_export(read_jsonl_export(lines(later))).count == len(expected)

    web = client.get("/api/v1/audit/export", params={"app": "web"}, headers=auth)
    events = list(read_jsonl_export(lines(web)))
    assert [e.type for e in events][:4] == [
        "app.created",
        "claim.name_claimed",
        "deployment.requested",
        "deployment.build_started",
    ]
    assert verify_export(events, filtered=True).gaps >= 1
    with pytest.raises(ChainBroken, match="missing"):
        verify_export(events)  # a gap is what a deleted event looks like, unless filtered

    csv = client.get("/api/v1/audit/export", params={"format": "csv"}, headers=auth)
    assert csv.text.splitlines()[0].startswith("position,stream_id,version,type")
    assert len(csv.text.splitlines()) == len(lines(whole)) + 1


def test_a_tampered_export_is_caught(client, auth, history) -> None:
    exported = lines(client.get("/api/v1/audit/export", headers=auth))
    row = json.loads(exported[1])
    row["actor"] = "user:someone-else"
    exported[1] = json.dumps(row).encode()
    with pytest.raises(ChainBroken) as broken:
        verify_export(read_jsonl_export(exported))
    assert broken.value.position == row["position"]


def test_no_secret_is_in_an_export_an_entry_or_a_page(client, auth, history) -> None:
    for path in ("/api/v1/audit/export", "/api/v1/audit/export?format=csv", "/api/v1/audit"):
        assert SECRET not in client.get(path, headers=auth).text
    sign_in_with_token(client, auth)
    for page in ("/", "/apps/web", "/audit", "/audit?app=web"):
        shown = client.get(page)
        assert shown.status_code == 200
        assert SECRET not in shown.text


def sign_in_with_token(client: Any, auth: dict[str, str]) -> None:
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))


def test_the_audit_page_filters_pages_and_links_its_export(client, auth, history) -> None:
    sign_in_with_token(client, auth)
    page = client.get("/audit", params={"app": "web", "type": "deployment.*"})
    assert page.status_code == 200
    assert page.text.count('<tr data-position="') >= 2
    assert "app.created" not in page.text
    assert "deployment.build_started" in page.text
    # what is shown is what is exported: the type filter too
    assert 'href="/api/v1/audit/export?app=web&amp;type=deployment.%2A"' in page.text
    assert "EventSource" not in page.text  # a filtered page is not live

    unfiltered = client.get("/audit")
    assert "EventSource" in unfiltered.text
    assert '"deployment.requested"' in unfiltered.text  # the types the script listens for

    bad = client.get("/audit", params={"from": "last tuesday"})
    assert "is not an ISO 8601 time" in bad.text


def test_the_audit_page_pages_back_through_a_long_history(client, auth, call, services) -> None:
    for n in range(60):
        call(services.apps.handle, SYSTEM, CreateApp(name=f"app-{n}"))
    sign_in_with_token(client, auth)
    first = client.get("/audit")
    assert first.text.count('<tr data-position="') == 50
    assert 'id="older"' in first.text
    older = client.get("/audit", params={"before": 12})
    assert older.text.count('<tr data-position="') == 11
    assert 'id="older"' not in older.text


def test_the_dashboards_token_cookie_may_read_the_api_but_not_change_it(client, auth) -> None:
    sign_in_with_token(client, auth)
    assert client.get("/api/v1/audit").status_code == 200
    assert client.post("/api/v1/apps", json={"name": "sneaky"}).status_code == 401


def test_a_team_member_reads_and_exports_only_their_teams(
    client, call, services, member, session_headers, auth
) -> None:
    member("dev@acme.test", "developer", "acme")
    call(services.apps.handle, SYSTEM, CreateApp(name="shop", team="acme"))
    call(services.apps.handle, SYSTEM, CreateApp(name="other"))
    session_headers("dev@acme.test")
    entries = client.get("/api/v1/audit").json()
    assert entries
    assert {e["team"] for e in entries} == {"acme"}
    exported = list(read_jsonl_export(lines(client.get("/api/v1/audit/export"))))
    assert {e.team for e in exported} == {"acme"}
    assert verify_export(exported, filtered=True).count == len(exported)
    assert client.get("/api/v1/audit", params={"app": "other"}).status_code == 404


def test_the_export_takes_the_same_actor_and_type_filters_as_the_history(
    client, auth, history
) -> None:
    by_type = client.get("/api/v1/audit/export", params={"type": "deployment.*"}, headers=auth)
    by_actor = client.get("/api/v1/audit/export", params={"actor": "user:ann"}, headers=auth)

    typed = list(read_jsonl_export(lines(by_type)))
    acted = list(read_jsonl_export(lines(by_actor)))
    assert typed
    assert {e.type.split(".")[0] for e in typed} == {"deployment"}
    assert [e.type for e in acted][:2] == ["deployment.requested", "deployment.build_started"]
    assert {e.actor for e in acted} == {"user:ann"}
    assert verify_export(typed, filtered=True).count == len(typed)  # each checks by its hash


def test_the_audit_pages_export_links_carry_its_filters(client, auth, history) -> None:
    sign_in_with_token(client, auth)
    page = client.get("/audit", params={"type": "deployment.*", "actor": "user:ann"}).text

    link = page.split('id="export-jsonl" href="', 1)[1].split('"', 1)[0]
    assert "type=deployment.%2A" in link
    assert "actor=user%3Aann" in link


def test_no_password_hash_leaves_in_any_export_and_the_export_still_verifies(
    client, auth, member
) -> None:
    member("dev@example.com", "developer")
    for params in ({}, {"format": "csv"}, {"type": "user.*"}):
        answer = client.get("/api/v1/audit/export", params=params, headers=auth)
        assert answer.status_code == 200
        assert "$argon2" not in answer.text
    whole = list(read_jsonl_export(lines(client.get("/api/v1/audit/export", headers=auth))))
    accounts = sum(e.type == "user.created" for e in whole)
    assert accounts >= 1
    assert verify_export(whole).redacted == accounts
    users = client.get("/api/v1/audit/export", params={"type": "user.*"}, headers=auth)
    assert verify_export(read_jsonl_export(lines(users)), filtered=True).redacted == accounts
    assert "$argon2" not in client.get("/api/v1/audit", headers=auth).text
