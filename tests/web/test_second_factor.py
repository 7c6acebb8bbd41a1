"""Two-factor sign-in over HTTP: set up with a code from the authenticator, then asked for at
every sign-in; a code works once, recovery codes once each, wrong codes count towards the
lockout, and turning it off needs a current code (or an instance admin)."""

from __future__ import annotations

import re
import time

import pytest

from rivetr.domain.access import SYSTEM, user_actor
from rivetr.service.commands import second_factor
from tests.web.conftest import PASSWORD


def login(client, code: str | None = None, email: str = "ann@example.com"):
    body = {"email": email, "password": PASSWORD}
    if code is not None:
        body["code"] = code
    return client.post("/api/v1/auth/login", json=body)


@pytest.fixture
def enrolled(client, member, session_headers, call, services) -> tuple[str, list[str]]:
    """Ann, with a second factor on: (its seed, the recovery codes)."""
    member("ann@example.com", "owner")
    csrf = session_headers("ann@example.com")
    setup = client.post("/api/v1/account/totp", headers=csrf)
    assert setup.status_code == 200, setup.text
    seed = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/Rivetr:ann%40example.com?")
    assert seed not in str(call(services.store.read_all))  # sealed at rest

    wrong = client.post("/api/v1/account/totp/confirm", json={"code": "000000"}, headers=csrf)
    assert wrong.status_code == 422
    code = second_factor.code_at(seed, time.time())
    confirmed = client.post("/api/v1/account/totp/confirm", json={"code": code}, headers=csrf)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    client.cookies.clear()
    return seed, codes


def test_the_password_alone_no_longer_signs_in_and_a_code_does_once(
    client, enrolled, call, services
):
    seed, _ = enrolled
    before = [e.type for e in call(services.store.read_all)]

    bare = login(client)
    assert bare.status_code == 401
    assert bare.json()["title"] == "Second factor needed"
    assert [e.type for e in call(services.store.read_all)] == before  # not a failure

    code = second_factor.code_at(seed, time.time() + 30)  # the next step: within the drift
    assert login(client, code).status_code == 200
    replay = login(client, code)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    last = call(services.store.read_all)[-1]
    assert (last.type, msgspec_reason(last)) == ("user.login_failed", "wrong code")


def msgspec_reason(logged) -> str:
    return logged.event.reason


def test_a_recovery_code_signs_in_once(client, enrolled):
    _, codes = enrolled
    assert login(client, codes[3]).status_code == 200
    assert login(client, codes[3]).status_code == 401
    assert login(client, codes[4].upper()).status_code == 200


def test_five_wrong_codes_lock_the_account(client, enrolled):
    answers = [login(client, "123456").status_code for _ in range(5)]
    seed, _ = enrolled
    assert answers[:4] == [401] * 4
    assert answers[4] == 429
    assert login(client, second_factor.code_at(seed, time.time())).status_code == 429


def test_turning_it_off_needs_a_current_code(client, enrolled, session_headers, call, services):
    seed, codes = enrolled
    signed = login(client, codes[0])
    csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}

    refused = client.post("/api/v1/account/totp/disable", json={}, headers=csrf)
    assert refused.status_code == 422
    code = second_factor.code_at(seed, time.time() - 30)
    off = client.post("/api/v1/account/totp/disable", json={"code": code}, headers=csrf)
    assert off.status_code == 204
    client.cookies.clear()
    assert login(client).status_code == 200


def test_an_instance_admin_turns_off_a_lost_factor_and_a_token_cannot_set_one_up(
    client, enrolled, member, session_headers, mint
):
    member("root@example.com", "admin")
    admin = session_headers("root@example.com")
    off = client.post("/api/v1/users/ann@example.com/totp/disable", headers=admin)
    assert off.status_code == 204
    client.cookies.clear()
    assert login(client).status_code == 200

    client.cookies.clear()
    assert client.post("/api/v1/account/totp", headers=mint("admin")).status_code == 403


def test_not_even_its_owners_admin_token_turns_a_second_factor_off(
    client, enrolled, call, services
):
    seed, _ = enrolled
    ann = user_actor("ann@example.com", {"default": "owner"})  # an instance owner
    _, secret = call(services.tokens.create, ann, "ops", "admin")
    token = {"Authorization": f"Bearer {secret}"}
    before = [e.type for e in call(services.store.read_all)]

    for path in ("/api/v1/account/totp/disable", "/api/v1/users/ann@example.com/totp/disable"):
        code = second_factor.code_at(seed, time.time())
        refused = client.post(path, json={"code": code}, headers=token)
        assert refused.status_code == 403, (path, refused.text)
        assert "signed in with a password" in refused.json()["detail"]

    assert [e.type for e in call(services.store.read_all)] == before


def test_the_dashboard_asks_for_the_code_after_the_password(client, enrolled):
    seed, _ = enrolled
    page = client.get("/login").text
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    form = {"email": "ann@example.com", "password": PASSWORD, "form_token": token}

    asked = client.post("/login", data=form, follow_redirects=False)
    assert asked.status_code == 401
    assert "needs a code" in asked.text
    assert 'value="ann@example.com"' in asked.text  # the address is kept for the second go
    code = second_factor.code_at(seed, time.time())
    done = client.post("/login", data={**form, "code": code}, follow_redirects=False)
    assert done.status_code == 302
    assert "signed in as user:ann@example.com" in client.get("/").text


def test_after_a_key_rotation_the_seed_is_sealed_again_and_codes_still_work(
    client, enrolled, call, services
):
    seed, _ = enrolled
    new_key = services.secrets.rotate()

    assert call(services.users.reseal_totp, SYSTEM, "ann@example.com") == 1
    assert call(services.users.reseal_totp, SYSTEM, "ann@example.com") == 0  # once is enough
    [resealed] = [e for e in call(services.store.read_all) if e.type == "user.totp_resealed"]
    assert resealed.event.secret.startswith(f"rvs2:{new_key}:")
    assert login(client, second_factor.code_at(seed, time.time())).status_code == 200


def test_a_code_of_non_ascii_digits_is_a_wrong_code_not_an_error(client, enrolled):
    answer = login(client, "²²²²²²")  # six characters str.isdigit() takes for digits

    assert answer.status_code == 401
    assert answer.json()["detail"] == "wrong or already used code"
    seed, _ = enrolled
    assert login(client, second_factor.code_at(seed, time.time())).status_code == 200
