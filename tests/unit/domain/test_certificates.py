"""Which names an app may hold a certificate for: its domains' hosts, and what a wildcard covers."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain.application import AppState
from rivetr.domain.certificates import decide_install_for_stack, serves
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import CertificateInstalled
from rivetr.domain.stack_commands import InstallStackCertificate
from rivetr.domain.stack_events import StackRoute
from rivetr.domain.stacks import StackState


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


FACTS = {
    "not_before": "2026-12-01T00:00:00+00:00",
    "not_after": "2027-03-01T00:00:00+00:00",
    "issuer": "CN=Test CA",
    "serial": "1",
    "fingerprint": "ab" * 32,
}
BLOG = StackState(
    stack_id="s1",
    exists=True,
    name="blog",
    team="default",
    routes=(StackRoute(service="web", port=80, domains=["blog.example.com/shop"]),),
)


def test_a_stacks_certificate_is_for_one_of_its_routed_hosts_and_names_the_stack() -> None:
    install = InstallStackCertificate(stack_id="s1", domain="blog.example.com", **FACTS)
    [event] = decide_install_for_stack(BLOG, None, install)
    assert isinstance(event, CertificateInstalled)
    assert (event.domain, event.app, event.stack_id) == ("blog.example.com", "blog", "s1")


def test_a_stacks_certificate_for_another_host_or_a_deleted_stack_is_refused() -> None:
    other = InstallStackCertificate(stack_id="s1", domain="other.example.com", **FACTS)
    with pytest.raises(InvalidCommand, match=r"not one of stack blog's domains"):
        decide_install_for_stack(BLOG, None, other)
    gone = msgspec.structs.replace(BLOG, deleted=True)
    with pytest.raises(NotFound):
        decide_install_for_stack(gone, None, other)
