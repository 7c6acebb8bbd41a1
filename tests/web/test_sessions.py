"""Sessions: a user sees and ends their own; an instance admin sees and revokes anyone's, and a
revoked session stops working at once."""

from __future__ import annotations


def test_an_instance_admin_revokes_a_session_and_it_stops_working(
    client, member, session_headers, call, services
):
    member("root@example.com", "owner")
    member("bob@example.com", "developer")
    bob = session_headers("bob@example.com")
    bob_cookie = client.cookies.get("rivetr_session")
    mine = client.get("/api/v1/sessions").json()
    assert [s["user_id"] for s in mine] == ["bob@example.com"]  # only his own
    bob_session = mine[0]["session_id"]

    admin = session_headers("root@example.com")
    listed = client.get("/api/v1/sessions").json()
    assert {s["user_id"] for s in listed} == {"bob@example.com", "root@example.com"}
    assert client.delete(f"/api/v1/sessions/{bob_session}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/sessions/{bob_session}", headers=admin).status_code == 404

    client.cookies.clear()
    client.cookies.set("rivetr_session", bob_cookie)
    assert client.get("/api/v1/apps", headers=bob).status_code == 401
    ended = call(services.store.read_stream, "user-bob@example.com")[-1]
    assert (ended.type, ended.actor, ended.event.reason) == (
        "user.session_ended",
        "user:root@example.com",
        "revoked",
    )


def test_a_user_may_end_their_own_session_but_not_anothers(client, member, session_headers):
    member("bob@example.com", "admin", "acme")
    member("cat@example.com", "owner", "acme")
    session_headers("cat@example.com")
    cats = client.get("/api/v1/sessions").json()[0]["session_id"]
    bob = session_headers("bob@example.com")
    own = client.get("/api/v1/sessions").json()[0]["session_id"]

    assert client.delete(f"/api/v1/sessions/{cats}", headers=bob).status_code == 403
    assert client.delete(f"/api/v1/sessions/{own}", headers=bob).status_code == 204
