"""Teams over HTTP: apps seen only by their team, an invitation link that opens an account (or
adds an existing one) once, roles changed by admins, and a team handed over or deleted."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import PASSWORD


@pytest.fixture
def acme(client, member, session_headers):
    """Ann owns acme, with the app `shop`; Olga owns `other`, with the app `secret-app`."""
    member("ann@example.com", "owner", "acme")
    member("olga@example.com", "owner", "other")
    csrf = session_headers("olga@example.com")
    assert client.post("/api/v1/apps", json={"name": "secret-app"}, headers=csrf).status_code == 201
    csrf = session_headers("ann@example.com")
    made = client.post("/api/v1/apps", json={"name": "shop"}, headers=csrf)
    assert made.status_code == 201, made.text
    assert made.json()["team"] == "acme"  # the one team where Ann may create apps
    return csrf


def test_a_member_sees_only_their_teams_apps_and_another_teams_app_is_absent(client, acme):
    assert [a["name"] for a in client.get("/api/v1/apps").json()] == ["shop"]
    assert client.get("/api/v1/apps/secret-app").status_code == 404
    assert client.get("/api/v1/apps/secret-app/deployments").status_code == 404
    assert [t["team"] for t in client.get("/api/v1/teams").json()] == ["acme"]
    assert client.get("/api/v1/teams/other").status_code == 404
    home = client.get("/").text
    assert "shop" in home
    assert "secret-app" not in home


def test_an_invitation_link_opens_an_account_in_the_team_once(
    client, acme, log_types, call, services
):
    invited = client.post(
        "/api/v1/teams/acme/invitations",
        json={"email": "Bob@Example.com", "role": "developer"},
        headers=acme,
    )
    assert invited.status_code == 201, invited.text
    link = invited.json()["link"]
    secret = link.rsplit("/", 1)[1]
    assert secret.startswith("rvi_")
    assert secret not in str(call(services.store.read_all))  # only its hash is kept
    listed = client.get("/api/v1/teams/acme").json()["invitations"]
    assert [(i["email"], i["status"]) for i in listed] == [("Bob@Example.com", "open")]
    client.cookies.clear()

    no_password = client.post("/api/v1/invitations/accept", json={"secret": secret})
    assert no_password.status_code == 401
    joined = client.post(
        "/api/v1/invitations/accept", json={"secret": secret, "password": PASSWORD}
    )

    assert joined.status_code == 200, joined.text
    assert joined.json()["user"] == "bob@example.com"
    assert joined.json()["role"] == "developer"
    # signed in by the acceptance: Bob deploys in acme, but may not delete its apps
    csrf = {"X-CSRF-Token": joined.json()["csrf_token"]}
    assert [a["name"] for a in client.get("/api/v1/apps").json()] == ["shop"]
    assert client.patch("/api/v1/apps/shop", json={"port": 9000}, headers=csrf).status_code == 200
    assert client.delete("/api/v1/apps/shop", headers=csrf).status_code == 403
    client.cookies.clear()
    again = client.post("/api/v1/invitations/accept", json={"secret": secret, "password": PASSWORD})
    assert again.status_code == 404
    assert "used, revoked or never existed" in again.json()["detail"]
    accepted = [e for e in call(services.store.read_all) if e.type == "team.invitation_accepted"]
    assert (accepted[0].team, accepted[0].source) == ("acme", "invitation")


def test_an_existing_account_joins_signed_in_and_the_link_is_for_its_address_only(
    client, acme, member, session_headers
):
    member("olga2@example.com", "viewer", "other")
    invited = client.post(
        "/api/v1/teams/acme/invitations",
        json={"email": "olga2@example.com", "role": "viewer"},
        headers=acme,
    ).json()
    secret = invited["link"].rsplit("/", 1)[1]
    client.cookies.clear()
    not_signed_in = client.post(
        "/api/v1/invitations/accept", json={"secret": secret, "password": PASSWORD}
    )
    assert not_signed_in.status_code == 401
    assert "sign in" in not_signed_in.json()["detail"]

    session_headers("olga@example.com")  # the wrong account
    wrong = client.post(
        "/api/v1/invitations/accept",
        json={"secret": secret},
        headers=session_headers("olga@example.com"),
    )
    assert wrong.status_code == 422
    right = client.post(
        "/api/v1/invitations/accept",
        json={"secret": secret},
        headers=session_headers("olga2@example.com"),
    )
    assert right.status_code == 200, right.text
    assert sorted(t["team"] for t in client.get("/api/v1/teams").json()) == ["acme", "other"]


def test_a_revoked_invitation_and_an_unknown_one_let_nobody_in(client, acme):
    invited = client.post(
        "/api/v1/teams/acme/invitations", json={"email": "x@example.com"}, headers=acme
    ).json()
    revoked = client.delete(
        f"/api/v1/teams/acme/invitations/{invited['invitation_id']}", headers=acme
    )
    assert revoked.status_code == 204
    client.cookies.clear()
    secret = invited["link"].rsplit("/", 1)[1]
    for attempt in (secret, "rvi_made-up", "not-even-a-prefix"):
        response = client.post(
            "/api/v1/invitations/accept", json={"secret": attempt, "password": PASSWORD}
        )
        assert response.status_code == 404, attempt


def test_the_invitation_page_opens_an_account_and_signs_it_in(client, acme, services, call):
    invited = client.post(
        "/api/v1/teams/acme/invitations", json={"email": "cat@example.com"}, headers=acme
    ).json()
    client.cookies.clear()
    path = "/" + invited["link"].split("/", 3)[3]

    page = client.get(path)
    assert "join the team <strong>acme</strong>" in page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    forged = client.post(path, data={"password": PASSWORD}, follow_redirects=False)
    assert forged.status_code == 403
    done = client.post(
        path, data={"password": PASSWORD, "form_token": token}, follow_redirects=False
    )
    assert done.status_code in (302, 303), done.text
    assert "signed in as user:cat@example.com" in client.get("/").text
    assert "shop" in client.get("/").text
    assert "used, revoked" in client.get(path).text


def test_admins_change_roles_and_remove_members_but_never_the_owner(
    client, acme, member, session_headers
):
    member("dan@example.com", "admin", "acme")
    member("eve@example.com", "viewer", "acme")
    admin = session_headers("dan@example.com")

    promoted = client.patch(
        "/api/v1/teams/acme/members/eve@example.com", json={"role": "developer"}, headers=admin
    )
    assert promoted.status_code == 200
    roles = {m["user_id"]: m["role"] for m in promoted.json()["members"]}
    assert roles["eve@example.com"] == "developer"
    owner = client.delete("/api/v1/teams/acme/members/ann@example.com", headers=admin)
    assert owner.status_code == 422
    assert "hand ownership over" in owner.json()["detail"]
    as_owner = client.patch(
        "/api/v1/teams/acme/members/eve@example.com", json={"role": "owner"}, headers=admin
    )
    assert as_owner.status_code == 400  # only invitable roles are accepted
    assert (
        client.post(
            "/api/v1/teams/acme/transfer", json={"to_user": "dan@example.com"}, headers=admin
        ).status_code
        == 403
    )
    removed = client.delete("/api/v1/teams/acme/members/eve@example.com", headers=admin)
    assert removed.status_code == 204
    eve = session_headers("eve@example.com")
    assert client.get("/api/v1/apps").json() == []
    assert client.patch("/api/v1/apps/shop", json={"port": 1}, headers=eve).status_code == 403


def test_the_owner_hands_the_team_over_and_deletes_it_once_it_has_no_apps(
    client, acme, member, session_headers
):
    member("dan@example.com", "admin", "acme")
    handed = client.post(
        "/api/v1/teams/acme/transfer", json={"to_user": "dan@example.com"}, headers=acme
    )
    assert handed.status_code == 200
    assert handed.json()["team"]["owner"] == "dan@example.com"
    assert client.delete("/api/v1/teams/acme", headers=acme).status_code == 403  # admin now

    dan = session_headers("dan@example.com")
    busy = client.delete("/api/v1/teams/acme", headers=dan)
    assert busy.status_code == 422
    assert "still owns 1 app" in busy.json()["detail"]
    assert client.delete("/api/v1/apps/shop", headers=dan).status_code == 204
    assert client.delete("/api/v1/teams/acme", headers=dan).status_code == 204
    assert client.get("/api/v1/teams").json() == []


def test_anyone_signed_in_creates_a_team_they_own(client, member, session_headers):
    member("fay@example.com", "viewer")
    csrf = session_headers("fay@example.com")

    made = client.post("/api/v1/teams", json={"team": "fays", "name": "Fay's"}, headers=csrf)
    bad = client.post("/api/v1/teams", json={"team": "Not A Slug", "name": "x"}, headers=csrf)

    assert made.status_code == 201, made.text
    assert made.json()["team"]["owner"] == "fay@example.com"
    assert bad.status_code == 400
    app = client.post("/api/v1/apps", json={"name": "blog", "team": "fays"}, headers=csrf)
    assert app.status_code == 201
    nowhere = client.post("/api/v1/apps", json={"name": "x", "team": "nope"}, headers=csrf)
    assert nowhere.status_code == 404
