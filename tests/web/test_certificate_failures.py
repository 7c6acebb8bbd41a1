"""A certificate that could not be ordered is explained on the app's page in one sentence, with
what the library said folded away beneath it."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.events import CertificateFailed

SENTENCE = "the certificate authority at acme.example cannot be reached: it refused the connection"
TECHNICAL = "HTTPSConnectionPool(host='acme.example', port=443): Max retries exceeded"


async def failed_order(services: Any) -> None:
    await services.apps.handle(SYSTEM, CreateApp(name="shop", domains=["shop.example.com"]))
    app = await services.lookup.by_name("shop")
    failed = CertificateFailed(
        domain="shop.example.com", app="shop", source="acme", detail=SENTENCE, technical=TECHNICAL
    )
    meta = EventMeta(actor="system", team=app.team, resource=app.app_id)
    recorded = await services.store.append("cert-shop.example.com", None, [failed], meta)
    await services.runner.wait_until(recorded[-1].position)


def test_a_failed_order_reads_as_a_sentence_with_the_detail_folded_away(
    client, call, services, auth
) -> None:
    call(failed_order, services)
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))

    page = client.get("/apps/shop").text

    assert f'<span class="mark-bad">{SENTENCE}</span>' in page
    assert "<summary>Technical detail</summary>" in page
    assert page.index(SENTENCE) < page.index("HTTPSConnectionPool")
