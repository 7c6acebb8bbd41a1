"""A token never outgrows or outlives what minted it: viewers mint nothing, a token's child is
capped at its parent's expiry and stops with it, a removed member's tokens stay dead when they
are added again, and read and deploy tokens cannot act on their owner's account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.access import SYSTEM
from rivetr.domain.events import Event, MemberAdded, MemberRemoved, TokenCreated
from rivetr.service.commands.tokens import TOKEN_PREFIX, hash_secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def minted(client, headers, **body) -> dict:
    response = client.post("/api/v1/tokens", json={"name": "t", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_viewer_mints_no_token(client, member, session_headers, log_types):
    member("viewer@example.com", "viewer")
    csrf = session_headers("viewer@example.com")
    before = log_types()

    for scope in ("read", "deploy", "admin"):
        response = client.post("/api/v1/tokens", json={"name": "x", "scope": scope}, headers=csrf)
        assert response.status_code == 403, response.text
        assert "mint_tokens" in response.text or "manage_members" in response.text

    assert log_types() == before


def test_a_one_day_tokens_child_expires_with_it_and_dies_when_it_is_revoked(
    client, member, session_headers
):
    member("admin@example.com", "admin")
    csrf = session_headers("admin@example.com")
    parent = minted(client, csrf, scope="admin", expires_in_days=1)
    client.cookies.clear()

    forever = minted(client, bearer(parent["token"]), scope="deploy")
    longer = minted(client, bearer(parent["token"]), scope="read", expires_in_days=30)

    assert forever["expires_at"] == longer["expires_at"] == parent["expires_at"]
    assert forever["parent_token_id"] == parent["token_id"]
    admin_child = minted(client, bearer(parent["token"]), scope="admin")
    grandchild = minted(client, bearer(admin_child["token"]), scope="read")
    assert grandchild["parent_token_id"] == admin_child["token_id"]
    assert client.get("/api/v1/apps", headers=bearer(forever["token"])).status_code == 200

    csrf = session_headers("admin@example.com")
    revoked = client.delete(f"/api/v1/tokens/{parent['token_id']}", headers=csrf)
    client.cookies.clear()

    assert revoked.status_code == 204
    for child in (forever, longer, admin_child, grandchild):
        refused = client.get("/api/v1/apps", headers=bearer(child["token"]))
        assert refused.status_code == 401
        assert f"token {parent['token_id']}, which it descends from, was revoked" in refused.text


def test_a_developer_mints_no_admin_token_and_their_deploy_token_mints_nothing(
    client, member, session_headers
):
    member("dev@example.com", "developer", team="acme")
    csrf = session_headers("dev@example.com")
    parent = minted(client, csrf, scope="deploy", team="acme")
    admin = client.post(
        "/api/v1/tokens", json={"name": "x", "scope": "admin", "team": "acme"}, headers=csrf
    )
    assert admin.status_code == 403
    client.cookies.clear()

    child = client.post("/api/v1/tokens", json={"name": "c"}, headers=bearer(parent["token"]))

    assert child.status_code == 403
    assert "a deploy-scoped token cannot mint tokens" in child.text


def test_an_admin_token_mints_only_for_its_own_team(client, member, session_headers):
    member("own@example.com", "owner", team="acme")
    csrf = session_headers("own@example.com")
    parent = minted(client, csrf, scope="admin", team="acme")
    client.cookies.clear()

    elsewhere = client.post(
        "/api/v1/tokens", json={"name": "x", "team": "default"}, headers=bearer(parent["token"])
    )

    assert elsewhere.status_code == 403
    assert "mints tokens for that team only" in elsewhere.text
    assert minted(client, bearer(parent["token"]))["team"] == "acme"


def test_a_child_of_an_expired_token_is_refused_whatever_its_own_expiry(client, call, services):
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    events = [
        (
            "p",
            TokenCreated(token_id="p", name="p", secret_hash=hash_secret("rvt_p"), expires_at=past),
        ),
        (
            "c",
            TokenCreated(
                token_id="c", name="c", secret_hash=hash_secret("rvt_c"), parent_token_id="p"
            ),
        ),
    ]
    for token_id, event in events:
        call(services.store.append, f"token-{token_id}", 0, [event], EventMeta(actor="test"))

    refused = client.get("/api/v1/apps", headers=bearer("rvt_c"))

    assert refused.status_code == 401
    assert "token p, which it descends from, expired" in refused.text


def test_a_removed_members_token_stays_refused_when_they_are_added_again(
    client, call, services, member, session_headers
):
    member("dev@example.com", "developer")
    csrf = session_headers("dev@example.com")
    before = minted(client, csrf, scope="deploy")
    client.cookies.clear()
    assert client.get("/api/v1/apps", headers=bearer(before["token"])).status_code == 200

    call(services.teams.remove_member, SYSTEM, "default", "dev@example.com")
    call(services.teams.add_member, SYSTEM, "default", "dev@example.com", "developer")

    refused = client.get("/api/v1/apps", headers=bearer(before["token"]))
    assert refused.status_code == 401
    assert "membership that has ended" in refused.text
    csrf = session_headers("dev@example.com")
    after = minted(client, csrf, scope="deploy")
    client.cookies.clear()
    assert client.get("/api/v1/apps", headers=bearer(after["token"])).status_code == 200


class TokenCreatedBeforeTeams(Event, frozen=True, kw_only=True, tag="token.created"):
    """token.created as Rivetr wrote it before tokens had a team or a parent."""

    token_id: str
    name: str
    secret_hash: str
    scope: str
    owner: str | None = None
    expires_at: str | None = None


def test_tokens_from_an_older_log_work_unless_their_owner_was_removed_since(
    client, call, services, member
):
    """The choice for older logs: their tokens carry no parent and no membership, and the
    view judges them from the log as it stands, so a token whose owner was removed from the
    default team and added again (before or after the upgrade) stays refused."""
    member("kept@example.com", "admin")
    member("back@example.com", "admin")
    owners = {"kept": "kept@example.com", "back": "back@example.com", "cli": None}
    older = {
        token_id: TokenCreatedBeforeTeams(
            token_id=token_id,
            name=token_id,
            secret_hash=hash_secret(f"{TOKEN_PREFIX}{token_id}"),
            scope="deploy",
            owner=owner,
        )
        for token_id, owner in owners.items()
    }
    for token_id, event in older.items():
        call(services.store.append, f"token-{token_id}", 0, [event], EventMeta(actor="test"))
    leave_and_return = [
        MemberRemoved(team="default", user_id="back@example.com"),
        MemberAdded(team="default", user_id="back@example.com", role="admin"),
    ]
    call(services.store.append, "team-default", None, leave_and_return, EventMeta(actor="test"))
    # written straight to the log: the view judges them once it has read them
    call(services.runner.wait_until, call(services.store.head))

    def status(token_id: str) -> int:
        headers = bearer(f"{TOKEN_PREFIX}{token_id}")
        return client.get("/api/v1/apps", headers=headers).status_code

    assert [status(t) for t in ("kept", "cli", "back")] == [200, 200, 401]
    kept = next(t for t in call(services.read.tokens.every) if t.token_id == "kept")
    assert (kept.parent_token_id, kept.team) == (None, None)


def test_read_and_deploy_tokens_keep_off_their_owners_account_but_may_revoke_themselves(
    client, member, session_headers
):
    member("ann@example.com", "admin")
    csrf = session_headers("ann@example.com")
    admin = minted(client, csrf, scope="admin")
    narrow = {scope: minted(client, csrf, scope=scope) for scope in ("read", "deploy")}
    client.cookies.clear()

    for scope, token in narrow.items():
        for method, path in (
            ("GET", "/api/v1/tokens"),
            ("GET", "/api/v1/sessions"),
            ("DELETE", f"/api/v1/tokens/{admin['token_id']}"),
            ("DELETE", "/api/v1/sessions/any"),
        ):
            refused = client.request(method, path, headers=bearer(token["token"]))
            assert refused.status_code == 403, (scope, method, path)
            assert f"a {scope}-scoped token cannot" in refused.json()["detail"]
            assert "admin-scoped token" in refused.json()["detail"]

    assert client.get("/api/v1/tokens", headers=bearer(admin["token"])).status_code == 200
    assert client.get("/api/v1/sessions", headers=bearer(admin["token"])).status_code == 200
    read = narrow["read"]
    gone = client.delete(f"/api/v1/tokens/{read['token_id']}", headers=bearer(read["token"]))
    assert gone.status_code == 204
    assert client.get("/api/v1/apps", headers=bearer(read["token"])).status_code == 401


def test_a_deleted_teams_tokens_stay_refused_when_a_team_of_that_name_is_made_again(
    client, call, services, member, session_headers
):
    member("own@example.com", "owner", team="acme")
    csrf = session_headers("own@example.com")
    token = minted(client, csrf, scope="deploy", team="acme")
    client.cookies.clear()

    call(services.teams.delete, SYSTEM, "acme")
    call(services.teams.create, SYSTEM, "acme", "Acme again", "own@example.com")

    refused = client.get("/api/v1/apps", headers=bearer(token["token"]))
    assert refused.status_code == 401
    assert "membership that has ended" in refused.text
