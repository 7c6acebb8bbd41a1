"""`rivetr serve` tells the settings page where each setting came from: one set by an
environment variable is pinned there (not editable from the dashboard), one from the config
file is shown with the file's path, and a change made on the page is what the webhook set-up
then builds its URLs on."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import create_admin

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"


def signed_in(browser: httpx.Client) -> str:
    """Sign the browser in as the instance's owner; the CSRF token of the settings page."""
    signed = browser.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    return str(signed.json()["csrf_token"])


def test_an_environment_variable_pins_public_url_on_the_settings_page(
    tmp_path: Path, server_factory
) -> None:
    data = tmp_path / "data"
    create_admin(data, "owner@example.com", PASSWORD)
    env = {"RIVETR_ENGINE": "none", "RIVETR_PUBLIC_URL": "https://pinned.example"}
    server = server_factory(data, env).start()
    with httpx.Client(base_url=server.url) as browser:
        signed_in(browser)
        page = browser.get("/settings")
        assert page.status_code == 200, page.text
        assert 'id="f-public_url"' not in page.text
        assert "pinned by environment variable RIVETR_PUBLIC_URL" in page.text
        row = re.search(r'data-setting="port">(.*?)</tr>', page.text, re.S)
        assert row is not None
        assert "command line" in row.group(1)


def test_a_change_on_the_settings_page_is_what_webhook_urls_are_built_on(
    tmp_path: Path, server_factory
) -> None:
    data = tmp_path / "data"
    create_admin(data, "owner@example.com", PASSWORD)
    config = tmp_path / "rivetr.toml"
    config.write_text('public_url = "https://from-file.example"\n')
    env = {"RIVETR_ENGINE": "none", "RIVETR_CONFIG": str(config)}
    server = server_factory(data, env).start()
    with httpx.Client(base_url=server.url) as browser:
        csrf = signed_in(browser)
        page = browser.get("/settings").text
        assert str(config) in page
        changed = browser.post(
            "/settings", data={"csrf_token": csrf, "public_url": "https://deploy.example.com"}
        )
        assert changed.status_code in (302, 303), changed.text
        headers = {"X-CSRF-Token": csrf}
        assert browser.post("/api/v1/apps", json={"name": "site"}, headers=headers).is_success
        setup = browser.post("/api/v1/apps/site/webhook", headers=headers).json()
        assert setup["urls"]["github"] == "https://deploy.example.com/webhooks/github/site"
