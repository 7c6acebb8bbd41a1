"""The dashboard's audit pages: each entry opens to its event whole, sealed values shown as
sealed and password hashes never; a reader who may not read its team gets a 404. And the pages
that explain a refusal: the error page's heading by status with its ways back, and the
time-travel form, which says beside its field what was wrong with the time."""

from __future__ import annotations

import re
from typing import Any

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.web.test_audit import SECRET, history, sign_in_with_token

__all__ = ["history"]  # the fixture, used here too


def positions(client: Any, auth: dict[str, str], **params: str) -> list[int]:
    entries = client.get("/api/v1/audit", params=params, headers=auth).json()
    return [e["position"] for e in entries]


def test_each_entry_opens_to_its_whole_event_with_sealed_values_shown_as_sealed(
    client, auth, history, member
) -> None:
    member("dev@example.com", "developer")
    sign_in_with_token(client, auth)
    listing = client.get("/audit").text
    every = positions(client, auth, limit="500")
    for position in every:
        assert f'href="/audit/events/{position}"' in listing

    [env] = positions(client, auth, type="app.created", app="web")
    page = client.get(f"/audit/events/{env}")
    assert page.status_code == 200
    assert "<h1>Event" in page.text
    data = page.text.split('id="event-data"', 1)[1].split("</pre>", 1)[0]
    assert "&#34;DATABASE_URL&#34;: &#34;sealed&#34;" in data
    metadata = page.text.split('id="event-metadata"', 1)[1].split("</pre>", 1)[0]
    for field in ("event_id", "prev_hash", "hash", "correlation_id", "stream_id"):
        assert f"&#34;{field}&#34;:" in metadata
    assert "&#34;app&#34;: &#34;web&#34;" in metadata

    for position in every:  # nothing secret on any event's page
        shown = client.get(f"/audit/events/{position}")
        assert shown.status_code == 200
        assert SECRET not in shown.text
        assert "$argon2" not in shown.text
        assert "rvs2:" not in shown.text
    [user] = positions(client, auth, type="user.created")[:1]
    created = client.get(f"/audit/events/{user}").text
    assert "&#34;password_hash&#34;: &#34;redacted&#34;" in created


def test_an_event_of_a_team_the_reader_may_not_read_is_not_found(
    client, call, services, member, session_headers, auth
) -> None:
    member("dev@acme.test", "developer", "acme")
    call(services.apps.handle, SYSTEM, CreateApp(name="shop", team="acme"))
    call(services.apps.handle, SYSTEM, CreateApp(name="other"))
    [shop] = positions(client, auth, type="app.created", app="shop")
    [other] = positions(client, auth, type="app.created", app="other")
    [account] = positions(client, auth, type="user.created")[:1]
    session_headers("dev@acme.test")
    assert client.get(f"/audit/events/{shop}").status_code == 200
    for hidden in (other, account, 10_000, 0):
        refused = client.get(f"/audit/events/{hidden}")
        assert refused.status_code == 404
        assert '<h1 id="error-heading">Not found</h1>' in refused.text


def test_the_audit_page_is_a_labelled_form_with_an_empty_state(client, auth, history) -> None:
    sign_in_with_token(client, auth)
    page = client.get("/audit").text
    for name in ("actor", "app", "type", "from", "to"):
        assert re.search(rf'<label for="f-{name}">', page), name
    assert '<div class="table-wrap">' in page
    assert 'class="badge' in page
    nothing = client.get("/audit", params={"actor": "user:nobody"})
    assert 'id="audit-empty"' in nothing.text
    assert "Nothing recorded matches these filters" in nothing.text
    bad = client.get("/audit", params={"from": "last tuesday"}).text
    problem = bad.split('id="f-from-problem"', 1)[1].split("</span>", 1)[0]
    assert "is not an ISO 8601 time" in problem
    assert 'value="last tuesday"' in bad
    assert 'id="export-jsonl" href="/api/v1/audit/export?"' in bad  # no time it could not read


def test_a_bad_time_is_said_beside_the_field_with_the_form_kept_and_the_way_back(
    client, auth, history
) -> None:
    sign_in_with_token(client, auth)
    page = client.get("/apps/web", params={"at": "noonish"})
    assert page.status_code == 422
    problem = page.text.split('id="f-at-problem"', 1)[1].split("</span>", 1)[0]
    assert "could not read &#39;noonish&#39; as a time; use 2026-11-27T09:30Z" in problem
    assert 'value="noonish"' in page.text
    assert 'aria-invalid="true"' in page.text
    assert 'id="back-to-now" href="/apps/web"' in page.text
    assert 'id="at-form"' in page.text


def test_a_time_before_the_app_existed_says_so(client, auth, history) -> None:
    sign_in_with_token(client, auth)
    page = client.get("/apps/web", params={"at": "2001-02-03T04:05Z"})
    assert page.status_code == 404
    problem = page.text.split('id="f-at-problem"', 1)[1].split("</span>", 1)[0]
    assert "web did not exist yet at 2001-02-03 04:05 UTC: it was created " in problem
    assert 'id="back-to-now"' in page.text
    unknown = client.get("/apps/nope", params={"at": "2001-02-03"})
    assert unknown.status_code == 404
    assert "No application named" in unknown.text


def test_the_error_page_is_headed_by_its_status_and_leads_back(client, auth) -> None:
    sign_in_with_token(client, auth)
    came_from = "http://testserver.local/apps"
    refused = client.post("/apps", data={"name": "x"}, headers={"referer": came_from})
    assert refused.status_code == 403
    assert '<h1 id="error-heading">Forbidden</h1>' in refused.text
    assert f'id="error-back" class="button" href="{came_from}"' in refused.text
    assert 'id="error-home"' in refused.text
    elsewhere = client.post("/apps", data={"name": "x"}, headers={"referer": "https://evil.test/"})
    assert "error-back" not in elsewhere.text  # only a page of this site
    missing = client.get("/deployments/nope")
    assert missing.status_code == 404
    assert '<h1 id="error-heading">Not found</h1>' in missing.text
