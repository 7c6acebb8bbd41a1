"""The OpenAPI document says what the server does: a few checks by hand of what Schemathesis
tries at length against the running service (tests/e2e/test_schemathesis.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
def schema(client) -> dict[str, Any]:
    return client.get("/schema/openapi.json").json()


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for item in value.values():
            yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def test_every_reference_in_the_document_resolves(schema):
    named = {f"#/components/schemas/{name}" for name in schema["components"]["schemas"]}
    assert set(refs(schema)) <= named


def test_every_refusal_a_route_can_give_is_a_problem_it_documents(schema):
    operations = [
        (f"{method.upper()} {path}", op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
    ]
    for name, op in operations:
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}
        if "security" in op:
            assert {"401", "403"} <= op["responses"].keys(), name
        if "requestBody" in op:
            assert {"400", "413", "415"} <= op["responses"].keys(), name
    no_content = schema["paths"]["/api/v1/apps/{name}"]["delete"]["responses"]["204"]
    assert "content" not in no_content


def test_a_body_that_refuses_unknown_fields_says_so(schema):
    for name in ("CreateApp", "AppSettingsPatch", "MintRequest", "BuildSettingsInput"):
        assert schema["components"]["schemas"][name]["additionalProperties"] is False
    domains = schema["components"]["schemas"]["CreateApp"]["properties"]["domains"]
    assert "pattern" in domains["items"]  # a constraint inside a list is kept


def test_query_bounds_are_the_ones_checked(schema, client, auth):
    parameters = schema["paths"]["/api/v1/apps/{name}/deployments"]["get"]["parameters"]
    offset = next(p for p in parameters if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**63 - 1  # exactly: not rounded through a float
    client.post("/api/v1/apps", json={"name": "web"}, headers=auth)

    edge = client.get("/api/v1/apps/web/deployments?offset=9223372036854775807", headers=auth)
    assert edge.status_code == 200
    too_far = client.get("/api/v1/apps/web/deployments?offset=9223372036854775808", headers=auth)
    assert too_far.status_code == 400
    twice = client.get("/api/v1/apps/web/deployments?limit=5&limit=600", headers=auth)
    assert twice.status_code == 400
    assert "given 2 times" in twice.json()["detail"]


def test_a_path_value_is_held_to_its_documented_pattern(schema, client, auth):
    parameters = schema["paths"]["/api/v1/apps/{name}"]["get"]["parameters"]
    assert "pattern" in parameters[0]["schema"]

    answer = client.get("/api/v1/apps/Acme", headers=auth)

    assert answer.status_code == 400
    assert answer.json()["errors"][0] | {"message": ""} == {
        "message": "",
        "key": "name",
        "source": "path",
    }


def test_a_body_is_read_as_strictly_as_the_schema_says(client, auth):
    client.post("/api/v1/apps", json={"name": "web"}, headers=auth)

    coerced = client.patch("/api/v1/apps/web", json={"previews": 0}, headers=auth)
    assert coerced.status_code == 400
    assert coerced.json()["errors"][0]["key"] == "previews"
    as_text = client.patch("/api/v1/apps/web", json={"port": "9000"}, headers=auth)
    assert as_text.status_code == 400
    whole = client.patch("/api/v1/apps/web", json={"port": 9000.0}, headers=auth)
    assert whole.status_code == 200, whole.text
    assert whole.json()["port"] == 9000


def test_options_lists_every_method_of_the_path(client):
    assert client.options("/api/v1/apps/web").headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    assert client.options("/api/v1/apps").headers["allow"] == "GET, OPTIONS, POST"


def test_the_docs_page_loads_only_its_own_assets_and_they_are_served(client):
    page = client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert linked
    assert all(url.startswith("/schema/") for url in linked), linked
    assert "//" not in "".join(re.findall(r'url: "([^"]+)"', page.text))
    assert "http" not in page.text.replace("http-equiv", "")  # no other site, by any URL
    kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for url in linked:
        served = client.get(url)
        assert served.status_code == 200, url
        kind = next(k for suffix, k in kinds.items() if url.endswith(suffix))
        assert served.headers["content-type"].split(";")[0] in (kind, "application/javascript")
        assert len(served.content) > 100
    assert "SwaggerUIBundle" in client.get("/schema/assets/swagger-ui-bundle.js").text
    assert client.get("/schema/assets/swagger-editor-bundle.js").status_code == 404  # only these
    assert client.get("/schema/openapi.json").json()["openapi"].startswith("3.1")
