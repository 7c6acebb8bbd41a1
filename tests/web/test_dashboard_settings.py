"""The dashboard's settings page: for the instance's administrators only; every setting with
where it comes from (secrets never shown); `public_url` changed as an event that survives a
rebuild and that the webhook set-up then builds on, unless an environment variable pins it;
and the users, whose second factor an admin may turn off."""

from __future__ import annotations

import base64
import time
from functools import partial
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.service.commands import second_factor
from rivetr.service.commands.users import csrf_token
from rivetr.web.app import create_app
from tests.web.conftest import add_member
from tests.web.page_parts import problem, text_of, value

WEB = {"name": "web", "git_url": "https://git.example.com/web.git", "branch": "master"}


def admin(member, session_headers) -> str:  # type: ignore[no-untyped-def]
    member("root@example.com", "owner")
    return str(session_headers("root@example.com")["X-CSRF-Token"])


def test_anyone_but_an_instance_admin_gets_a_403(client, member, session_headers, log_types):
    member("root@example.com", "owner")
    member("dev@example.com", "developer")
    token = session_headers("dev@example.com")["X-CSRF-Token"]
    page = client.get("/settings")
    assert page.status_code == 403
    assert "administrators" in (text_of(page.text, "settings-refused") or "")
    assert 'id="settings"' not in page.text
    changed = client.post(
        "/settings", data={"csrf_token": token, "public_url": "https://evil.example"}
    )
    assert changed.status_code == 403
    assert "manage_members" in (text_of(changed.text, "settings-refused") or "")
    assert "instance.settings_changed" not in log_types()


def test_the_admin_sees_each_setting_with_its_origin_and_changes_public_url(
    client, member, session_headers, log_types, auth, call, services
) -> None:
    token = admin(member, session_headers)
    page = client.get("/settings")
    assert page.status_code == 200
    row = text_of(page.text, "settings") or ""
    assert "data_dir" in row
    assert "default" in row
    assert value(page.text, "public_url") == ""

    assert client.post("/settings", data={"public_url": "https://x.example"}).status_code == 403
    changed = client.post(
        "/settings",
        data={"csrf_token": token, "public_url": "https://deploy.example.com"},
        follow_redirects=False,
    )
    assert changed.status_code in (302, 303)
    assert log_types()[-1] == "instance.settings_changed"
    shown = client.get("/settings").text
    assert value(shown, "public_url") == "https://deploy.example.com"
    assert "the dashboard" in (text_of(shown, "settings") or "")
    audit = client.get("/api/v1/audit", headers=auth).json()
    assert any(e["type"] == "instance.settings_changed" for e in _entries(audit))

    call(services.runner.rebuild)  # the log, not memory, holds it
    assert value(client.get("/settings").text, "public_url") == "https://deploy.example.com"
    assert client.post("/api/v1/apps", json=WEB, headers=auth).status_code == 201
    setup = client.post("/api/v1/apps/web/webhook", headers=auth).json()
    assert setup["urls"]["github"] == "https://deploy.example.com/webhooks/github/web"
    assert setup["note"] is None

    # emptied: back to the config file's value (here the default: none)
    client.post("/settings", data={"csrf_token": token, "public_url": ""})
    setup = client.post("/api/v1/apps/web/webhook", headers=auth).json()
    assert setup["urls"]["github"] == "http://testserver.local/webhooks/github/web"


def test_a_bad_public_url_is_refused_beside_its_field_with_what_was_typed(
    client, member, session_headers, log_types
) -> None:
    token = admin(member, session_headers)
    refused = client.post("/settings", data={"csrf_token": token, "public_url": "ftp://x y"})
    assert refused.status_code == 422
    assert "public_url" in (problem(refused.text, "public_url") or "")
    assert value(refused.text, "public_url") == "ftp://x y"
    assert "instance.settings_changed" not in log_types()


def test_a_secret_setting_is_never_shown(tmp_path: Path) -> None:
    key = base64.b64encode(bytes(range(64))).decode()
    token = "metrics-token-never-shown-42"
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        engine="none",
        proxy_enabled=False,
        secret_key=key,
        metrics_token=token,
    )
    origins = {"secret_key": "environment variable RIVETR_SECRET_KEY"}
    with _client(settings, origins) as client:
        page = _as_admin(client)
        assert key not in page
        assert token not in page
        assert "never shown" in (text_of(page, "settings") or "")


def test_a_setting_pinned_by_an_environment_variable_is_not_editable(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        engine="none",
        proxy_enabled=False,
        public_url="https://pinned.example",
    )
    origins = {"public_url": "environment variable RIVETR_PUBLIC_URL"}
    with _client(settings, origins) as client:
        page = _as_admin(client)
        assert 'id="f-public_url"' not in page
        assert "RIVETR_PUBLIC_URL" in (text_of(page, "pinned-public_url") or "")
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        refused = client.post("/settings", data={"csrf_token": token, "public_url": "https://x.io"})
        assert refused.status_code == 422
        assert "RIVETR_PUBLIC_URL" in (text_of(refused.text, "settings-problem") or "")
        types = [
            e.type for e in client.blocking_portal.call(client.app.state.services.store.read_all)
        ]
        assert "instance.settings_changed" not in types


def test_an_admin_turns_off_a_users_second_factor(
    client, member, session_headers, call, services, log_types
) -> None:
    member("ann@example.com", "developer")
    ann = session_headers("ann@example.com")
    seed = client.post("/api/v1/account/totp", headers=ann).json()["secret"]
    code = second_factor.code_at(seed, time.time())
    assert client.post("/api/v1/account/totp/confirm", json={"code": code}, headers=ann).is_success

    token = admin(member, session_headers)
    page = client.get("/settings").text
    assert "on" in (text_of(page, "users") or "")
    off = client.post(
        "/settings/users/ann@example.com/totp/disable",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert off.status_code in (302, 303)
    assert log_types()[-1] == "user.totp_disabled"
    assert call(services.users.second_factor, "ann@example.com") == "off"


def _entries(audit: Any) -> list[dict[str, Any]]:
    return audit["entries"] if isinstance(audit, dict) else audit


def _client(settings: Settings, origins: dict[str, str]) -> TestClient[Any]:
    app = create_app(settings, open_services=partial(Services.open, origins=origins))
    return TestClient(app)


def _as_admin(client: TestClient[Any]) -> str:
    """Sign the client in as the instance's owner; the settings page it then sees."""
    services = client.app.state.services
    client.blocking_portal.call(add_member, services, "root@example.com", "owner")
    secret, _ = client.blocking_portal.call(
        services.users.sign_in, "root@example.com", "correct horse battery staple"
    )
    client.cookies.set("rivetr_session", secret)
    page = client.get("/settings")
    assert page.status_code == 200, page.text
    assert csrf_token(secret) in page.text
    return page.text
