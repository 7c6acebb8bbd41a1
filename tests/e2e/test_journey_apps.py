"""A new user's journey through the dashboard in Chromium, against a real `rivetr serve` and a
real engine: the first account from the setup code, an app created with the wrong port, the
three common mistakes each explained in a sentence on the deployment page, each fixed from the
settings page, variables pasted as a .env, the webhook turned on, and the app deleted. Each page
is screenshotted (test-artifacts/screenshots) and checked by axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser import assert_accessible, readme_shot, shot
from tests.e2e.conftest import run_cli
from tests.integration.deploy_helpers import LISTENS_ON_8080, SERVING, TYPO, AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.docker, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
SETTLED_MS = 90_000


def settled(page: Any) -> str:
    """The deployment page's status once it is live or failed (swapped in without a reload)."""
    page.wait_for_function(
        "['live', 'failed'].includes(document.getElementById('status').textContent.trim())",
        timeout=SETTLED_MS,
    )
    return str(page.inner_text("#status")).strip()


def deploy(page: Any, url: str, app: str) -> str:
    page.goto(f"{url}/apps/{app}")
    page.click("#deploy")
    page.wait_for_url(f"{url}/deployments/*")
    return settled(page)


def save_settings(page: Any, url: str, app: str, **fields: str) -> None:
    page.goto(f"{url}/apps/{app}/settings")
    for name, value in fields.items():
        page.fill(f"#settings-form [name={name}]", value)
    page.click("#save-settings")
    page.wait_for_selector("#banner")


def test_a_new_user_meets_the_three_mistakes_and_fixes_each_from_the_dashboard(
    browser: Any, server_factory: Any, tmp_path: Path, axe_script: Path
) -> None:
    data = tmp_path / "data"
    imported = run_cli(data, "images", "import-busybox")
    assert imported.returncode == 0, imported.stderr
    server = server_factory(data, {"RIVETR_DRAIN_S": "1"}).start()
    code = re.search(r"give the code (\S+)", server.output())
    assert code, server.output()
    url = server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{url}/")
    page.click("a[href='/setup']")  # the sign-in page leads a first visitor to the setup
    page.fill("#setup [name=code]", code.group(1))
    page.fill("#setup [name=email]", "ann@example.com")
    page.fill("#setup [name=password]", PASSWORD)
    page.fill("#setup [name=again]", PASSWORD)
    page.click("#setup button[type=submit]")
    page.wait_for_url(f"{url}/")
    assert_accessible(page, axe_script, "journey-home-empty")

    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1", dockerfile=LISTENS_ON_8080, body="hello v1")
    page.fill("#new-app-form [name=name]", "web")
    page.fill("#new-app-form [name=git_url]", str(repo.path))
    page.fill("#new-app-form [name=port]", "3000")  # mistake 1: the image listens on 8080
    page.fill("#new-app-form [name=domains]", "web.test")
    page.click("#new-app-form details > summary")
    page.fill("#new-app-form [name=health_interval_s]", "0.5")
    page.fill("#new-app-form [name=health_timeout_s]", "2")
    page.fill("#new-app-form [name=health_boot_deadline_s]", "4")
    shot(page, "journey-create-form")
    page.click("#new-app-form button[type=submit]")
    page.wait_for_url(f"{url}/apps/web")

    assert deploy(page, url, "web") == "failed"
    said = page.inner_text("#failure-reason")
    assert "the image listens on 8080; the app is set to 3000" in said
    readme_shot(page, "failure-explained", tmp_path)
    assert_accessible(page, axe_script, "mistake-wrong-port")
    page.goto(f"{url}/apps/web")
    assert "the image listens on 8080" in page.inner_text("#port-warning")
    page.click("#change-settings")
    page.wait_for_url(f"{url}/apps/web/settings")
    assert_accessible(page, axe_script, "app-settings")
    save_settings(page, url, "web", port="8080")
    assert deploy(page, url, "web") == "live"
    served = httpx.get(server.proxy_url, headers={"Host": "web.test"}, timeout=10)
    assert served.text == "hello v1"
    page.goto(f"{url}/apps/web")
    visit = page.get_attribute("a.visit", "href")
    assert visit == f"http://web.test:{server.proxy_port}"
    assert_accessible(page, axe_script, "app-live")

    save_settings(page, url, "web", health_path="/healthz")  # mistake 2: no such path
    assert deploy(page, url, "web") == "failed"
    said = page.inner_text("#failure-reason")
    assert "the health check GET /healthz on port 8080 answered 404 Not Found 3 times" in said
    shot(page, "mistake-health-path")
    save_settings(page, url, "web", health_path="/")
    # the live release kept serving through both failed deployments
    assert httpx.get(server.proxy_url, headers={"Host": "web.test"}, timeout=10).text == "hello v1"

    repo.commit("typo", dockerfile=TYPO)  # mistake 3: a Dockerfile typo
    assert deploy(page, url, "web") == "failed"
    said = page.inner_text("#failure-reason")
    assert "line 3 of Dockerfile has an unknown instruction RUNN" in said
    shot(page, "mistake-dockerfile-typo")
    repo.commit("v2", dockerfile=SERVING, body="hello v2")
    assert deploy(page, url, "web") == "live"
    assert httpx.get(server.proxy_url, headers={"Host": "web.test"}, timeout=10).text == "hello v2"
    page.goto(f"{url}/apps/web")
    readme_shot(page, "app", tmp_path)
    page.goto(f"{url}/")
    readme_shot(page, "home", tmp_path)

    # a slow build, cancelled from its page while it runs: the live release stays
    repo.commit("slow", dockerfile=SERVING.replace("CMD", "RUN sleep 60\nCMD"), body="slow")
    page.goto(f"{url}/apps/web")
    page.click("#deploy")
    page.wait_for_url(f"{url}/deployments/*")
    page.wait_for_function(
        "document.getElementById('status').textContent.trim() === 'building'", timeout=30_000
    )
    page.click("#cancel-deployment")
    page.wait_for_function(
        "document.getElementById('status').textContent.trim() === 'cancelled'",
        timeout=SETTLED_MS,
    )
    shot(page, "deployment-cancelled")
    assert httpx.get(server.proxy_url, headers={"Host": "web.test"}, timeout=10).text == "hello v2"

    page.goto(f"{url}/apps/web/settings")
    readme_shot(page, "settings", tmp_path)
    page.goto(f"{url}/audit")
    readme_shot(page, "audit", tmp_path)
    page.goto(f"{url}/apps/web/variables")
    page.fill("#paste-form textarea", "DATABASE_URL=postgres://db/web\nSECRET_KEY=s3cr3t-value\n")
    page.click("#paste-variables")
    page.wait_for_selector("#banner")
    listed = page.inner_text("#variables")
    assert "DATABASE_URL" in listed
    assert "SECRET_KEY" in listed
    assert "s3cr3t-value" not in page.content()
    assert_accessible(page, axe_script, "app-variables")

    page.goto(f"{url}/apps/web/settings")
    page.click("#webhook-on")
    secret = page.input_value("#webhook-secret")
    assert len(secret) >= 32
    assert f"{url}/webhooks/github/web" in page.inner_text("#webhook-urls")
    assert_accessible(page, axe_script, "app-webhook")
    page.goto(f"{url}/apps/web/settings")
    assert secret not in page.content()  # shown once

    page.fill("#delete-form [name=confirm]", "web")
    page.click("#delete-app")
    page.wait_for_url(f"{url}/*")
    assert "web" not in page.inner_text("#apps-region")
    shot(page, "journey-deleted")
    assert errors == []
