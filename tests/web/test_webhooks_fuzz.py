"""Thousands of malformed deliveries — random bodies, headers and signatures, and random bodies
correctly signed — through the real endpoint: no answer is a 5xx, nothing deploys, and the
service still answers afterwards."""

from __future__ import annotations

import hashlib
import hmac
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", ""]
PROVIDERS = ["github", "gitlab", "gitea", "bitbucket", "gogs"]
HEADER_NAMES = [
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-Hub-Signature-256",
    "X-Hub-Signature",
    "X-Gitlab-Event",
    "X-Gitlab-Token",
    "X-Gitlab-Event-UUID",
    "X-Gitea-Event",
    "X-Gitea-Signature",
    "X-Gitea-Delivery",
    "X-Event-Key",
    "X-Request-UUID",
]
header_values = st.one_of(
    st.sampled_from(
        ["push", "Push Hook", "repo:push", "pull_request", "ping", "sha256=", "sha256=zz", ""]
    ),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
pushy = st.fixed_dictionaries(  # shaped like a push, with wrong or odd values
    {},
    optional={
        "ref": st.one_of(st.just("refs/heads/main"), st.integers(), st.none(), st.text(max_size=9)),
        "after": st.one_of(st.just("0" * 40), st.text(max_size=41), st.integers()),
        "before": st.text(max_size=41),
        "commits": st.one_of(st.lists(json_values, max_size=3), st.text(max_size=5)),
        "head_commit": json_values,
        "pull_request": json_values,
        "object_kind": st.sampled_from(["push", "merge_request", "tag_push", "x"]),
        "push": json_values,
        "action": st.text(max_size=12),
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    pushy.map(lambda v: json.dumps(v).encode()),
)


def test_random_deliveries_never_break_the_endpoint(client, auth, call, services):
    client.post(
        "/api/v1/apps", json={"name": "web", "git_url": "https://g.example/w.git"}, headers=auth
    )
    secret = client.post("/api/v1/apps/web/webhook", headers=auth).json()["secret"]
    statuses: list[int] = []

    @settings(
        max_examples=1500,
        deadline=None,
        derandomize=True,  # the same thousands of cases on every run
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        provider=st.sampled_from(PROVIDERS),
        app=st.sampled_from(["web", "nope", "WEB", "web%00"]),
        body=bodies,
        headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=6),
        sign=st.booleans(),
        content_type=st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/plain", ""]
        ),
    )
    def deliver(provider, app, body, headers, sign, content_type):
        headers = {**headers, "Content-Type": content_type}
        if sign:  # correctly signed, so the body reaches the parser
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers |= {
                "X-Hub-Signature-256": f"sha256={digest}",
                "X-Gitea-Signature": digest,
                "X-Gitlab-Token": secret,
                "X-Hub-Signature": f"sha256={digest}",
            }
        response = client.post(f"/webhooks/{provider}/{app}", content=body, headers=headers)
        statuses.append(response.status_code)
        assert response.status_code < 500, response.text

    deliver()

    assert len(statuses) >= 1000
    assert max(statuses) < 500
    # every stage was reached: unknown provider or app, media type, signature, parser
    assert {400, 401, 404, 415} <= set(statuses), sorted(set(statuses))
    requested = [e for e in call(services.store.read_all) if e.type == "deployment.requested"]
    assert requested == []
    assert client.get("/api/v1/health").status_code == 200
