"""The dashboard's account page: sessions (this one marked, another ended, all others ended)
and the second factor set up from a QR code, confirmed (recovery codes shown once) and turned
off with a code, through the user service like the API."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from rivetr.service.commands import second_factor
from tests.web.conftest import PASSWORD
from tests.web.page_parts import problem, text_of


def test_sessions_are_listed_with_this_one_marked_and_others_can_be_ended(
    client, member, session_headers, call, services, log_types
) -> None:
    member("ann@example.com", "developer")
    call(services.users.sign_in, "ann@example.com", PASSWORD)  # a laptop
    call(services.users.sign_in, "ann@example.com", PASSWORD)  # a phone
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    page = client.get("/account")
    assert page.status_code == 200
    assert page.text.count("data-session=") == 3
    assert text_of(page.text, "this-session") == "this one"
    other = page.text.split('<form method="post" action="/account/sessions/')[1].split("/end")[0]

    assert client.post(f"/account/sessions/{other}/end", data={}).status_code == 403
    ended = client.post(
        f"/account/sessions/{other}/end", data={"csrf_token": token}, follow_redirects=False
    )
    assert ended.status_code in (302, 303)
    assert log_types()[-1] == "user.session_ended"
    assert client.get("/account").text.count("data-session=") == 2

    others = client.post(
        "/account/sessions/end-others", data={"csrf_token": token}, follow_redirects=False
    )
    assert others.status_code in (302, 303)
    page = client.get("/account").text  # still signed in: this session was kept
    assert page.count("data-session=") == 1
    assert 'id="this-session"' in page


def test_ending_someone_elses_session_is_refused(client, member, session_headers, call, services):
    member("bo@example.com", "viewer")
    _, theirs = call(services.users.sign_in, "bo@example.com", PASSWORD)
    member("ann@example.com", "developer")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    refused = client.post(f"/account/sessions/{theirs.session_id}/end", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "manage_members" in (text_of(refused.text, "sessions-problem") or "")


def test_the_second_factor_is_set_up_from_a_qr_code_confirmed_and_turned_off(
    client, member, session_headers, log_types
) -> None:
    member("ann@example.com", "developer")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    assert text_of(client.get("/account").text, "second-factor-state") == "off"
    assert client.post("/account/totp", data={}).status_code == 403

    setup = client.post("/account/totp", data={"csrf_token": token})
    assert setup.status_code == 200
    assert log_types()[-1] == "user.totp_enrolled"
    seed = text_of(setup.text, "totp-secret") or ""
    uri = text_of(setup.text, "totp-uri") or ""
    assert uri.startswith("otpauth://totp/Rivetr:ann%40example.com?")
    assert f"secret={seed}" in uri
    svg = setup.text[setup.text.rindex("<svg", 0, setup.text.index('id="totp-qr"')) :]
    svg = svg[: svg.index("</svg>") + len("</svg>")]
    drawn = ET.fromstring(svg)  # well-formed
    assert drawn.get("id") == "totp-qr"
    assert drawn.find("title") is not None
    assert seed not in client.get("/account").text  # the seed is shown at set-up only

    wrong = client.post("/account/totp/confirm", data={"csrf_token": token, "code": "12345"})
    assert wrong.status_code == 422
    assert problem(wrong.text, "code")
    mismatch = client.post("/account/totp/confirm", data={"csrf_token": token, "code": _not(seed)})
    assert mismatch.status_code == 422
    assert problem(mismatch.text, "code") == "that code does not match: check the device's clock"

    code = second_factor.code_at(seed, time.time())
    confirmed = client.post("/account/totp/confirm", data={"csrf_token": token, "code": code})
    assert confirmed.status_code == 200
    assert log_types()[-1] == "user.totp_enabled"
    codes = (text_of(confirmed.text, "recovery-codes-list") or "").split()
    assert len(codes) == 10
    again = client.get("/account").text
    assert codes[0] not in again  # shown that once
    assert text_of(again, "second-factor-state") == "on"

    refused = client.post("/account/totp/disable", data={"csrf_token": token, "code": _not(seed)})
    assert refused.status_code == 422
    assert problem(refused.text, "code") == "turning the second factor off needs a current code"
    off = client.post(
        "/account/totp/disable",
        data={"csrf_token": token, "code": codes[0]},
        follow_redirects=False,
    )
    assert off.status_code in (302, 303)
    assert log_types()[-1] == "user.totp_disabled"
    assert text_of(client.get("/account").text, "second-factor-state") == "off"


def test_a_token_signed_in_to_the_dashboard_is_told_to_sign_in_as_a_person(
    client, auth, log_types
) -> None:
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    page = client.get("/account")
    assert page.status_code == 200
    assert 'id="not-a-person"' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post("/account/totp", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "user.totp_enrolled" not in log_types()


def _not(seed: str) -> str:
    """A six-digit code that the seed's authenticator shows at no step near now."""
    near = {second_factor.code_at(seed, time.time() + 30 * d) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)
