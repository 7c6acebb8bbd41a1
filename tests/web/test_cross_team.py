"""Teams are strangers to each other: the attacks of issue 14 that crossed between teams, each
replayed as it was found (Ann owns acme; Mal owns globex) and each now refused or answered
with nothing of the other team's."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from rivetr.adapters.eventstore.export import read_jsonl_export
from rivetr.adapters.secrets import SecretError
from rivetr.service.commands.secrets import open_app
from tests.web.test_api_deployments import settled

STRIPE = "sk_live_acme_only"
TOKEN = "ghp_acme_only"


@pytest.fixture
def teams(client: Any, member: Any, session_headers: Any) -> dict[str, dict[str, str]]:
    member("ann@example.com", "owner", "acme")
    member("mal@example.com", "owner", "globex")
    return {"ann": session_headers("ann@example.com"), "mal": session_headers("mal@example.com")}


def as_(client: Any, session_headers: Any, who: str) -> dict[str, str]:
    return session_headers(f"{who}@example.com")


def moment() -> str:
    time.sleep(0.02)
    stamp = datetime.now(UTC).isoformat()
    time.sleep(0.02)
    return stamp


@pytest.fixture
def acme_shop(client: Any, teams: Any, session_headers: Any) -> dict[str, Any]:
    """acme's `shop`, with secrets, a domain, a deployment and a webhook delivery; then
    deleted, freeing its name. Returns what acme had."""
    ann = as_(client, session_headers, "ann")
    made = client.post(
        "/api/v1/apps",
        json={
            "name": "shop",
            "git_url": "https://git.example.com/acme/shop.git",
            "domains": ["shop.acme.test"],
            "env": {"STRIPE_KEY": STRIPE},
            "git_token": TOKEN,
        },
        headers=ann,
    )
    assert made.status_code == 201, made.text
    deployment_id = client.post("/api/v1/apps/shop/deployments", headers=ann).json()[
        "deployment_id"
    ]
    settled(client, ann, deployment_id)
    client.post(
        "/webhooks/github/shop", content=b"{}", headers={"Content-Type": "application/json"}
    )
    during = moment()
    exported = client.get("/api/v1/audit/export", params={"app": "shop"}, headers=ann)
    sealed = {
        key: value
        for event in read_jsonl_export(exported.content.splitlines())
        if event.type in ("app.created", "app.git_credentials_changed")
        for key, value in json.loads(event.data).items()
        if key in ("env", "token")
    }
    assert client.delete("/api/v1/apps/shop", headers=ann).status_code == 204
    return {
        "id": made.json()["id"],
        "deployment": deployment_id,
        "during": during,
        "sealed_env": sealed["env"]["STRIPE_KEY"],
        "sealed_token": sealed["token"],
    }


def test_a_ciphertext_seen_in_an_export_is_refused_as_input(
    client: Any, acme_shop: dict[str, Any], session_headers: Any
) -> None:
    mal = as_(client, session_headers, "mal")
    assert acme_shop["sealed_env"].startswith("rvs2:")  # what a viewer saw in the export

    replanted = client.post(
        "/api/v1/apps",
        json={
            "name": "shop",
            "git_url": "https://git.mal.test/shop.git",
            "env": {"STRIPE_KEY": acme_shop["sealed_env"]},
        },
        headers=mal,
    )
    assert replanted.status_code == 422
    assert "sealed value" in replanted.json()["detail"]
    made = client.post(
        "/api/v1/apps",
        json={"name": "shop", "git_url": "https://git.mal.test/shop.git"},
        headers=mal,
    )
    assert made.status_code == 201, made.text
    patched = client.patch(
        "/api/v1/apps/shop",
        json={
            "env": {"STRIPE_KEY": acme_shop["sealed_env"]},
            "git_token": acme_shop["sealed_token"],
        },
        headers=mal,
    )
    assert patched.status_code == 422
    assert "sealed value" in patched.json()["detail"]


def test_a_value_sealed_for_one_app_never_opens_in_another(
    client: Any, call: Any, services: Any, acme_shop: dict[str, Any], session_headers: Any
) -> None:
    mal = as_(client, session_headers, "mal")
    client.post("/api/v1/apps", json={"name": "shop", "git_url": "https://g.test/r"}, headers=mal)
    theirs = call(services.lookup.by_name, "shop")
    assert theirs.app_id != acme_shop["id"]  # a name taken again is a new app

    # even written into the log behind the API's back, acme's ciphertext does not open there
    planted = msgspec.structs.replace(theirs, env={"STRIPE_KEY": acme_shop["sealed_env"]})
    with pytest.raises(SecretError):
        open_app(services.secrets, planted)


def test_a_reused_name_inherits_no_history(
    client: Any, acme_shop: dict[str, Any], session_headers: Any
) -> None:
    mal = as_(client, session_headers, "mal")
    made = client.post(
        "/api/v1/apps",
        json={"name": "shop", "git_url": "https://git.mal.test/shop.git"},
        headers=mal,
    )
    assert made.status_code == 201, made.text

    assert client.get("/api/v1/apps/shop/deployments", headers=mal).json() == []
    assert (
        client.get(f"/api/v1/deployments/{acme_shop['deployment']}", headers=mal).status_code == 404
    )
    logs = client.get(f"/api/v1/deployments/{acme_shop['deployment']}/logs", headers=mal)
    assert logs.status_code == 404
    assert client.get("/api/v1/apps/shop/webhook-deliveries", headers=mal).json() == []
    then = client.get("/api/v1/apps/shop/at", params={"time": acme_shop["during"]}, headers=mal)
    assert then.status_code == 404
    audit = client.get("/api/v1/audit", params={"app": "shop"}, headers=mal).json()
    assert {entry["app_id"] for entry in audit} == {made.json()["id"]}
    assert {entry["team"] for entry in audit} == {"globex"}
    exported = client.get("/api/v1/audit/export", params={"app": "shop"}, headers=mal)
    assert acme_shop["id"] not in exported.text
    assert STRIPE not in exported.text
    page = client.get("/apps/shop", headers=mal).text
    assert acme_shop["deployment"] not in page

    # acme still reads its own app's history, by its deployment and as of that moment
    ann = as_(client, session_headers, "ann")
    assert (
        client.get(f"/api/v1/deployments/{acme_shop['deployment']}", headers=ann).status_code == 200
    )
    then = client.get("/api/v1/apps/shop/at", params={"time": acme_shop["during"]}, headers=ann)
    assert then.status_code == 200
    assert (then.json()["id"], then.json()["team"]) == (acme_shop["id"], "acme")


def test_another_teams_domain_cannot_be_listed_and_its_owner_is_named_only_to_its_team(
    client: Any, teams: Any, session_headers: Any
) -> None:
    ann = as_(client, session_headers, "ann")
    client.post("/api/v1/apps", json={"name": "shop", "domains": ["shop.acme.test"]}, headers=ann)
    mal = as_(client, session_headers, "mal")

    for domains in (["shop.acme.test"], ["*.acme.test"], ["shop.acme.test/api"]):
        taken = client.post("/api/v1/apps", json={"name": "mine", "domains": domains}, headers=mal)
        assert taken.status_code == 409, (domains, taken.text)
        assert "already in use on this instance" in taken.json()["detail"]
        assert "shop" not in taken.json()["detail"].replace("shop.acme.test", "")
    made = client.post("/api/v1/apps", json={"name": "mine"}, headers=mal)
    assert made.status_code == 201
    patched = client.patch("/api/v1/apps/mine", json={"domains": ["shop.acme.test"]}, headers=mal)
    assert patched.status_code == 409
    assert client.get("/api/v1/apps/mine", headers=mal).json()["domains"] == []

    ann = as_(client, session_headers, "ann")
    own = client.post(
        "/api/v1/apps", json={"name": "shop2", "domains": ["shop.acme.test"]}, headers=ann
    )
    assert own.status_code == 409
    assert "used by application 'shop'" in own.json()["detail"]  # acme may see its own app
    beside = client.post(
        "/api/v1/apps", json={"name": "api", "domains": ["shop.acme.test/api"]}, headers=ann
    )
    assert beside.status_code == 201, beside.text  # one team splits its host by path

    # a certificate goes only to the app whose domain it is
    mal = as_(client, session_headers, "mal")
    upload = client.put(
        "/api/v1/apps/mine/certificates/shop.acme.test",
        json={"certificate": "x", "private_key": "y"},
        headers=mal,
    )
    assert upload.status_code == 422


def test_a_freed_domain_may_be_taken_by_another_team(
    client: Any, teams: Any, session_headers: Any
) -> None:
    ann = as_(client, session_headers, "ann")
    client.post(
        "/api/v1/apps", json={"name": "shop", "domains": ["shop.example.test"]}, headers=ann
    )
    client.patch("/api/v1/apps/shop", json={"domains": []}, headers=ann)
    mal = as_(client, session_headers, "mal")

    made = client.post(
        "/api/v1/apps", json={"name": "mine", "domains": ["shop.example.test"]}, headers=mal
    )

    assert made.status_code == 201, made.text
