"""People and access through the dashboard in Chromium, against a real `rivetr serve`: a team
made, a member invited by a link opened in another browser, their role changed; an API token
minted (shown once), used, revoked; the second factor set up from its QR code and used to sign
in; the instance's public URL changed, which the webhook URLs follow. Each page is screenshotted
and checked by axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.browser import assert_accessible, readme_shot, sign_in
from tests.e2e.conftest import create_admin

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"


def test_teams_tokens_two_factor_and_settings_from_the_dashboard(
    browser: Any, server_factory: Any, tmp_path: Path, axe_script: Path
) -> None:
    data = tmp_path / "data"
    server = server_factory(data).start()
    url = server.url
    create_admin(data, "ann@example.com", PASSWORD)
    ann = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    ann.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(ann, url, "ann@example.com", PASSWORD)

    ann.click("nav a[href='/teams']")
    ann.fill("#create-team [name=team]", "shop")
    ann.fill("#create-team [name=name]", "The shop")
    ann.click("#create-team-button")
    ann.wait_for_url(f"{url}/teams/shop")
    ann.fill("#invite [name=email]", "bob@example.com")
    ann.select_option("#invite [name=role]", "developer")
    ann.click("#invite-button")
    link = ann.input_value("#invitation-link-value")
    assert "/invite/" in link
    assert_accessible(ann, axe_script, "team")

    bob = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    bob.goto(link)
    assert_accessible(bob, axe_script, "invitation")
    bob.fill("#accept [name=password]", PASSWORD + " bob")
    bob.click("#accept button[type=submit]")
    bob.wait_for_url(f"{url}/")
    bob.goto(f"{url}/teams")
    assert "shop" in bob.inner_text("#teams")

    ann.goto(f"{url}/teams/shop")
    row = ann.locator("tr[data-member='bob@example.com']")
    row.locator("select").select_option("viewer")
    row.locator("button", has_text="Change role").click()
    ann.wait_for_url(f"{url}/teams/shop*")
    assert "viewer" in ann.inner_text("tr[data-member='bob@example.com']")

    ann.click("nav a[href='/tokens']")
    ann.fill("#mint [name=name]", "ci")
    ann.select_option("#mint [name=scope]", "deploy")
    ann.select_option("#mint [name=team]", "shop")
    ann.click("#mint-button")
    secret = ann.input_value("#minted-token-value")
    assert_accessible(ann, axe_script, "tokens")
    api = f"{url}/api/v1/apps"
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(api, headers=bearer, timeout=10).status_code == 200
    ann.goto(f"{url}/tokens")
    assert secret not in ann.content()  # shown once
    ann.locator("#tokens tr", has_text="ci").locator("button", has_text="Revoke").click()
    assert httpx.get(api, headers=bearer, timeout=10).status_code == 401

    ann.click("nav a[href='/account']")
    ann.click("#totp-enroll-button")
    assert ann.locator("#totp-setup svg").count() == 1  # the QR code, drawn inline
    seed = ann.inner_text("#totp-secret").strip()
    assert_accessible(ann, axe_script, "account-second-factor")
    readme_shot(ann, "second-factor", tmp_path)
    ann.fill("#totp-confirm [name=code]", pyotp.TOTP(seed).now())
    ann.click("#totp-confirm-button")
    recovery = ann.inner_text("#recovery-codes-list").split()
    assert len(recovery) >= 5
    assert "The second factor is on" in ann.inner_text("#recovery-codes")

    again = browser.new_context().new_page()
    again.goto(f"{url}/login")
    again.fill("#password-login [name=email]", "ann@example.com")
    again.fill("#password-login [name=password]", PASSWORD)
    again.click("#password-login button[type=submit]")
    assert "code" in again.inner_text("#f-code-problem").lower()  # asked for, beside its field
    again.fill("#password-login [name=password]", PASSWORD)
    again.fill("#password-login [name=code]", recovery[0])
    again.click("#password-login button[type=submit]")
    again.wait_for_url(f"{url}/")

    ann.click("nav a[href='/settings']")
    ann.fill("#settings-form [name=public_url]", "https://deploy.example.com")
    ann.click("#settings-button")
    ann.wait_for_url(f"{url}/settings*")
    assert_accessible(ann, axe_script, "settings")
    bob.goto(f"{url}/settings")
    assert "administ" in bob.inner_text("main").lower()  # not theirs to see: said so
    ann.goto(f"{url}/")
    ann.fill("#new-app-form [name=name]", "web")
    ann.click("#new-app-form button[type=submit]")
    ann.wait_for_url(f"{url}/apps/web")
    ann.goto(f"{url}/apps/web/settings")
    ann.click("#webhook-on")
    assert "https://deploy.example.com/webhooks/github/web" in ann.inner_text("#webhook-urls")
    assert errors == []
