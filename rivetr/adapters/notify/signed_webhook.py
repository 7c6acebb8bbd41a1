"""A generic webhook channel: the notice as JSON, POSTed with an HMAC-SHA256 of the body under
the channel's signing secret, as GitHub signs the webhooks Rivetr receives (`sha256=<hex>`), and
the notice's key, the same on every attempt, so a receiver can drop a repeat."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from datetime import UTC, datetime

import anyio
import msgspec

from rivetr.adapters.notify.base import Delivery, DeliveryFailed

SIGNATURE_HEADER = "X-Rivetr-Signature-256"
DELIVERY_HEADER = "X-Rivetr-Delivery"
EVENT_HEADER = "X-Rivetr-Event"
TIMEOUT_S = 10.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would lead to a host that was never checked: it is an answer, not a way."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(delivery: Delivery) -> bytes:
    notice = delivery.notice
    return msgspec.json.encode(
        {
            "kind": notice.kind,
            "title": notice.title,
            "body": notice.body,
            "failure": notice.failure,
            "team": notice.team,
            "project": notice.project,
            "environment": notice.environment,
            "key": delivery.key,
            "event_position": notice.source_position,
            "sent_at": datetime.now(UTC).isoformat(),
        }
    )


async def post(delivery: Delivery) -> None:
    """Raises DeliveryFailed for anything but a 2xx answer within TIMEOUT_S."""
    assert delivery.signing_secret is not None, "a webhook channel always has a secret"
    body = payload(delivery)
    request = urllib.request.Request(
        delivery.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Rivetr-Notifier",
            SIGNATURE_HEADER: signature(body, delivery.signing_secret),
            DELIVERY_HEADER: delivery.key,
            EVENT_HEADER: delivery.notice.kind,
        },
    )

    def send() -> None:
        try:
            with _OPENER.open(request, timeout=TIMEOUT_S) as answer:
                answer.read(4096)
        except urllib.error.HTTPError as exc:
            text = exc.read(200).decode(errors="replace").strip()
            raise DeliveryFailed(
                f"the webhook answered {exc.code} {exc.reason}" + (f": {text}" if text else "")
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(f"the webhook could not be reached: {reason}") from None

    await anyio.to_thread.run_sync(send, abandon_on_cancel=True)
