"""Compose stacks and templates in Chromium, against a real `rivetr serve` without a container
engine (a release stays requested): sign in, open the catalogue from the nav, search it,
deploy a template, read its generated secrets on the one page that shows them, go on to the
stack's page (where they are not), then write an inline stack in the form and deploy it.
Each page is checked by axe-core; the catalogue is screenshotted for the README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import assert_accessible, readme_shot, sign_in
from tests.e2e.conftest import create_admin

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery staple"
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n  cache:\n    image: redis:7.4\n"


def test_a_template_and_an_inline_stack_are_deployed_from_the_dashboard(
    browser: Any, server_factory: Any, tmp_path: Path, axe_script: Path
) -> None:
    data = tmp_path / "data"
    url = server_factory(data, {"RIVETR_ENGINE": "none"}).start().url
    create_admin(data, "ann@example.com", PASSWORD)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, url, "ann@example.com", PASSWORD)

    page.click("nav[aria-label=Main] >> text=Templates")
    page.wait_for_url(f"{url}/templates")
    assert page.locator("[data-template]").count() >= 30
    # the README shows the catalogue as an instance with its engine shows it: without the
    # banner this engine-less test server wears
    page.evaluate("document.getElementById('engine-status').remove()")
    readme_shot(page, "templates", tmp_path)
    page.reload()
    assert_accessible(page, axe_script, "templates")
    page.fill("#search [name=q]", "ghost")
    page.click("#search-button")
    page.wait_for_url(re.compile(r".*/templates\?q=ghost$"))
    assert page.locator("[data-template]").count() == 1
    page.click("[data-template=ghost] h2 a")
    page.wait_for_url(f"{url}/templates/ghost")
    assert "ghost:5" in page.inner_text("#compose")
    assert_accessible(page, axe_script, "template")
    page.fill("#deploy-template [name=name]", "blog")
    page.fill("#deploy-template [name=domain]", "blog.test")
    page.click("#deploy-template-button")
    page.wait_for_selector("#shown-once")
    assert "Shown once; stored sealed." in page.inner_text("#shown-once")
    secrets = page.locator("#secrets code.secret").all_inner_texts()
    assert [len(secret) for secret in secrets] == [24, 24]  # ghost's two database passwords
    assert "/templates/ghost/deploy" in page.url  # the POST's own answer, not a redirect
    assert_accessible(page, axe_script, "template-secrets")

    page.click("#to-stack")
    page.wait_for_url(re.compile(rf"{url}/stacks/[a-z2-7]{{12}}$"))
    assert "requested" in page.inner_text("#releases-table")
    assert not any(secret in page.content() for secret in secrets)
    assert_accessible(page, axe_script, "stack-from-template")

    page.click("nav[aria-label=Main] >> text=Stacks")
    page.click("#new-stack")
    page.fill("#create-stack [name=name]", "cache")
    page.fill("#create-stack [name=compose]", COMPOSE)
    page.fill("#create-stack [name=routes]", "web 80 cache.test")
    page.fill("#create-stack [name=variables]", "REDIS_PASSWORD=s3cret-value\n")
    assert_accessible(page, axe_script, "stack-new")
    page.click("#create-stack-button")
    page.wait_for_url(re.compile(rf"{url}/stacks/[a-z2-7]{{12}}$"))
    assert page.inner_text("#source").startswith("inline")
    assert "REDIS_PASSWORD" in page.inner_text("#variable-names")
    page.click("#deploy")
    page.wait_for_url(re.compile(r".*/releases/[a-z2-7]{12}$"))
    assert page.inner_text("#status").strip() == "requested"
    assert_accessible(page, axe_script, "stack-release")
    page.click("text=← cache")
    assert "s3cret-value" not in page.content()
    assert errors == []
