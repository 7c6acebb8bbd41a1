"""What the Chromium tests share: the browser, screenshots saved as artifacts, signing in, and
the accessibility checks: axe-core (installed from the npm registry into a cache at test time,
never committed) for labels, contrast and structure, and the keyboard reaching each main action."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("RIVETR_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
AXE_VERSION = "4.10.3"  # pinned: a new release may add rules; upgrade on purpose
AXE_CACHE = Path(os.environ.get("RIVETR_TEST_CACHE", Path.home() / ".cache" / "rivetr-tests"))
# WCAG 2.1 A and AA: labels, names, contrast, structure (axe-core's tags for them)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install -y chromium (tests/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under test-artifacts/screenshots (RIVETR_ARTIFACTS)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def readme_shot(page: Any, name: str, machine_path: Path) -> None:
    """A screenshot of what is on screen, for the README: saved with the artifacts and, when
    RIVETR_README_SCREENSHOTS names a folder (docs/screenshots), there too. The test's own
    temporary folder is shown as ~/src, so no path of the machine that ran it is published."""
    page.evaluate(
        """prefix => {
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                if (node.nodeValue.includes(prefix)) {
                    node.nodeValue = node.nodeValue.split(prefix).join("~/src");
                }
            }
        }""",
        str(machine_path),
    )
    folders = [ARTIFACTS / "readme"]
    if os.environ.get("RIVETR_README_SCREENSHOTS"):
        folders.append(Path(os.environ["RIVETR_README_SCREENSHOTS"]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def sign_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#password-login input[name=email]", email)
    page.fill("#password-login input[name=password]", password)
    page.click("#password-login button[type=submit]")
    page.wait_for_url(f"{url}/")


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's browser bundle, from the npm registry (once per cache, then reused)."""
    folder = AXE_CACHE / f"axe-core-{AXE_VERSION}"
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: apt-get install -y npm (tests/run does)")
    folder.mkdir(parents=True, exist_ok=True)
    installed = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(folder),
            f"axe-core@{AXE_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if installed.returncode != 0 or not script.exists():
        pytest.fail(f"npm could not install axe-core {AXE_VERSION}:\n{installed.stderr[-2000:]}")
    return script


def accessibility_problems(page: Any, axe: Path) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line per element."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node}" for v in found for node in v["nodes"]
    ]


def assert_accessible(page: Any, axe: Path, name: str) -> None:
    """No axe-core violation on the page; the screenshot and the findings are kept either way."""
    shot(page, name)
    problems = accessibility_problems(page, axe)
    folder = ARTIFACTS / "accessibility"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(problems, indent=2))
    assert problems == [], f"{name}: " + "\n".join(problems)


def keyboard_reaches(page: Any, selector: str, presses: int = 80) -> bool:
    """Tab from the top of the page until the element is focused: reachable by keyboard."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0)")
    page.focus("body")
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => document.activeElement !== null && document.activeElement.matches(s)", selector
        ):
            return True
    return False
