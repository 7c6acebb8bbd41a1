"""The certificates view: the CA's renewal advice holds for the certificate it was given for,
and a new certificate starts without any; a rebuild reads the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain.events import CertificateInstalled, CertificateRenewalAdvised, Event
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner

pytestmark = pytest.mark.anyio


def installed(fingerprint: str) -> CertificateInstalled:
    return CertificateInstalled(
        domain="shop.test",
        app="shop",
        source="acme",
        not_before="2026-11-01T00:00:00+00:00",
        not_after="2027-01-30T00:00:00+00:00",
        issuer="CN=CA",
        serial=fingerprint,
        fingerprint=fingerprint,
    )


def advised(fingerprint: str, renew_at: str) -> CertificateRenewalAdvised:
    return CertificateRenewalAdvised(
        domain="shop.test",
        app="shop",
        fingerprint=fingerprint,
        window_start=renew_at,
        window_end=renew_at,
        renew_at=renew_at,
    )


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[InMemoryEventStore, ProjectionRunner]]:
    store = InMemoryEventStore()
    runner = ProjectionRunner(store, tmp_path / "read.db", all_projections())
    await runner.open()
    yield store, runner
    await runner.close()
    await store.close()


async def renew_at(
    setup: tuple[InMemoryEventStore, ProjectionRunner], path: Path, *events: Event
) -> str | None:
    store, runner = setup
    for event in events:
        await store.append(
            "cert-shop.test", ANY_VERSION, [event], EventMeta(actor="acme", resource="shop1")
        )
    await runner.catch_up()
    model = await ReadModel.open(path)
    try:
        [view] = await model.certificates.of_app("shop1")
        return view.renew_at
    finally:
        await model.close()


async def test_advice_holds_for_its_certificate_only(setup, tmp_path: Path) -> None:
    path = tmp_path / "read.db"
    early = "2026-12-01T00:00:00+00:00"

    assert await renew_at(setup, path, installed("aa")) is None
    assert await renew_at(setup, path, advised("aa", early)) == early
    assert await renew_at(setup, path, advised("old", "2026-11-02T00:00:00+00:00")) == early
    assert await renew_at(setup, path, installed("bb")) is None  # renewed: the advice is spent

    await setup[1].rebuild()
    assert await renew_at(setup, path) is None
    assert await renew_at(setup, path, advised("bb", early)) == early
    await setup[1].rebuild()
    assert await renew_at(setup, path) == early
