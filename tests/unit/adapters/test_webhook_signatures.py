"""Webhook authentication against webhooks/signature_vectors.json (GitHub docs KAT, go-scm's
GitHub/Gitea HMAC and GitLab token cases, RFC 4231 TC2), plus tampering, malformed headers and
a property: `verify` answers one of its three verdicts for any input."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.webhooks import MalformedPayload, event_name, parse, verify
from rivetr.adapters.webhooks.base import PROVIDERS, Provider
from rivetr.adapters.webhooks.signatures import hmac_sha256_hex

_DEFAULT_VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors"
_FILE = Path(os.environ.get("RIVETR_VECTORS", _DEFAULT_VECTORS)) / "webhooks/signature_vectors.json"
VECTOR_IDS = [v["id"] for v in json.loads(_FILE.read_text())["vectors"]] if _FILE.is_file() else []
_CASES: list[Any] = VECTOR_IDS or [
    pytest.param(
        "none",
        marks=pytest.mark.skip(
            reason=f"shared test vectors not found at {_FILE.parent.parent} (set RIVETR_VECTORS)"
        ),
    )
]

# what the provider's signature header is called and how its value is written
SIGNATURE_HEADER: dict[Provider, tuple[str, str]] = {
    "github": ("x-hub-signature-256", "sha256="),
    "gitea": ("x-gitea-signature", ""),
    "bitbucket": ("x-hub-signature", "sha256="),
}
SECRET = "s3cr3t"
BODY = b'{"ref": "refs/heads/main", "after": "abc"}\n'


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _signed(provider: Provider, secret: str = SECRET, body: bytes = BODY) -> dict[str, str]:
    name, prefix = SIGNATURE_HEADER[provider]
    return {name: prefix + hmac_sha256_hex(secret, body)}


# --- signature_vectors.json ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors(vectors_dir: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((vectors_dir / "webhooks/signature_vectors.json").read_text())
    return {v["id"]: v for v in data["vectors"]}


@pytest.mark.parametrize("vector_id", _CASES)
def test_signature_vector(
    vectors_dir: Path, vectors: dict[str, dict[str, Any]], vector_id: str
) -> None:
    vector = vectors[vector_id]
    # raw bytes exactly as stored: re-serialising the JSON would change the HMAC
    body = (
        (vectors_dir / "webhooks" / vector["file"]).read_bytes()
        if "file" in vector
        else vector["payload_utf8"].encode()
    )
    match vector_id:
        case "github-docs-kat":
            assert hmac_sha256_hex(vector["secret"], body) == vector["expected_hex"]
            headers = _lower(vector["expected_header"])
            assert verify("github", headers, body, vector["secret"]) == "valid"
        case "go-scm-github-push-valid":
            headers = _lower(vector["headers"])
            assert verify("github", headers, body, vector["secret"]) == "valid"
            assert event_name("github", headers) == "push"
            # Deliberate difference: go-scm falls back to the SHA-1 X-Hub-Signature when the
            # SHA-256 header is absent; Rivetr does not (GitHub keeps SHA-1 for old
            # integrations only). The SHA-1 value is genuine, so the refusal is ours alone.
            sha1 = _lower(vector["alt_headers_sha1_only"])
            expected = hmac.new(vector["secret"].encode(), body, hashlib.sha1).hexdigest()
            assert sha1["x-hub-signature"] == f"sha1={expected}"
            assert verify("github", sha1, body, vector["secret"]) == "missing"
        case "go-scm-github-push-invalid":
            assert verify("github", _lower(vector["headers"]), body, vector["secret"]) == "invalid"
        case "go-scm-github-unknown-event":
            assert vector["headers"] == {}
            assert event_name("github", {}) is None
            with pytest.raises(MalformedPayload, match="X-GitHub-Event"):
                parse("github", {}, body)
        case "go-scm-gitea-pr-valid":
            assert verify("gitea", _lower(vector["headers"]), body, vector["secret"]) == "valid"
        case "go-scm-gitea-pr-invalid":
            assert verify("gitea", _lower(vector["headers"]), body, vector["secret"]) == "invalid"
        case "go-scm-gitea-pr-missing":
            assert verify("gitea", _lower(vector["headers"]), body, vector["secret"]) == "missing"
        case "go-scm-gitlab-token":
            for case in vector["cases"]:
                want = {"accept": "valid", "reject": "invalid"}[case["expect"]]
                assert verify("gitlab", _lower(case["headers"]), body, vector["secret"]) == want
        case "rfc4231-tc2":
            assert hmac_sha256_hex(vector["secret"], body) == vector["expected_hex"]
        case _:
            pytest.fail(f"vector {vector_id!r} is new: say what it expects of verify()")


# --- HMAC providers -----------------------------------------------------------------------------

HMAC_PROVIDERS = list(SIGNATURE_HEADER)


@pytest.mark.parametrize("provider", HMAC_PROVIDERS)
def test_signature_over_the_body_is_valid(provider: Provider) -> None:
    assert verify(provider, _signed(provider), BODY, SECRET) == "valid"


@pytest.mark.parametrize("provider", HMAC_PROVIDERS)
def test_tampered_body_is_invalid(provider: Provider) -> None:
    tampered = BODY.replace(b"main", b"mainx")
    assert verify(provider, _signed(provider), tampered, SECRET) == "invalid"
    assert verify(provider, _signed(provider), BODY + b" ", SECRET) == "invalid"


@pytest.mark.parametrize("provider", HMAC_PROVIDERS)
def test_wrong_secret_is_invalid(provider: Provider) -> None:
    assert verify(provider, _signed(provider, secret="other"), BODY, SECRET) == "invalid"


@pytest.mark.parametrize("provider", HMAC_PROVIDERS)
def test_absent_signature_is_missing(provider: Provider) -> None:
    assert verify(provider, {}, BODY, SECRET) == "missing"
    assert verify(provider, {"x-unrelated": "sha256=00"}, BODY, SECRET) == "missing"


@pytest.mark.parametrize("provider", HMAC_PROVIDERS)
def test_upper_case_hex_is_accepted(provider: Provider) -> None:
    name, prefix = SIGNATURE_HEADER[provider]
    headers = {name: prefix + hmac_sha256_hex(SECRET, BODY).upper()}
    assert verify(provider, headers, BODY, SECRET) == "valid"


def _malformed(provider: Provider) -> dict[str, str]:
    _, prefix = SIGNATURE_HEADER[provider]
    good = hmac_sha256_hex(SECRET, BODY)
    cases = {
        "empty": "",
        "prefix only": prefix,
        "one char short": prefix + good[:-1],
        "one char long": prefix + good + "0",
        "not hex": prefix + "z" * 64,
        "spaces inside": prefix + " ".join(good[i : i + 2] for i in range(0, 64, 2)),
        "sha1 digest length": prefix + good[:40],
        "non-ASCII digits": prefix + "\u0661" * 64,  # Arabic-Indic one: isdigit() but not hex
        "lone surrogate": prefix + "\ud800" * 64,
    }
    if prefix:
        cases |= {"bare hex": good, "sha1 prefix": "sha1=" + good, "SHA256=": "SHA256=" + good}
    else:
        cases |= {"sha256= prefix": "sha256=" + good}
    return cases


@pytest.mark.parametrize(
    ("provider", "value"),
    [(p, v) for p in HMAC_PROVIDERS for v in _malformed(p).values()],
    ids=[f"{p}-{label}" for p in HMAC_PROVIDERS for label in _malformed(p)],
)
def test_malformed_signature_is_invalid_not_an_exception(provider: Provider, value: str) -> None:
    name, _ = SIGNATURE_HEADER[provider]
    assert verify(provider, {name: value}, BODY, SECRET) == "invalid"


@pytest.mark.parametrize("provider", HMAC_PROVIDERS)
def test_empty_secret_verifies_nothing(provider: Provider) -> None:
    # an HMAC keyed with nothing is one anybody can compute
    assert verify(provider, _signed(provider, secret=""), BODY, "") == "invalid"


def test_github_ignores_the_legacy_sha1_header() -> None:
    sha1 = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    assert verify("github", {"x-hub-signature": f"sha1={sha1}"}, BODY, SECRET) == "missing"
    # and the SHA-256 header decides alone, whatever the SHA-1 one says
    headers = {**_signed("github"), "x-hub-signature": "sha1=" + "0" * 40}
    assert verify("github", headers, BODY, SECRET) == "valid"


def test_bitbucket_sha256_round_trip() -> None:
    # No upstream known-answer vector exists for Bitbucket Cloud (go-scm authenticates it with
    # a Drone-specific ?secret= parameter): this only checks we read the header we would sign.
    signature = "sha256=" + hmac.new(b"bb-secret", BODY, hashlib.sha256).hexdigest()
    assert verify("bitbucket", {"x-hub-signature": signature}, BODY, "bb-secret") == "valid"
    # GitHub's SHA-256 header name is not Bitbucket's
    assert verify("bitbucket", {"x-hub-signature-256": signature}, BODY, "bb-secret") == "missing"


def test_gitea_accepts_each_of_its_signature_headers() -> None:
    bare = hmac_sha256_hex(SECRET, BODY)
    for headers in (
        {"x-gitea-signature": bare},
        {"x-forgejo-signature": bare},
        {"x-hub-signature-256": "sha256=" + bare},
        {
            "x-gitea-signature": bare,
            "x-forgejo-signature": bare,
            "x-hub-signature-256": "sha256=" + bare,
        },
    ):
        assert verify("gitea", headers, BODY, SECRET) == "valid", headers


def test_gitea_refuses_a_forged_header_beside_a_genuine_one() -> None:
    headers = {"x-gitea-signature": hmac_sha256_hex(SECRET, BODY), "x-forgejo-signature": "0" * 64}
    assert verify("gitea", headers, BODY, SECRET) == "invalid"


# --- GitLab token -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "secret", "want"),
    [
        ({"x-gitlab-token": "topsecret"}, "topsecret", "valid"),
        ({"x-gitlab-token": "topsecret "}, "topsecret", "invalid"),
        ({"x-gitlab-token": "topsecre"}, "topsecret", "invalid"),
        ({"x-gitlab-token": "TOPSECRET"}, "topsecret", "invalid"),
        ({"x-gitlab-token": "clé-secrète"}, "clé-secrète", "valid"),
        ({"x-gitlab-token": "\ud800"}, "topsecret", "invalid"),
        ({"x-gitlab-token": ""}, "", "invalid"),  # no secret configured accepts nothing
        ({}, "topsecret", "missing"),
        ({"x-gitlab-token-x": "topsecret"}, "topsecret", "missing"),
    ],
)
def test_gitlab_token(headers: dict[str, str], secret: str, want: str) -> None:
    assert verify("gitlab", headers, BODY, secret) == want


# --- property ----------------------------------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "x-hub-signature-256",
        "x-hub-signature",
        "x-gitea-signature",
        "x-forgejo-signature",
        "x-gitlab-token",
    ]
)
_VALUES = st.one_of(
    st.text(),
    st.builds(lambda h: "sha256=" + h, st.text("0123456789abcdefABCDEF", min_size=60, max_size=68)),
)


@settings(max_examples=500, deadline=None)
@given(
    provider=st.sampled_from(PROVIDERS),
    headers=st.dictionaries(st.one_of(_NAMES, st.text(max_size=10)), _VALUES, max_size=5),
    body=st.binary(max_size=200),
    secret=st.text(max_size=20),
)
def test_verify_always_answers_one_of_three_verdicts(
    provider: Provider, headers: dict[str, str], body: bytes, secret: str
) -> None:
    assert verify(provider, headers, body, secret) in ("valid", "invalid", "missing")
