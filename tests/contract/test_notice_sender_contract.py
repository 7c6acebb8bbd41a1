"""One contract for the notice sender, run over the in-memory twin and the real sender (apprise
and the signed webhook) against real receivers on loopback: a notice that gets through is
taken, one the service refuses or never answers fails with the reason, in bounded time; a URL
that is not of its kind is refused before anything is sent. The real sender's own half: each
service's payload has its shape (mail through aiosmtpd; Slack, Discord, Mattermost, ntfy and
Gotify as their APIs are sent), a webhook's signature verifies, and private hosts are refused
unless the instance allows them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from rivetr.adapters.notify import signed_webhook
from rivetr.adapters.notify.base import Delivery, DeliveryFailed
from rivetr.adapters.notify.memory import MemorySender
from rivetr.adapters.notify.senders import AppriseSender
from rivetr.adapters.webhooks.signatures import check_hmac_sha256
from rivetr.domain.notices import Notice
from tests.notice_receivers import HttpReceiver, http_receiver, smtp_receiver

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

NOTICE = Notice(
    kind="deployment.failed",
    title="web: deployment failed",
    body="Deployment d1 stopped at build: exit 2\nWhere: acme/shop/production",
    failure=True,
    team="acme",
    project="shop",
    environment="production",
    source_position=42,
    subject="42",
)
SECRET = "whsec_contract"


def delivery(kind: str, url: str) -> Delivery:
    secret = SECRET if kind == "webhook" else None
    return Delivery(kind=kind, url=url, signing_secret=secret, notice=NOTICE, key="42:ch")  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture(params=["memory", "real"])
def world(request: pytest.FixtureRequest, receiver: HttpReceiver, monkeypatch: Any) -> Any:
    """(sender, the URL of a webhook answering `outcome`, what was taken)."""
    if request.param == "memory":
        twin = MemorySender()
        twin.timeout_s = 1.0

        def memory_url(outcome: str) -> str:
            url = receiver.url(f"/{outcome}")
            if outcome == "fail":
                twin.failing[url] = 99
            if outcome == "hang":
                twin.stalling.add(url)
            return url

        return twin, memory_url, lambda: [d.notice.title for d in twin.sent]
    monkeypatch.setattr(signed_webhook, "TIMEOUT_S", 1.0)
    real = AppriseSender(allow_private=True)

    def taken() -> list[str]:
        return [r.json()["title"] for r in receiver.requests if "/ok" in r.path]

    return real, lambda outcome: receiver.url(f"/{outcome}"), taken


async def test_a_notice_that_gets_through_is_taken(world: Any) -> None:
    sender, url, taken = world
    await sender.send(delivery("webhook", url("ok")))
    assert taken() == [NOTICE.title]


async def test_a_refusal_fails_with_the_services_answer(world: Any) -> None:
    sender, url, taken = world
    with pytest.raises(DeliveryFailed, match="500"):
        await sender.send(delivery("webhook", url("fail")))
    assert taken() == []


async def test_a_service_that_never_answers_fails_in_bounded_time(world: Any) -> None:
    sender, url, _ = world
    with anyio.fail_after(10):
        with pytest.raises(DeliveryFailed, match=r"no answer|timed out|could not be reached"):
            await sender.send(delivery("webhook", url("hang")))


async def test_a_url_of_another_kind_is_refused_before_anything_is_sent(world: Any) -> None:
    sender, _, taken = world
    assert await sender.check("slack", "discord://1/abc") is not None
    assert await sender.check("slack", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7") is None
    assert taken() == []


async def test_a_webhook_is_signed_with_its_secret_and_carries_its_key(
    receiver: HttpReceiver,
) -> None:
    await AppriseSender(allow_private=True).send(delivery("webhook", receiver.url("/ok")))
    [got] = receiver.requests
    signature = got.headers["X-Rivetr-Signature-256"]
    assert check_hmac_sha256(signature, SECRET, got.body, prefix="sha256=") == "valid"
    assert check_hmac_sha256(signature, "another", got.body, prefix="sha256=") == "invalid"
    assert got.headers["X-Rivetr-Delivery"] == "42:ch"
    assert got.headers["X-Rivetr-Event"] == "deployment.failed"
    body = got.json()
    assert {k: body[k] for k in ("kind", "team", "project", "environment", "event_position")} == {
        "kind": "deployment.failed",
        "team": "acme",
        "project": "shop",
        "environment": "production",
        "event_position": 42,
    }


async def test_mail_reaches_a_real_smtp_server() -> None:
    with smtp_receiver() as smtp:
        url = f"mailto://127.0.0.1:{smtp.port}?from=rivetr@example.com&to=ops@example.com"
        sender = AppriseSender(allow_private=True)
        assert await sender.check("email", url) is None
        await sender.send(delivery("email", url))
        [mail] = await anyio.to_thread.run_sync(smtp.wait)
    assert mail["To"] == "ops@example.com"
    assert "web: deployment failed" in str(mail["Subject"])
    text = (
        mail.get_payload(decode=True)
        if not mail.is_multipart()
        else mail.get_payload(0).get_payload(decode=True)
    )
    assert b"stopped at build: exit 2" in text


async def test_slack_and_discord_are_sent_their_apis_payloads(
    receiver: HttpReceiver, monkeypatch: Any
) -> None:
    """Their hosts are fixed in apprise: pointed at the receiver here, as DNS would."""
    from apprise.plugins.discord import NotifyDiscord
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", receiver.url("/slack"))
    monkeypatch.setattr(NotifyDiscord, "notify_url", receiver.url("/discord"))
    sender = AppriseSender()
    await sender.send(delivery("slack", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"))
    await sender.send(delivery("discord", "https://discord.com/api/webhooks/123456/tokentoken"))
    slack, discord = receiver.requests
    assert slack.path == "/slack/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    attachment = slack.json()["attachments"][0]
    assert attachment["title"] == NOTICE.title
    assert "stopped at build" in attachment["text"]
    assert discord.path.startswith("/discord/123456/tokentoken")
    content = discord.json()["content"]
    assert content.startswith(NOTICE.title)
    assert "stopped at build: exit 2" in content


@pytest.mark.parametrize(
    ("kind", "url", "path"),
    [
        ("mattermost", "mmost://127.0.0.1:{port}/abcdefghijklmnopqrstuvwxyz", "/hooks/"),
        ("ntfy", "ntfy://127.0.0.1:{port}/deploys", "/"),
        ("gotify", "gotify://127.0.0.1:{port}/AbCdEfGhIjKlMnO", "/message"),
    ],
)
async def test_self_hosted_services_are_sent_their_apis_payloads(
    receiver: HttpReceiver, kind: str, url: str, path: str
) -> None:
    sender = AppriseSender(allow_private=True)
    given = url.format(port=receiver.port)
    assert await sender.check(kind, given) is None  # type: ignore[arg-type]
    await sender.send(delivery(kind, given))
    [got] = receiver.requests
    assert got.path.startswith(path)
    assert b"stopped at build: exit 2" in got.body


async def test_private_hosts_are_refused_unless_the_instance_allows_them(
    receiver: HttpReceiver,
) -> None:
    strict = AppriseSender()
    for kind, url in [
        ("webhook", receiver.url("/ok")),
        ("gotify", f"gotify://127.0.0.1:{receiver.port}/AbCdEfGhIjKlMnO"),
        ("email", "mailto://localhost:25?to=a@example.com&from=b@example.com"),
        ("webhook", "http://169.254.169.254/latest/meta-data"),
    ]:
        said = await strict.check(kind, url)  # type: ignore[arg-type]
        assert said is not None
        assert "notify_allow_private" in said
        with pytest.raises(DeliveryFailed, match="notify_allow_private"):
            await strict.send(delivery(kind, url))
    assert receiver.requests == []
