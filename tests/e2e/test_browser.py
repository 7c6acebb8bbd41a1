"""The dashboard in a real headless Chromium against a real `rivetr serve` and a real engine:
sign in, create an app, deploy it and watch the deployment page turn live without a reload,
see the container's own output arrive on the app page, deploy again, roll back from the app
page, and download the audit export, which verifies. Screenshots of the main pages are saved
under test-artifacts/screenshots (RIVETR_ARTIFACTS)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime

import httpx
import pytest

from rivetr.adapters.eventstore.chain import verify_export
from rivetr.adapters.eventstore.export import read_jsonl_export
from tests.e2e.browser import shot
from tests.e2e.conftest import rivetr_command, run_cli
from tests.integration.deploy_helpers import AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.docker, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
LIVE_TIMEOUT_MS = 60_000


def wait_live(page) -> None:  # type: ignore[no-untyped-def]
    """The deployment page's status turns live by itself (its live region is swapped in)."""
    try:
        page.wait_for_function(
            "document.getElementById('status').textContent.trim() === 'live'",
            timeout=LIVE_TIMEOUT_MS,
        )
    except Exception:
        shot(page, "failed")
        status = page.inner_text("#summary-region")
        raise AssertionError(f"the deployment did not turn live on the page: {status}") from None


def proxied(server, host: str) -> str:  # type: ignore[no-untyped-def]
    return httpx.get(server.proxy_url, headers={"Host": host}, timeout=10).text


def test_sign_in_create_deploy_watch_roll_back_and_export(
    browser, server_factory, tmp_path
) -> None:
    data = tmp_path / "data"
    imported = run_cli(data, "images", "import-busybox")  # the base image the app builds FROM
    assert imported.returncode == 0, imported.stderr
    server = server_factory(
        data, {"RIVETR_DRAIN_S": "1", "RIVETR_RESOURCES_INTERVAL_S": "0.5"}
    ).start()
    made = subprocess.run(
        rivetr_command(
            "users", "create-admin", "--email", "admin@example.com", "--data-dir", str(data)
        ),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1", body="hello v1")

    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # our scripts must not throw
    page.goto(f"{server.url}/login")
    shot(page, "login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server.url}/")

    page.fill("#new-app-form input[name=name]", "hello")
    page.fill("#new-app-form input[name=git_url]", str(repo.path))
    page.fill("#new-app-form input[name=port]", "8080")
    page.fill("#new-app-form input[name=domains]", "hello.test")
    page.click("#new-app-form button[type=submit]")
    page.wait_for_url(f"{server.url}/apps/hello")

    page.click("#deploy")
    page.wait_for_url(f"{server.url}/deployments/*")
    first = page.url.rsplit("/", 1)[1]
    page.evaluate("window.notReloaded = true")
    wait_live(page)
    assert page.evaluate("window.notReloaded === true")  # updated in place, not reloaded
    page.wait_for_function(
        "document.getElementById('log').textContent.includes('live on 127.0.0.1')",
        timeout=LIVE_TIMEOUT_MS,
    )
    timeline = page.inner_text("#timeline")
    for step in ("requested", "source_fetched", "image_built", "health_probed", "traffic_switched"):
        assert step in timeline
    shot(page, "deployment")
    assert proxied(server, "hello.test") == "hello v1"

    page.goto(f"{server.url}/apps/hello")
    page.wait_for_selector("#memory-chart", timeout=30_000)  # the chart fills in by itself
    assert "MB" in page.inner_text("#resources-region")
    # the container's own output follows live: busybox httpd -v logs a 404 as it answers it
    httpx.get(f"{server.proxy_url}/no-such-page", headers={"Host": "hello.test"}, timeout=10)
    page.wait_for_function(
        "document.getElementById('runtime-log').textContent.includes('response:404')",
        timeout=30_000,
    )
    printed = run_cli(data, "logs", "hello", "--tail", "3", "--timestamps")  # and from the CLI
    assert printed.returncode == 0, printed.stderr
    assert "response:404" in printed.stdout
    assert printed.stdout.startswith(datetime.now(UTC).strftime("%Y-"))
    unknown = run_cli(data, "logs", "nope")
    assert unknown.returncode == 1
    assert "no application named 'nope'" in unknown.stderr

    repo.commit("v2", body="hello v2")
    page.goto(f"{server.url}/apps/hello")
    page.click("#deploy")
    page.wait_for_url(f"{server.url}/deployments/*")
    wait_live(page)
    second = page.url.rsplit("/", 1)[1]
    assert proxied(server, "hello.test") == "hello v2"
    time.sleep(0.05)
    v2_moment = datetime.now(UTC).isoformat()
    time.sleep(0.05)

    page.goto(f"{server.url}/apps/hello")
    page.click(f"tr[data-deployment='{first}'] button.rollback")
    page.wait_for_url(f"{server.url}/deployments/*")
    wait_live(page)
    assert proxied(server, "hello.test") == "hello v1"
    page.goto(f"{server.url}/apps/hello")
    shot(page, "app")

    page.fill("#at-form input[name=at]", v2_moment)  # what was running before the rollback?
    page.click("#at-form button[type=submit]")
    assert page.inner_text("#live-then").startswith(second)
    shot(page, "app-then")
    page.fill("#at-form input[name=at]", "noonish")  # a time it cannot read: said beside it
    page.click("#at-form button[type=submit]")
    assert "could not read 'noonish' as a time" in page.inner_text("#f-at-problem")
    assert page.input_value("#at-form input[name=at]") == "noonish"
    shot(page, "app-then-unreadable")
    page.click("#back-to-now")  # and a way back
    page.wait_for_url(f"{server.url}/apps/hello")

    page.goto(f"{server.url}/audit")
    page.fill("#filters input[name=type]", "deployment.traffic_switched")
    page.click("#filters button[type=submit]")
    switched = page.locator("#audit tbody tr")
    assert switched.count() == 3  # v1, v2, and the rollback to v1
    switched.first.locator("a").first.click()  # an entry opens to its whole event
    page.wait_for_url(f"{server.url}/audit/events/*")
    assert '"host_port"' in page.inner_text("#event-data")
    shot(page, "audit-event")
    page.goto(f"{server.url}/audit")
    shot(page, "audit")
    with page.expect_download() as download:
        page.click("#export-jsonl")
    saved = tmp_path / "audit.jsonl"
    download.value.save_as(saved)
    events = list(read_jsonl_export(saved.read_bytes().splitlines()))
    assert verify_export(events).count == len(events)
    assert {"app.created", "deployment.traffic_switched"} <= {e.type for e in events}
    checked = run_cli(data, "audit", "verify", "--file", str(saved))
    assert checked.returncode == 0, checked.stderr
    assert errors == []
    context.close()
    shutil.rmtree(repo.path, ignore_errors=True)
