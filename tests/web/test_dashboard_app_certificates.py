"""The dashboard's certificates: upload one (pasted or as files), order or renew one from the
ACME CA, refused beside the field at fault; the private key is never shown back."""

from __future__ import annotations

import html

import pytest

from tests.tls import ThrowawayCA
from tests.web.dashboard_pages import csrf_of, events, problem_beside


@pytest.fixture
def csrf(client, auth) -> str:  # type: ignore[no-untyped-def]
    app = {"name": "shop", "domains": ["shop.test", "*.shop.test"]}
    assert client.post("/api/v1/apps", json=app, headers=auth).status_code == 201
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get("/apps/shop/certificates").text)


def test_a_pasted_certificate_is_installed_and_its_key_never_shown(
    client, csrf, call, services
) -> None:
    chain, key = ThrowawayCA().issue("shop.test")
    form = {
        "csrf_token": csrf,
        "domain": "shop.test",
        "certificate": chain.decode(),
        "private_key": key.decode(),
    }
    uploaded = client.post("/apps/shop/certificates/upload", data=form, follow_redirects=False)
    assert uploaded.status_code in (302, 303), uploaded.text
    [installed] = events(call, services, "certificate.installed")
    assert (installed.domain, installed.source) == ("shop.test", "uploaded")
    page = client.get(uploaded.headers["location"]).text
    assert 'id="banner"' in page
    assert "BEGIN PRIVATE KEY" not in page.replace('placeholder="-----BEGIN PRIVATE KEY-----"', "")
    app_page = client.get("/apps/shop").text
    assert 'href="https://shop.test/"' not in app_page  # the domain has no path: no slash
    assert 'href="https://shop.test"' in app_page  # visited over https now


def test_a_certificate_comes_as_files_too(client, csrf, call, services) -> None:
    chain, key = ThrowawayCA().issue("shop.test")
    uploaded = client.post(
        "/apps/shop/certificates/upload",
        data={"csrf_token": csrf, "domain": "shop.test"},
        files={"certificate_file": ("chain.pem", chain), "private_key_file": ("key.pem", key)},
        follow_redirects=False,
    )
    assert uploaded.status_code in (302, 303), uploaded.text
    assert events(call, services, "certificate.installed")


def test_a_certificate_for_another_name_is_refused_beside_it_without_the_key(
    client, csrf, log_types
) -> None:
    before = log_types()
    chain, key = ThrowawayCA().issue("other.test")
    form = {
        "csrf_token": csrf,
        "domain": "shop.test",
        "certificate": chain.decode(),
        "private_key": key.decode(),
    }
    refused = client.post("/apps/shop/certificates/upload", data=form)
    assert refused.status_code == 422
    assert "shop.test" in problem_beside(refused.text, "certificate")
    assert "BEGIN CERTIFICATE" in refused.text  # the chain as pasted
    assert key.decode().splitlines()[1] not in refused.text  # never the key
    missing = client.post("/apps/shop/certificates/upload", data={**form, "private_key": ""})
    assert problem_beside(missing.text, "private_key") == "paste it in PEM, or choose its file"
    assert log_types() == before


def test_ordering_for_a_name_not_the_apps_is_refused_with_the_reason(client, csrf) -> None:
    page = client.get("/apps/shop").text
    assert 'aria-label="Order from ACME for shop.test"' in page
    assert "Order from ACME for *.shop.test" not in page  # wildcards need DNS-01
    refused = client.post(
        "/apps/shop/certificates/acme", data={"csrf_token": csrf, "domain": "elsewhere.test"}
    )
    assert refused.status_code == 422
    assert "not one of shop's domains" in html.unescape(refused.text)


def test_the_certificate_forms_need_the_csrf_token_and_app_management(
    client, csrf, member, session_headers, log_types
) -> None:
    before = log_types()
    assert (
        client.post("/apps/shop/certificates/acme", data={"domain": "shop.test"}).status_code == 403
    )
    member("dev@example.com", "developer")
    headers = session_headers("dev@example.com")
    before = log_types()
    form = {"csrf_token": headers["X-CSRF-Token"], "domain": "shop.test"}
    ordered = client.post("/apps/shop/certificates/acme", data=form)
    api = client.post("/api/v1/apps/shop/certificates/shop.test/acme", headers=headers)
    assert ordered.status_code == api.status_code == 403
    uploaded = client.post(
        "/apps/shop/certificates/upload", data={**form, "certificate": "x", "private_key": "y"}
    )
    assert uploaded.status_code == 403
    assert log_types() == before
