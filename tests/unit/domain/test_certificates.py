"""Which names an app may hold a certificate for: its domains' hosts, and what a wildcard covers."""

from __future__ import annotations

from rivetr.domain.application import AppState
from rivetr.domain.certificates import serves


def test_a_certificate_is_for_a_domains_host_whatever_its_path_prefix() -> None:
    app = AppState(
        app_id="a1",
        name="web",
        exists=True,
        domains=("example.com/api", "*.apps.example.com", "www.x.test"),
    )

    assert serves(app, "example.com")
    assert serves(app, "a.apps.example.com")
    assert serves(app, "www.x.test")
    assert not serves(app, "example.com/api")  # a certificate names a host, never a path
    assert not serves(app, "a.b.apps.example.com")
    assert not serves(app, "x.test")
