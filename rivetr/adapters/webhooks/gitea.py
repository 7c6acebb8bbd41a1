"""Gitea and Forgejo deliveries: GitHub's payload shapes under their own headers, with the
signature as bare hex in `X-Gitea-Signature` / `X-Forgejo-Signature`.

The payload differences (no `created`/`deleted` flags on a push, "synchronized" for new commits
on a pull request) are absorbed by the shared builders in `github`. The deprecated `secret`
field some Gitea versions still put in the body is never read: only the signature counts."""

from __future__ import annotations

from collections.abc import Mapping

from rivetr.adapters.webhooks import signatures
from rivetr.adapters.webhooks.base import Hook, MalformedPayload
from rivetr.adapters.webhooks.github import (
    other_hook,
    pull_request_hook,
    push_hook,
    ref_event_hook,
)

# Forgejo sends its own names and Gitea's; Gogs' names are Gitea's inheritance from Gogs
_EVENT_HEADERS = ("x-gitea-event", "x-forgejo-event", "x-gogs-event")
_DELIVERY_HEADERS = ("x-gitea-delivery", "x-forgejo-delivery", "x-gogs-delivery")


def _first(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


def event_name(headers: Mapping[str, str]) -> str | None:
    return _first(headers, _EVENT_HEADERS)


def delivery_id(headers: Mapping[str, str]) -> str | None:
    return _first(headers, _DELIVERY_HEADERS)


# the headers that carry the same HMAC, each with the prefix before its hex
_SIGNATURE_HEADERS = (
    ("x-gitea-signature", ""),
    ("x-forgejo-signature", ""),
    ("x-hub-signature-256", "sha256="),
)


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> signatures.SignatureCheck:
    # Gitea puts the same HMAC in several headers; each one present must hold, so a forged
    # header cannot hide behind a genuine one
    return signatures.all_of(
        signatures.check_hmac_sha256(headers.get(name), secret, body, prefix=prefix)
        for name, prefix in _SIGNATURE_HEADERS
    )


def check_headers(headers: Mapping[str, str], secret: str) -> signatures.SignatureCheck | None:
    return signatures.shape_of_all(
        signatures.hmac_sha256_shape(headers.get(name), secret, prefix=prefix)
        for name, prefix in _SIGNATURE_HEADERS
    )


def parse(headers: Mapping[str, str], body: bytes) -> Hook:
    event = event_name(headers)
    if event is None:
        raise MalformedPayload("no X-Gitea-Event header: the delivery does not say what it is")
    match event:
        case "push":
            return push_hook("gitea", event, body)
        case "create" | "delete":
            return ref_event_hook("gitea", event, body, deleted=event == "delete")
        case "pull_request":
            return pull_request_hook("gitea", event, body)
        case _:
            return other_hook("gitea", event, body)
