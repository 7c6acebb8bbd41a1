"""The dashboard's teams: creating one, members and roles, invitations (their link shown once),
handing a team over and deleting it, each through the team service like the API, with the
server's refusals beside their fields and the CSRF token required."""

from __future__ import annotations

import re

from tests.web.page_parts import csrf, input_value, problem, text_of, value


def signed_in(client, member, session_headers, role="owner", team="default"):  # type: ignore[no-untyped-def]
    """ann@example.com, with `role` in `team`, signed in: the CSRF token of her session."""
    member("ann@example.com", role, team)
    return session_headers("ann@example.com")["X-CSRF-Token"]


def test_creating_a_team_records_it_and_lists_it_with_ones_role(
    client, member, session_headers, log_types
) -> None:
    token = signed_in(client, member, session_headers, role="developer")
    page = client.get("/teams")
    assert page.status_code == 200
    assert 'id="create-team"' in page.text
    made = client.post(
        "/teams", data={"csrf_token": token, "team": "shop", "name": "Shop"}, follow_redirects=False
    )
    assert made.status_code in (302, 303)
    assert made.headers["location"] == "/teams/shop"
    assert "team.created" in log_types()
    listed = client.get("/teams").text
    assert 'data-team="shop"' in listed
    assert text_of(listed, "teams") is not None
    assert "owner" in text_of(listed, "teams")


def test_a_refused_team_shows_the_problem_beside_its_field_with_what_was_typed(
    client, member, session_headers
) -> None:
    token = signed_in(client, member, session_headers)
    bad = client.post("/teams", data={"csrf_token": token, "team": "Not A Slug", "name": "Shop"})
    assert bad.status_code == 422
    assert "regex" in (problem(bad.text, "team") or "")
    assert value(bad.text, "team") == "Not A Slug"
    assert value(bad.text, "name") == "Shop"

    taken = client.post("/teams", data={"csrf_token": token, "team": "default", "name": "Again"})
    assert taken.status_code == 409
    assert problem(taken.text, "team") == "a team 'default' already exists"
    assert value(taken.text, "name") == "Again"


def test_a_form_without_the_pages_csrf_token_is_refused(
    client, member, session_headers, log_types
) -> None:
    signed_in(client, member, session_headers)
    refused = client.post("/teams", data={"team": "shop", "name": "Shop"})
    assert refused.status_code == 403
    refused = client.post("/teams/default/invitations", data={"email": "bo@example.com"})
    assert refused.status_code == 403
    assert "team.created" not in log_types()[-1:]
    assert "team.invitation_created" not in log_types()


def test_an_invitation_link_is_shown_once_and_can_be_revoked(
    client, member, session_headers, log_types
) -> None:
    token = signed_in(client, member, session_headers)
    invited = client.post(
        "/teams/default/invitations",
        data={"csrf_token": token, "email": "bo@example.com", "role": "viewer"},
    )
    assert invited.status_code == 201
    assert "team.invitation_created" in log_types()
    link = input_value(invited.text, "invitation-link-value") or ""
    shown = text_of(invited.text, "invitation-link")
    assert shown is not None
    assert "this once" in shown
    assert "/invite/rvi_" in link
    secret = link.split("/invite/")[1]
    again = client.get("/teams/default").text
    assert secret not in again  # shown that once: only its hash is kept
    assert "bo@example.com" in text_of(again, "invitations")
    invitation_id = again.split('data-invitation="')[1].split('"')[0]

    revoked = client.post(
        f"/teams/default/invitations/{invitation_id}/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code in (302, 303)
    assert log_types()[-1] == "team.invitation_revoked"
    assert 'id="no-invitations"' in client.get("/teams/default").text


def test_a_refused_invitation_keeps_the_address_and_says_why_beside_it(
    client, member, session_headers
) -> None:
    signed_in(client, member, session_headers)
    member("cy@example.com", "viewer")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    bad = client.post(
        "/teams/default/invitations",
        data={"csrf_token": token, "email": "not an address", "role": "viewer"},
    )
    assert bad.status_code == 422
    assert problem(bad.text, "email")
    assert value(bad.text, "email") == "not an address"

    member_already = client.post(
        "/teams/default/invitations",
        data={"csrf_token": token, "email": "cy@example.com", "role": "admin"},
    )
    assert member_already.status_code == 409
    assert (
        problem(member_already.text, "email") == "cy@example.com is already a member of 'default'"
    )
    assert value(member_already.text, "email") == "cy@example.com"
    assert 'value="admin" selected' in member_already.text


def test_a_developer_sees_no_member_buttons_and_is_refused_like_the_api(
    client, member, session_headers, log_types
) -> None:
    member("ann@example.com", "owner")
    headers = session_headers("ann@example.com")
    dev = member("dev@example.com", "developer")
    headers = session_headers(dev)
    page = client.get("/teams/default").text
    assert 'id="invite"' not in page
    assert 'id="delete-team"' not in page
    assert "/remove" not in page

    api = client.post(
        "/api/v1/teams/default/invitations", json={"email": "x@example.com"}, headers=headers
    )
    assert api.status_code == 403
    refused = client.post(
        "/teams/default/invitations",
        data={"csrf_token": headers["X-CSRF-Token"], "email": "x@example.com", "role": "viewer"},
    )
    assert refused.status_code == 403
    assert text_of(refused.text, "invite-problem") == api.json()["detail"]
    assert "team.invitation_created" not in log_types()
    removed = client.post(
        "/teams/default/members/ann@example.com/remove",
        data={"csrf_token": headers["X-CSRF-Token"]},
    )
    assert removed.status_code == 403
    assert text_of(removed.text, "members-problem")


def test_an_admin_changes_a_role_and_removes_a_member(
    client, member, session_headers, log_types
) -> None:
    token = signed_in(client, member, session_headers, role="admin")
    member("cy@example.com", "viewer")
    page = client.get("/teams/default").text
    action = re.search(r'action="(/teams/default/members/[^"]*cy[^"]*/role)"', page).group(1)
    changed = client.post(
        action,  # as the page's form has it (the address escaped in the path)
        data={"csrf_token": token, "role": "developer"},
        follow_redirects=False,
    )
    assert changed.status_code in (302, 303)
    assert log_types()[-1] == "team.member_role_changed"
    removed = client.post(
        "/teams/default/members/cy@example.com/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code in (302, 303)
    assert log_types()[-1] == "team.member_removed"
    assert 'data-member="cy@example.com"' not in client.get("/teams/default").text
    # an admin does not own the team: no hand-over or delete form
    assert 'id="transfer"' not in client.get("/teams/default").text


def test_the_owner_hands_the_team_over_and_deletes_one_by_typing_its_name(
    client, member, session_headers, log_types
) -> None:
    signed_in(client, member, session_headers, team="shop")
    member("bo@example.com", "viewer", "shop")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    page = client.get("/teams/shop").text
    assert 'id="delete-team"' in page
    assert 'id="transfer"' in page

    wrong = client.post("/teams/shop/delete", data={"csrf_token": token, "confirm": "shp"})
    assert wrong.status_code == 422
    assert problem(wrong.text, "confirm") == "type the team's name, shop, to delete it"
    assert value(wrong.text, "confirm") == "shp"
    assert "team.deleted" not in log_types()

    handed = client.post(
        "/teams/shop/transfer",
        data={"csrf_token": token, "to_user": "bo@example.com"},
        follow_redirects=False,
    )
    assert handed.status_code in (302, 303)
    assert log_types()[-1] == "team.ownership_transferred"
    # no longer the owner: the server refuses what the page no longer offers
    refused = client.post("/teams/shop/delete", data={"csrf_token": token, "confirm": "shop"})
    assert refused.status_code == 403
    assert "own_team" in (text_of(refused.text, "delete-problem") or "")

    session_headers("bo@example.com")
    token = csrf(client.get("/teams/shop").text)
    deleted = client.post(
        "/teams/shop/delete", data={"csrf_token": token, "confirm": "shop"}, follow_redirects=False
    )
    assert deleted.status_code in (302, 303)
    assert deleted.headers["location"] == "/teams"
    assert log_types()[-1] == "team.deleted"
    assert client.get("/teams/shop").status_code == 404
