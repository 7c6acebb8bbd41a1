"""The dashboard's API tokens: minting with every option the API has (the secret shown exactly
once), revoking, refusals beside their fields, and the CSRF token required."""

from __future__ import annotations

from tests.web.page_parts import input_value, problem, text_of, value


def test_minting_shows_the_secret_once_and_the_token_works(
    client, member, session_headers, log_types
) -> None:
    member("ann@example.com", "developer")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    page = client.get("/tokens")
    assert page.status_code == 200
    assert 'id="no-tokens"' in page.text
    minted = client.post(
        "/tokens",
        data={
            "csrf_token": token,
            "name": "ci",
            "scope": "deploy",
            "expires_in_days": "30",
            "team": "default",
        },
    )
    assert minted.status_code == 201
    assert log_types()[-1] == "token.created"
    secret = input_value(minted.text, "minted-token-value") or ""
    assert secret.startswith("rvt_")
    assert "this once" in (text_of(minted.text, "minted-token") or "")
    listed = text_of(minted.text, "tokens") or ""
    assert "ci" in listed
    assert "deploy" in listed
    assert "default" in listed
    assert "never" not in listed  # it expires
    again = client.get("/tokens").text
    assert secret not in again
    assert minted.text.count(secret) == 1
    assert (
        client.get("/api/v1/apps", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )


def test_revoking_a_token_records_it_and_ends_it(
    client, member, session_headers, log_types
) -> None:
    member("ann@example.com", "developer")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    minted = client.post("/tokens", data={"csrf_token": token, "name": "laptop"})
    secret = input_value(minted.text, "minted-token-value")
    token_id = minted.text.split('data-token="')[1].split('"')[0]
    refused = client.post(f"/tokens/{token_id}/revoke", data={})
    assert refused.status_code == 403
    revoked = client.post(
        f"/tokens/{token_id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code in (302, 303)
    assert log_types()[-1] == "token.revoked"
    assert "revoked" in (text_of(client.get("/tokens").text, "tokens") or "")
    assert (
        client.get("/api/v1/apps", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )


def test_a_refused_token_says_why_beside_the_field_and_keeps_what_was_typed(
    client, member, session_headers, log_types
) -> None:
    member("ann@example.com", "developer")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    too_long = client.post(
        "/tokens", data={"csrf_token": token, "name": "ci", "expires_in_days": "9999"}
    )
    assert too_long.status_code == 422
    assert "<= 3650" in (problem(too_long.text, "expires_in_days") or "")
    assert value(too_long.text, "name") == "ci"
    assert value(too_long.text, "expires_in_days") == "9999"

    blank = client.post("/tokens", data={"csrf_token": token, "name": "  ", "scope": "read"})
    assert blank.status_code == 422
    assert problem(blank.text, "name")

    # a developer may not mint an admin token: refused as the API refuses it
    api = client.post(
        "/api/v1/tokens",
        json={"name": "root", "scope": "admin"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 403
    admin = client.post("/tokens", data={"csrf_token": token, "name": "root", "scope": "admin"})
    assert admin.status_code == 403
    assert text_of(admin.text, "form-problem") == api.json()["detail"]
    assert value(admin.text, "name") == "root"
    assert 'value="admin" selected' in admin.text
    assert "token.created" not in log_types()


def test_minting_needs_the_pages_csrf_token(client, member, session_headers, log_types) -> None:
    member("ann@example.com", "developer")
    session_headers("ann@example.com")
    refused = client.post("/tokens", data={"name": "ci", "csrf_token": "guess"})
    assert refused.status_code == 403
    assert "token.created" not in log_types()
