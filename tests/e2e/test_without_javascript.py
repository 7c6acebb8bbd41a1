"""The dashboard with JavaScript turned off in Chromium: every form is a plain POST answered
by a page, so signing in, creating an app, changing its settings and variables, deploying,
making and deploying a compose stack, minting a token and filtering the audit history all
still work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import shot, sign_in
from tests.e2e.conftest import create_admin

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"


def test_every_main_form_works_without_javascript(
    browser: Any, server_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = server_factory(data).start()
    url = server.url
    create_admin(data, "ann@example.com", PASSWORD)
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, url, "ann@example.com", PASSWORD)

    page.fill("#new-app-form [name=name]", "web")
    page.fill("#new-app-form [name=git_url]", str(tmp_path / "no-repository-here"))
    page.click("#new-app-form button[type=submit]")
    page.wait_for_url(f"{url}/apps/web")

    page.goto(f"{url}/apps/web/settings")
    page.fill("#settings-form [name=port]", "0")  # the browser's own check stops this one
    page.click("#save-settings")
    assert page.evaluate("!document.querySelector('#f-port').validity.valid")
    page.fill("#settings-form [name=port]", "9000")
    page.fill("#settings-form [name=domains]", "not_a domain!")  # the server refuses this one
    page.click("#save-settings")
    assert page.inner_text("#f-domains-problem")
    assert page.input_value("#settings-form [name=domains]") == "not_a domain!"  # as typed
    page.fill("#settings-form [name=domains]", "web.test")
    page.click("#save-settings")
    assert "Saved" in page.inner_text("#banner")

    page.goto(f"{url}/apps/web/variables")
    page.fill("#paste-form textarea", "A=1\n2BAD=x\n")  # refused by its line
    page.click("#paste-variables")
    assert "line 2" in page.inner_text("main")
    page.fill("#paste-form textarea", "A=1\nB=2\n")
    page.click("#paste-variables")
    assert "B" in page.inner_text("#variables")

    page.goto(f"{url}/apps/web")
    page.click("#deploy")
    page.wait_for_url(f"{url}/deployments/*")
    assert page.inner_text("#status").strip() in {"requested", "source_fetched", "failed"}
    # no live updates without JavaScript: a reload shows where it got to
    for _ in range(100):
        if page.inner_text("#status").strip() == "failed":
            break
        page.wait_for_timeout(300)
        page.reload()
    assert page.inner_text("#status").strip() == "failed"

    page.goto(f"{url}/stacks/new")  # a compose stack, made and deployed by plain forms
    page.fill("#create-stack [name=name]", "blog")
    page.fill("#create-stack [name=compose]", "services:\n  web:\n    image: nginx:1.27\n")
    page.fill("#create-stack [name=routes]", "web 80 blog.test")
    page.click("#create-stack-button")
    assert page.inner_text("#source").startswith("inline")
    page.click("#deploy")
    page.wait_for_url(f"{url}/stacks/*/releases/*")
    assert page.inner_text("#status").strip()

    page.goto(f"{url}/tokens")
    page.fill("#mint [name=name]", "laptop")
    page.click("#mint-button")
    assert page.input_value("#minted-token-value")

    page.goto(f"{url}/audit")
    page.fill("#filters [name=type]", "app.*")
    page.click("#filters button[type=submit]")
    assert "app.created" in page.inner_text("#audit")
    shot(page, "without-javascript-audit")
