"""/api/v1/teams/{team}/stack-allowances: read by the team's members and the instance's
administrators (absent to anyone else), set by an instance admin alone; a refusal is a problem
naming why, and an inline compose file refused at save names each line and key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

URL = "/api/v1/teams/acme/stack-allowances"
PRIVILEGED = "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n"


def test_an_instance_admin_sets_them_and_the_teams_members_read_them(
    client: TestClient[Any],
    member: Callable[..., str],
    session_headers: Callable[[str], dict[str, str]],
) -> None:
    member("owner@acme.test", "owner", "acme")
    member("dev@acme.test", "developer", "acme")
    member("root@instance.test", "admin", "default")
    member("eve@other.test", "owner", "other")

    headers = session_headers("owner@acme.test")
    refused = client.put(URL, json={"privileged": True}, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "only an instance admin" in refused.json()["detail"]

    headers = session_headers("root@instance.test")
    asked = {"privileged": True, "cap_add": ["NET_ADMIN"], "bind_prefixes": ["/srv/media"]}
    done = client.put(URL, json=asked, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["allowances"]["cap_add"] == ["NET_ADMIN"]
    assert done.json()["set_by"] == "user:root@instance.test"
    assert client.get(URL).status_code == 200

    session_headers("dev@acme.test")
    shown = client.get(URL)
    assert shown.status_code == 200
    assert shown.json()["allowances"]["privileged"] is True

    headers = session_headers("eve@other.test")
    assert client.get(URL).status_code == 404
    assert client.put(URL, json={}, headers=headers).status_code == 403


def test_a_value_no_one_may_allow_is_a_problem_naming_it(
    client: TestClient[Any], auth: dict[str, str], member: Callable[..., str]
) -> None:
    member("owner@acme.test", "owner", "acme")
    for body, said in [
        ({"cap_add": ["cap_sys_admin"]}, "write 'cap_sys_admin' as 'SYS_ADMIN'"),
        ({"bind_prefixes": ["/run/user"]}, "no stack may ever reach /run/user"),
        ({"bind_prefixes": ["/etc"]}, "the host's configuration"),
    ]:
        refused = client.put(URL, json=body, headers=auth)
        assert refused.status_code == 422, refused.text
        assert said in refused.json()["detail"]
    unknown = client.put(URL, json={"host_namespaces": ["mount"]}, headers=auth)
    assert unknown.status_code == 400
    assert client.put(URL, json={"privilegd": True}, headers=auth).status_code == 400
    missing = client.put("/api/v1/teams/nope/stack-allowances", json={}, headers=auth)
    assert missing.status_code == 404


def test_an_inline_file_refused_at_save_names_its_line_and_key(
    client: TestClient[Any], auth: dict[str, str], member: Callable[..., str]
) -> None:
    member("owner@acme.test", "owner", "acme")
    stack = {"name": "tools", "team": "acme", "compose": PRIVILEGED}
    refused = client.post("/api/v1/stacks", json=stack, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("compose.yaml:4: services.web.privileged: ")

    assert client.put(URL, json={"privileged": True}, headers=auth).status_code == 200
    assert client.post("/api/v1/stacks", json=stack, headers=auth).status_code == 201
