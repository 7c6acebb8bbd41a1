"""Webhook deliveries from GitHub, GitLab, Gitea/Forgejo and Bitbucket Cloud: which event and
delivery they are, whether they are authentic, and what they say, as a provider-neutral `Hook`.

Call `verify` on the raw body before `parse`: the signature covers the exact bytes received."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from rivetr.adapters.webhooks import bitbucket, gitea, github, gitlab
from rivetr.adapters.webhooks.base import Hook, MalformedPayload, Provider, checked
from rivetr.adapters.webhooks.signatures import SignatureCheck

__all__ = [
    "Hook",
    "MalformedPayload",
    "Provider",
    "SignatureCheck",
    "check_headers",
    "delivery_id",
    "event_name",
    "parse",
    "verify",
]


class _ProviderModule(Protocol):
    """What each provider module offers; headers always come with lower-case names."""

    def event_name(self, headers: Mapping[str, str]) -> str | None: ...
    def delivery_id(self, headers: Mapping[str, str]) -> str | None: ...
    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> SignatureCheck: ...
    def check_headers(self, headers: Mapping[str, str], secret: str) -> SignatureCheck | None: ...
    def parse(self, headers: Mapping[str, str], body: bytes) -> Hook: ...


_MODULES: dict[str, _ProviderModule] = {
    "github": github,
    "gitlab": gitlab,
    "gitea": gitea,
    "bitbucket": bitbucket,
}


def _module(provider: Provider) -> _ProviderModule:
    module = _MODULES.get(provider)
    if module is None:  # a caller's bug, not a bad delivery: not a MalformedPayload
        raise ValueError(f"unknown webhook provider {provider!r}")
    return module


def event_name(provider: Provider, headers: Mapping[str, str]) -> str | None:
    """The provider's own name for the event ("push", "Push Hook", "repo:push"), if given."""
    return _module(provider).event_name(headers)


def delivery_id(provider: Provider, headers: Mapping[str, str]) -> str | None:
    """The provider's id for this delivery, to recognise a redelivery."""
    return _module(provider).delivery_id(headers)


def verify(
    provider: Provider, headers: Mapping[str, str], body: bytes, secret: str
) -> SignatureCheck:
    """Whether the delivery is authenticated by `secret`: "valid", "invalid" (present but
    wrong or malformed) or "missing" (the provider's header is absent). Never raises."""
    return _module(provider).verify(headers, body, secret)


def check_headers(
    provider: Provider, headers: Mapping[str, str], secret: str
) -> SignatureCheck | None:
    """What `verify` will say, when the headers alone decide it ("missing", "invalid"; for
    GitLab's token also "valid"); None when they are in the provider's shape and only the
    body can tell. A delivery that cannot be authentic is refused before its body is read."""
    return _module(provider).check_headers(headers, secret)


def parse(provider: Provider, headers: Mapping[str, str], body: bytes) -> Hook:
    """Read a delivery into a `Hook`.

    Raises:
        MalformedPayload: the body is not a JSON object, lacks what its event needs, or the
            headers do not say which event it is. Nothing else escapes for any input.
    """
    module = _module(provider)
    try:
        return checked(module.parse(headers, body))
    except MalformedPayload:
        raise
    except Exception as exc:
        # The typed decoders should leave nothing for this to catch; if a shape slips past
        # them, the sender still gets a 400 and the cause stays chained for the logs.
        raise MalformedPayload(f"{provider} payload could not be read: {exc!r}") from exc
