"""Reading a dashboard page in tests: the text of an element by id, a form field's problem and
value, and the CSRF token its forms carry; and checking the page is well-formed where it
must be (an inline SVG)."""

from __future__ import annotations

import html
import re


def text_of(page: str, element_id: str) -> str | None:
    """The text inside the element with `element_id` (tags stripped), or None without one."""
    found = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    if found is None:
        return None
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(2))).strip()


def problem(page: str, name: str) -> str | None:
    """The server's problem shown beside the form field `name`."""
    return text_of(page, f"f-{name}-problem")


def value(page: str, name: str) -> str | None:
    """The value the form field `name` shows (what was typed, kept after a refusal)."""
    return input_value(page, f"f-{name}")


def input_value(page: str, element_id: str) -> str | None:
    """The value of the input with `element_id`."""
    found = re.search(rf'<input[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    if found is None:
        return None
    typed = re.search(r'\bvalue="([^"]*)"', found.group(0))
    return html.unescape(typed.group(1)) if typed else ""


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert found is not None, "the page has no form carrying a CSRF token"
    return found.group(1)
