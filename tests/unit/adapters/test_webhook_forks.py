"""Where a pull request's head lives, read from every pull-request vector and checked against
the JSON itself (the go-scm goldens do not record it), and what a delivery's signature headers
say before its body is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rivetr.adapters.webhooks import check_headers, parse, verify
from rivetr.adapters.webhooks.base import PROVIDERS, Provider
from rivetr.adapters.webhooks.signatures import hmac_sha256_hex
from tests.unit.adapters.test_webhook_parsing import (
    EVENT_HEADER,
    PAYLOADS,
    _cases,
    _found,
    _parse,
    _payload,
    _provider,
)

PULL_REQUESTS = [
    name for name in _found("**/*.json") if name in PAYLOADS and PAYLOADS[name][1] == "pull_request"
]
FORKS = {"gitea/go-playground/pull-request-event.json"}  # example2/example into example/example


def _in_json(provider: Provider, payload: Any) -> tuple[bool, str]:
    """(from a fork, the head's clone URL), read from the payload by other keys than the
    parser's where there are any: full names rather than ids."""
    match provider:
        case "github" | "gitea":
            head, base = payload["pull_request"]["head"], payload["pull_request"]["base"]
            fork = head["repo"]["full_name"] != base["repo"]["full_name"]
            return fork, head["repo"]["clone_url"]
        case "gitlab":
            source, target = (payload["object_attributes"][k] for k in ("source", "target"))
            return source["git_http_url"] != target["git_http_url"], source["git_http_url"]
        case "bitbucket":
            head = payload["pullrequest"]["source"]["repository"]
            base = payload["pullrequest"]["destination"]["repository"]
            return head["full_name"] != base["full_name"], head["links"]["html"]["href"] + ".git"
    raise AssertionError(provider)


@pytest.mark.parametrize("name", _cases(PULL_REQUESTS))
def test_every_pull_request_vector_says_whether_it_comes_from_a_fork(
    vectors_dir: Path, name: str
) -> None:
    hook = _parse(vectors_dir, name)

    fork, source = _in_json(_provider(name), _payload(vectors_dir, name))

    assert (hook.pr_from_fork, hook.pr_source_url) == (fork, source)
    assert fork == (name in FORKS)


def test_the_vectors_hold_pull_requests_of_each_provider_and_one_fork() -> None:
    if not PULL_REQUESTS:
        pytest.skip("shared test vectors not found (set RIVETR_VECTORS)")
    assert {_provider(name) for name in PULL_REQUESTS} == set(PROVIDERS)
    assert set(PULL_REQUESTS) >= FORKS


def _reparse(vectors_dir: Path, name: str, change: Any) -> Any:
    provider = _provider(name)
    payload = _payload(vectors_dir, name)
    change(payload)
    return parse(
        provider, {EVENT_HEADER[provider]: PAYLOADS[name][0]}, json.dumps(payload).encode()
    )


@pytest.mark.parametrize(
    ("name", "change", "fork"),
    [
        # GitHub sends `head.repo: null` once the fork is deleted: nobody can say, so a fork
        ("github/octokit_pull_request_opened.payload.json", "del head.repo", None),
        ("github/octokit_pull_request_opened.payload.json", "head.repo.id", True),
        ("gitea/go-scm/pull_request_opened.json", "del head.repo", None),
        ("gitlab/go-scm/pull_request_create.json", "source_project_id", True),
        ("gitlab/go-scm/pull_request_create.json", "del ids and projects", None),
        ("bitbucket/go-scm/pr_created.json", "source uuid", True),
        ("bitbucket/go-scm/pr_created.json", "del repositories", None),
    ],
)
def test_a_head_elsewhere_is_a_fork_and_a_head_nowhere_is_unknown(
    vectors_dir: Path, name: str, change: str, fork: bool | None
) -> None:
    if name not in PULL_REQUESTS:
        pytest.skip("shared test vectors not found (set RIVETR_VECTORS)")

    def edit(payload: Any) -> None:
        match change:
            case "del head.repo":
                payload["pull_request"]["head"]["repo"] = None
            case "head.repo.id":
                payload["pull_request"]["head"]["repo"]["id"] = 1
            case "source_project_id":
                payload["object_attributes"]["source_project_id"] = 1
            case "del ids and projects":
                for key in ("source_project_id", "target_project_id", "source", "target"):
                    payload["object_attributes"].pop(key, None)
            case "source uuid":
                payload["pullrequest"]["source"]["repository"]["uuid"] = "{another}"
            case "del repositories":
                payload["pullrequest"]["source"]["repository"] = None

    assert _reparse(vectors_dir, name, edit).pr_from_fork is fork


SECRET = "s3cr3t"
BODY = b'{"zen": "Keep it logically awesome."}'
DIGEST = hmac_sha256_hex(SECRET, BODY)


@pytest.mark.parametrize(
    ("provider", "headers", "said"),
    [
        ("github", {}, "missing"),
        ("github", {"x-hub-signature-256": "sha256=" + DIGEST}, None),
        ("github", {"x-hub-signature-256": "sha256=" + "0" * 64}, None),  # only the body can tell
        ("github", {"x-hub-signature-256": DIGEST}, "invalid"),  # no prefix
        ("github", {"x-hub-signature-256": "sha256=abc"}, "invalid"),
        ("github", {"x-hub-signature": "sha1=" + "0" * 40}, "missing"),  # SHA-1 is not read
        ("bitbucket", {"x-hub-signature": "sha256=" + DIGEST}, None),
        ("bitbucket", {"x-hub-signature": "sha256=" + "z" * 64}, "invalid"),
        ("gitea", {"x-gitea-signature": DIGEST}, None),
        ("gitea", {"x-gitea-signature": DIGEST, "x-forgejo-signature": "nope"}, "invalid"),
        ("gitea", {"x-forgejo-signature": DIGEST, "x-hub-signature-256": "sha256=" + DIGEST}, None),
        ("gitlab", {"x-gitlab-token": SECRET}, "valid"),  # the token is the whole check
        ("gitlab", {"x-gitlab-token": "a guess"}, "invalid"),
        ("gitlab", {}, "missing"),
    ],
)
def test_headers_decide_before_the_body_whenever_the_body_cannot_change_the_verdict(
    provider: Provider, headers: dict[str, str], said: str | None
) -> None:
    assert check_headers(provider, headers, SECRET) == said
    if said is not None:  # what they said is what the body would have made of them
        assert verify(provider, headers, BODY, SECRET) == said
        assert verify(provider, headers, b"anything else", SECRET) == said


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_secret_makes_every_signature_header_invalid_before_the_body(
    provider: Provider,
) -> None:
    headers = {
        "x-hub-signature-256": "sha256=" + DIGEST,
        "x-hub-signature": "sha256=" + DIGEST,
        "x-gitea-signature": DIGEST,
        "x-gitlab-token": "",
    }
    assert check_headers(provider, headers, "") == "invalid"
