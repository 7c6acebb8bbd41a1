"""What the dashboard's app-form tests share: a signed-in browser's CSRF token, a field's
problem as the page shows it, and the events the log holds."""

from __future__ import annotations

import html
import re
from typing import Any


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert found is not None, "no form on the page"
    return found.group(1)


def problem_beside(page: str, field: str) -> str:
    """The text of the problem shown beside `field` (its `f-<field>-problem` element)."""
    found = re.search(rf'id="f-{field}-problem">([^<]*)<', page)
    assert found is not None, f"no problem beside {field}"
    return html.unescape(found.group(1))


def value_of(page: str, field: str) -> str:
    """What the `field` input shows."""
    found = re.search(rf'id="f-{field}" name="{field}" value="([^"]*)"', page)
    assert found is not None, f"no input {field}"
    return html.unescape(found.group(1))


def events(call: Any, services: Any, kind: str) -> list[Any]:
    """The events of `kind` (their type tag) in the log, oldest first."""
    return [e.event for e in call(services.store.read_all) if e.type == kind]
