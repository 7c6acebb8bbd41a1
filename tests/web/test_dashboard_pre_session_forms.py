"""The pages before a session show what the server refused beside the field at fault, and keep
what the user typed (never a password)."""

from __future__ import annotations

import re

from tests.web.conftest import PASSWORD
from tests.web.test_dashboard import form_login, form_token


def problem(page: str, field: str) -> str | None:
    found = re.search(rf'id="f-{field}-problem">([^<]*)<', page)
    return found.group(1) if found else None


def test_setup_names_the_field_at_fault_and_keeps_the_address(client, services):
    code = services.setup.code
    form = {"email": "ann@example.com", "password": PASSWORD, "again": PASSWORD}
    form["form_token"] = form_token(client, "/setup")

    wrong = client.post("/setup", data={**form, "code": "guess"})
    assert wrong.status_code == 403
    assert problem(wrong.text, "code") == "That is not the setup code in the log."
    assert 'value="ann@example.com"' in wrong.text
    assert PASSWORD not in wrong.text

    differ = client.post("/setup", data={**form, "code": code, "again": PASSWORD + "!"})
    assert differ.status_code == 422
    assert problem(differ.text, "again") == "The two passwords differ."
    assert 'aria-describedby="f-again-problem"' in differ.text

    short = client.post(
        "/setup", data={**form, "code": code, "password": "short", "again": "short"}
    )
    assert short.status_code == 422
    assert "at least 12 characters" in problem(short.text, "password")

    bad_address = client.post("/setup", data={**form, "code": code, "email": "ann"})
    assert "is not an e-mail address" in problem(bad_address.text, "email")


def test_sign_in_asks_for_the_code_beside_its_field(client, member, services):
    member("ann@example.com", "owner")
    wrong = form_login(client, email="ann@example.com", password="not the password")
    assert wrong.status_code == 401
    assert re.search(r'id="form-problem">[^<]+', wrong.text)  # not said which field: on purpose
    assert 'value="ann@example.com"' in wrong.text

    unknown = form_login(client, token="rvt_nothing")
    assert problem(unknown.text, "token") == "That token is unknown or revoked."
