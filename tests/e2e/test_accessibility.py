"""Every dashboard page in a real Chromium, checked by axe-core (WCAG 2.1 A and AA: labels,
names, contrast, structure) and by the keyboard reaching its main action; a screenshot of each
is saved under test-artifacts/screenshots (the servers page's for the README too)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.domain.swarm_events import (
    STREAM,
    SwarmInitialised,
    SwarmNodeInvited,
    SwarmNodeJoined,
)
from tests.e2e.browser import assert_accessible, keyboard_reaches, readme_shot, sign_in
from tests.e2e.conftest import create_admin

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"

# (path, page name, the main action the keyboard must reach)
SIGNED_IN_PAGES = [
    ("/", "home", "#new-app > summary"),
    ("/apps/hello", "app", "#deploy"),
    ("/apps/hello/settings", "app-settings", "#save-settings"),
    ("/apps/hello/variables", "app-variables", "#set-variable"),
    ("/apps/hello/certificates", "app-certificates", "#upload-certificate"),
    ("/apps/hello/scale", "app-scale", "#scale-button"),
    ("/apps/hello?at=yesterday-ish", "app-then-unreadable", "#at-form button[type=submit]"),
    ("/audit", "audit", "#filters button[type=submit]"),
    ("/teams", "teams", "#create-team-button"),
    ("/teams/default", "team-default", "#invite-button"),
    ("/tokens", "tokens-empty", "#mint-button"),
    ("/account", "account", "#totp-enroll-button"),
    ("/settings", "settings-page", "#settings-button"),
    ("/servers", "servers-none", "#make-swarm-button"),
    ("/audit/events/1", "audit-event", "#back-to-audit"),
    ("/deployments/no-such-one", "error", "#error-home"),
    ("/projects", "projects", "#create-project-button"),
    ("/projects/default/default", "project-default", "#add-environment-button"),
    ("/projects/default/shop", "project-shop", "#delete-env-staging-button"),
    ("/databases", "databases", "#create-database-button"),
    ("/teams/default/backup-targets", "backup-targets", "#set-target-button"),
    ("/stacks", "stacks", "#new-stack"),
    ("/stacks/new", "stack-new", "#create-stack-button"),
    ("/templates", "templates", "#search-button"),
    ("/templates/outline", "template-outline", "#deploy-template-button"),
]


def test_the_pages_pass_axe_and_the_keyboard_reaches_their_actions(
    browser: Any, server_factory: Any, tmp_path: Path, axe_script: Path
) -> None:
    data = tmp_path / "data"
    server = server_factory(data).start()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/setup")
    assert_accessible(page, axe_script, "setup")
    create_admin(data, "admin@example.com", PASSWORD)
    page.goto(f"{server.url}/login")
    assert_accessible(page, axe_script, "login")
    assert keyboard_reaches(page, "#password-login button[type=submit]")
    sign_in(page, server.url, "admin@example.com", PASSWORD)
    assert_accessible(page, axe_script, "home-empty")

    page.fill("#new-app-form input[name=name]", "hello")
    page.fill("#new-app-form input[name=git_url]", str(tmp_path / "no-repository-here"))
    page.fill("#new-app-form input[name=domains]", "hello.test")
    page.click("#new-app-form button[type=submit]")
    page.wait_for_url(f"{server.url}/apps/hello")
    page.click("#deploy")  # no repository there: it fails at once, a failed deployment's page
    page.wait_for_url(f"{server.url}/deployments/*")
    page.wait_for_function(
        "document.getElementById('status').textContent.trim() === 'failed'", timeout=30_000
    )
    assert_accessible(page, axe_script, "deployment-failed")
    page.goto(f"{server.url}/projects")  # a project with a second environment, by its forms
    page.fill("#create-project input[name=project]", "shop")
    page.click("#create-project-button")
    page.wait_for_url(f"{server.url}/projects/default/shop")
    page.fill("#add-environment input[name=environment]", "staging")
    page.click("#add-environment-button")
    page.wait_for_selector("#env-staging")
    page.goto(f"{server.url}/databases")  # a database, by its form: its page joins the list
    page.fill("#create-database input[name=name]", "pg")
    page.click("#create-database-button")
    page.wait_for_url(f"{server.url}/databases/*")
    database = page.url.removeprefix(server.url)
    page.goto(f"{server.url}/stacks/new")  # a stack, by its form: its pages join the list
    page.fill("#create-stack input[name=name]", "blog")
    page.fill("#create-stack textarea[name=compose]", "services:\n  web:\n    image: nginx:1\n")
    page.fill("#create-stack textarea[name=routes]", "web 80 blog.test")
    page.click("#create-stack-button")
    page.wait_for_url(f"{server.url}/stacks/*")
    stack = page.url.removeprefix(server.url)
    pages = [
        *SIGNED_IN_PAGES,
        (database, "database", "#backup-button"),
        (stack, "stack", "#deploy"),
        (f"{stack}/settings", "stack-settings", "#delete-stack"),
        (f"{stack}/variables", "stack-variables", "#paste-variables"),
    ]

    for path, name, action in pages:
        page.goto(f"{server.url}{path}")
        assert_accessible(page, axe_script, name)
        assert keyboard_reaches(page, action), f"{name}: the keyboard never reaches {action}"

    # servers as the log records them (the host's engine is only read, never made a swarm)
    # in a thread of its own: Playwright's sync API holds this one's event loop
    with ThreadPoolExecutor(1) as writer:
        writer.submit(asyncio.run, record_servers(data / "events.db")).result()
    page.goto(f"{server.url}/servers")
    page.wait_for_selector("#servers", timeout=10_000)
    swarm_pages = [
        ("/servers", "servers", "#invite-button"),
        ("/servers/w1", "server", "#remove-button"),
    ]
    for path, name, action in swarm_pages:
        page.goto(f"{server.url}{path}")
        assert_accessible(page, axe_script, name)
        if name == "servers":
            readme_shot(page, "servers", tmp_path)
        assert keyboard_reaches(page, action), f"{name}: the keyboard never reaches {action}"
    pages += swarm_pages

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    sign_in(phone, server.url, "admin@example.com", PASSWORD)
    for path, name, _ in pages:
        phone.goto(f"{server.url}{path}")
        assert_accessible(phone, axe_script, f"{name}-phone")
        # readable on a phone: nothing wider than the screen but the tables' own scroll boxes
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def record_servers(events: Path) -> None:
    """A swarm of this machine, a labelled worker and a node invited, written to the log as
    another process (the CLI) would: the running service reads them from there."""
    store = await SqliteEventStore.open(events, 0.2)
    try:
        until = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
        facts = [
            SwarmInitialised(
                swarm_id="s1", node_id="m1", hostname="vps-1", advertise_addr="10.0.0.1"
            ),
            SwarmNodeJoined(
                node_id="w1",
                hostname="vps-2",
                role="worker",
                address="10.0.0.2",
                cpus=2.0,
                memory_bytes=2 << 30,
                labels={"zone": "eu", "disk": "ssd"},
            ),
            SwarmNodeInvited(name="vps-3", role="worker", expires_at=until),
        ]
        await store.append(STREAM, None, facts, EventMeta(actor="test"))
    finally:
        await store.close()
