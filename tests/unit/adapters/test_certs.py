"""Which certificate name covers which host."""

from __future__ import annotations

import pytest

from rivetr.adapters.certs import covers


@pytest.mark.parametrize(
    ("name", "domain", "expected"),
    [
        ("shop.test", "shop.test", True),
        ("SHOP.test", "shop.TEST", True),
        ("*.shop.test", "www.shop.test", True),
        ("*.shop.test", "a.b.shop.test", False),  # one label deep only
        ("*.shop.test", "shop.test", False),
        ("shop.test", "www.shop.test", False),
    ],
)
def test_covers(name: str, domain: str, expected: bool) -> None:
    assert covers(name, domain) is expected
